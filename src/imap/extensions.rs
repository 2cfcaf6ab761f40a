//! Commands imap-codec does not parse, handled beside it: LIST in its
//! RFC 5258 (LIST-EXTENDED) forms, which iOS Mail sends as
//! `LIST "" "*" RETURN (SPECIAL-USE)`, and the read side of ACL (RFC 4314:
//! MYRIGHTS, GETACL, LISTRIGHTS). Only lines without literals are taken
//! here.

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

/// The read side of RFC 4314.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclCommand {
    MyRights { mailbox: String },
    GetAcl { mailbox: String },
    ListRights { mailbox: String, identifier: String },
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
        _ => None,
    }
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
fn tokenize(text: &str) -> Option<Vec<Token>> {
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
        assert_eq!(parse_acl("SETACL", "INBOX bob lr"), None);
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
