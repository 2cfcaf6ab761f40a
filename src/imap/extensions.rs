//! Commands imap-codec does not parse, handled beside it: LIST in its
//! RFC 5258 (LIST-EXTENDED) forms, which iOS Mail sends as
//! `LIST "" "*" RETURN (SPECIAL-USE)`, and ACL (RFC 4314: MYRIGHTS,
//! GETACL, LISTRIGHTS, and SETACL and DELETEACL, which are refused). Only
//! lines without literals are taken here.

/// One argument: an atom or string, or a parenthesised list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Word(String),
    List(Vec<Token>),
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match self {
            Token::Word(w) => Some(w),
            Token::List(_) => None,
        }
    }
}

/// A parsed LIST command, in every form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCommand {
    /// Selection options, upper-case (SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE).
    pub selection: Vec<String>,
    pub reference: String,
    pub patterns: Vec<String>,
    /// Return options, upper-case, with STATUS's items as its list.
    pub returns: Vec<Token>,
}

/// The selection and return options archimap knows (RFC 5258, RFC 5819
/// LIST-STATUS, RFC 6154 SPECIAL-USE), and STATUS's items.
const SELECTION_OPTIONS: [&str; 4] = ["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"];
const RETURN_OPTIONS: [&str; 4] = ["SUBSCRIBED", "CHILDREN", "STATUS", "SPECIAL-USE"];
const STATUS_ITEMS: [&str; 8] = [
    "MESSAGES",
    "RECENT",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "DELETED",
    "SIZE",
    "HIGHESTMODSEQ",
];

impl ListCommand {
    /// RFC 5258 3: unknown options, and RECURSIVEMATCH without a selection
    /// option it could apply to, are errors (`BAD`); the text says which.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self
            .selection
            .iter()
            .all(|o| SELECTION_OPTIONS.contains(&o.as_str()))
        {
            return Err("Unknown LIST selection option");
        }
        let recursive = self.selection.iter().any(|o| o == "RECURSIVEMATCH");
        if recursive
            && self
                .selection
                .iter()
                .all(|o| o == "RECURSIVEMATCH" || o == "REMOTE")
        {
            return Err("RECURSIVEMATCH needs another selection option besides REMOTE");
        }
        let mut returns = self.returns.iter().peekable();
        while let Some(option) = returns.next() {
            match option.word() {
                Some("STATUS") => {
                    let Some(Token::List(items)) = returns.next() else {
                        return Err("RETURN STATUS needs a list of status items");
                    };
                    let known = |t: &Token| {
                        t.word().is_some_and(|w| {
                            STATUS_ITEMS.contains(&w.to_ascii_uppercase().as_str())
                        })
                    };
                    if !items.iter().all(known) {
                        return Err("Unknown STATUS item in RETURN");
                    }
                }
                Some(word) if RETURN_OPTIONS.contains(&word) => {}
                _ => return Err("Unknown LIST return option"),
            }
        }
        Ok(())
    }

    /// Whether parents of matching mailboxes are reported (RECURSIVEMATCH).
    pub fn recursive(&self) -> bool {
        self.selection.iter().any(|o| o == "RECURSIVEMATCH")
    }
}

/// The commands of RFC 4314.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCommand {
    MyRights {
        mailbox: String,
    },
    GetAcl {
        mailbox: String,
    },
    ListRights {
        mailbox: String,
        identifier: String,
    },
    /// SETACL and DELETEACL: rights come from archive privileges, so these
    /// are parsed only to be refused.
    Change {
        verb: &'static str,
        mailbox: String,
    },
}

/// Parses `verb args` of an ACL command (`verb` case-insensitive).
pub fn parse_acl(verb: &str, args: &str) -> Option<AclCommand> {
    let tokens = tokenize(args)?;
    let words: Vec<&str> = tokens.iter().map(Token::word).collect::<Option<_>>()?;
    match (verb.to_ascii_uppercase().as_str(), words.as_slice()) {
        ("MYRIGHTS", [mailbox]) => Some(AclCommand::MyRights {
            mailbox: mailbox.to_string(),
        }),
        ("GETACL", [mailbox]) => Some(AclCommand::GetAcl {
            mailbox: mailbox.to_string(),
        }),
        ("LISTRIGHTS", [mailbox, identifier]) => Some(AclCommand::ListRights {
            mailbox: mailbox.to_string(),
            identifier: identifier.to_string(),
        }),
        ("SETACL", [mailbox, _identifier, _rights]) => Some(AclCommand::Change {
            verb: "SETACL",
            mailbox: mailbox.to_string(),
        }),
        ("DELETEACL", [mailbox, _identifier]) => Some(AclCommand::Change {
            verb: "DELETEACL",
            mailbox: mailbox.to_string(),
        }),
        _ => None,
    }
}

/// Parses CANCELUPDATE's arguments: one or more tags, as strings.
pub fn parse_cancel_update(args: &str) -> Option<Vec<String>> {
    let tokens = tokenize(args)?;
    let tags: Vec<String> = tokens
        .iter()
        .map(|t| t.word().map(str::to_string))
        .collect::<Option<_>>()?;
    (!tags.is_empty()).then_some(tags)
}

/// Parses `LIST ...` arguments (everything after the command name).
pub fn parse_list(args: &str) -> Option<ListCommand> {
    let tokens = tokenize(args)?;
    let mut it = tokens.into_iter().peekable();
    let mut command = ListCommand::default();
    if let Some(Token::List(options)) = it.peek().cloned() {
        it.next();
        command.selection = options
            .iter()
            .map(|t| t.word().map(str::to_ascii_uppercase))
            .collect::<Option<_>>()?;
    }
    command.reference = it.next()?.word()?.to_string();
    command.patterns = match it.next()? {
        Token::Word(pattern) => vec![pattern],
        Token::List(patterns) => patterns
            .iter()
            .map(|t| t.word().map(str::to_string))
            .collect::<Option<_>>()?,
    };
    match it.next() {
        None => {}
        Some(Token::Word(word)) if word.eq_ignore_ascii_case("RETURN") => {
            let Token::List(returns) = it.next()? else {
                return None;
            };
            command.returns = returns
                .into_iter()
                .map(|t| match t {
                    Token::Word(w) => Token::Word(w.to_ascii_uppercase()),
                    list => list,
                })
                .collect();
        }
        Some(_) => return None,
    }
    if it.next().is_some() || command.patterns.is_empty() {
        return None;
    }
    Some(command)
}

/// Splits arguments into atoms, quoted strings and parenthesised lists.
pub fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut stack: Vec<Vec<Token>> = vec![Vec::new()];
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' => {
                chars.next();
                stack.push(Vec::new());
            }
            ')' => {
                chars.next();
                let list = stack.pop()?;
                stack.last_mut()?.push(Token::List(list));
            }
            '"' => {
                chars.next();
                let mut word = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next().filter(|c| *c == '"' || *c == '\\')?),
                        c => word.push(c),
                    }
                }
                stack.last_mut()?.push(Token::Word(word));
            }
            '{' | '\r' | '\n' => return None,
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '(' | ')' | '"' | '{') || c.is_control() {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                if word.is_empty() {
                    return None;
                }
                stack.last_mut()?.push(Token::Word(word));
            }
        }
    }
    if stack.len() != 1 {
        return None;
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_list_form() {
        let plain = parse_list("\"\" *").unwrap();
        assert_eq!(
            (plain.reference.as_str(), plain.patterns),
            ("", vec!["*".to_string()])
        );
        let ios = parse_list("\"\" \"*\" RETURN (SPECIAL-USE)").unwrap();
        assert_eq!(ios.returns, vec![Token::Word("SPECIAL-USE".into())]);
        let ext = parse_list("(subscribed RECURSIVEMATCH) \"\" (\"INBOX\" \"Sent%\") return (children STATUS (MESSAGES UNSEEN))")
            .unwrap();
        assert_eq!(ext.selection, vec!["SUBSCRIBED", "RECURSIVEMATCH"]);
        assert_eq!(ext.patterns, vec!["INBOX", "Sent%"]);
        assert_eq!(ext.returns[1], Token::Word("STATUS".into()));
        assert_eq!(
            ext.returns[2],
            Token::List(vec![
                Token::Word("MESSAGES".into()),
                Token::Word("UNSEEN".into())
            ])
        );
        let quoted = parse_list("\"\" \"a \\\"b\\\\\"").unwrap();
        assert_eq!(quoted.patterns, vec!["a \"b\\"]);
    }

    #[test]
    fn parses_acl_commands() {
        assert_eq!(
            parse_acl("myrights", "INBOX"),
            Some(AclCommand::MyRights {
                mailbox: "INBOX".into()
            })
        );
        assert_eq!(
            parse_acl("LISTRIGHTS", "\"Sent Items\" bob"),
            Some(AclCommand::ListRights {
                mailbox: "Sent Items".into(),
                identifier: "bob".into()
            })
        );
        assert_eq!(parse_acl("GETACL", ""), None);
        assert_eq!(
            parse_acl("setacl", "INBOX bob +lr"),
            Some(AclCommand::Change {
                verb: "SETACL",
                mailbox: "INBOX".into()
            })
        );
        assert_eq!(parse_acl("SETACL", "INBOX bob"), None);
        assert_eq!(parse_acl("DELETEACL", "INBOX bob extra"), None);
    }

    #[test]
    fn checks_list_options() {
        let check = |args: &str| parse_list(args).unwrap().check();
        for good in [
            "\"\" *",
            "() \"\" * RETURN ()",
            "(SUBSCRIBED RECURSIVEMATCH) \"\" %",
            "(REMOTE SPECIAL-USE RECURSIVEMATCH) \"\" %",
            "\"\" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES size))",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "(RECURSIVEMATCH) \"\" *",
            "(RECURSIVEMATCH REMOTE) \"\" *",
            "(FOO) \"\" *",
            "(SUBSCRIBED FOO) \"\" *",
            "\"\" * RETURN (FOO)",
            "\"\" * RETURN (CHILDREN FOO)",
            "\"\" * RETURN (STATUS (FOO))",
            "\"\" * RETURN (STATUS)",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_malformed_lists() {
        for bad in [
            "",
            "\"\"",
            "(x \"\" *",
            "\"\" * RETURN",
            "\"\" * RETURN x",
            "\"\" * extra",
            "\"\" {3}",
            "\"\" \"open",
        ] {
            assert_eq!(parse_list(bad), None, "{bad:?}");
        }
    }
}
