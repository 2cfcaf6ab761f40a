//! NOTIFY's arguments (RFC 5465 8) and the rules sections 5 and 6 set on
//! them: MessageNew and MessageExpunge only together, FlagChange only with
//! both, one of SELECTED and SELECTED-DELAYED, MailboxName not for the
//! selected mailbox. Breaking a rule is BAD; an event archimap does not
//! tell (annotations, metadata, subscriptions, or one it does not know)
//! is `NO [BADEVENT]` (RFC 5465 3.1).

use crate::imap::extensions::{Token, tokenize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyCommand {
    None,
    Set {
        /// `STATUS`: the watched mailboxes' status at once.
        status: bool,
        groups: Vec<Group>,
    },
    /// An event archimap does not tell was asked for.
    Unsupported,
}

/// The events asked for on some mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub filter: Filter,
    pub events: Events,
}

/// Which mailboxes a group is about (RFC 5465 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// SELECTED, or SELECTED-DELAYED (expunges wait for a command that
    /// may tell them, as without NOTIFY).
    Selected {
        delayed: bool,
    },
    Inboxes,
    Personal,
    Subscribed,
    /// The mailboxes named and those below them.
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

/// What is told. `NONE` is none of them (and keeps the mailboxes out of
/// the groups after it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// MessageNew and MessageExpunge.
    pub messages: bool,
    pub flags: bool,
    pub names: bool,
    /// MessageNew's attributes of a new message in the selected mailbox.
    pub fetch: Vec<String>,
}

impl Events {
    pub fn any(&self) -> bool {
        self.messages || self.flags || self.names
    }
}

/// Event groups one NOTIFY SET may have, and mailboxes it may name: every
/// look goes through them for each mailbox (clients use a handful).
const MAX_GROUPS: usize = 64;
const MAX_NAMES: usize = 1000;

/// The events archimap tells, as BADEVENT lists them.
pub const SUPPORTED: &str = "MessageNew MessageExpunge FlagChange MailboxName";

/// The attributes MessageNew may ask for: none that reads a body (which
/// would set \Seen, RFC 5465 5.2) or needs more than a word.
const FETCH_ATTRIBUTES: [&str; 9] = [
    "UID",
    "FLAGS",
    "INTERNALDATE",
    "RFC822.SIZE",
    "RFC822.HEADER",
    "ENVELOPE",
    "BODY",
    "BODYSTRUCTURE",
    "MODSEQ",
];

/// Parses what follows `NOTIFY`.
pub fn parse(args: &str) -> Result<NotifyCommand, &'static str> {
    let tokens = tokenize(args).ok_or("NOTIFY syntax error")?;
    let mut tokens = tokens.into_iter().peekable();
    let verb = tokens
        .next()
        .and_then(|t| t.word().map(str::to_ascii_uppercase));
    match verb.as_deref() {
        Some("NONE") if tokens.peek().is_none() => return Ok(NotifyCommand::None),
        Some("SET") => {}
        _ => return Err("NOTIFY takes SET or NONE"),
    }
    let status = tokens
        .next_if(|t| t.word().is_some_and(|w| w.eq_ignore_ascii_case("STATUS")))
        .is_some();
    let mut groups = Vec::new();
    let mut unsupported = false;
    for token in tokens {
        let Token::List(items) = token else {
            return Err("An event group is a parenthesised list");
        };
        let (group, unknown) = group(items)?;
        unsupported |= unknown;
        groups.push(group);
    }
    if groups.is_empty() {
        return Err("NOTIFY SET needs an event group");
    }
    let names: usize = groups
        .iter()
        .map(|g| match &g.filter {
            Filter::Subtree(names) | Filter::Mailboxes(names) => names.len(),
            _ => 0,
        })
        .sum();
    if groups.len() > MAX_GROUPS || names > MAX_NAMES {
        return Err("NOTIFY SET takes at most 64 event groups naming 1000 mailboxes");
    }
    let selected = groups
        .iter()
        .filter(|g| matches!(g.filter, Filter::Selected { .. }))
        .count();
    if selected > 1 {
        return Err("One of SELECTED and SELECTED-DELAYED, once");
    }
    Ok(match unsupported {
        true => NotifyCommand::Unsupported,
        false => NotifyCommand::Set { status, groups },
    })
}

/// One event group; and whether it asks for an event archimap does not
/// tell.
fn group(items: Vec<Token>) -> Result<(Group, bool), &'static str> {
    let mut items = items.into_iter();
    let filter = items
        .next()
        .and_then(|t| t.word().map(str::to_ascii_uppercase))
        .ok_or("An event group starts with its filter")?;
    let filter = match filter.as_str() {
        "SELECTED" => Filter::Selected { delayed: false },
        "SELECTED-DELAYED" => Filter::Selected { delayed: true },
        "INBOXES" => Filter::Inboxes,
        "PERSONAL" => Filter::Personal,
        "SUBSCRIBED" => Filter::Subscribed,
        "SUBTREE" => Filter::Subtree(mailboxes(items.next())?),
        "MAILBOXES" => Filter::Mailboxes(mailboxes(items.next())?),
        _ => return Err("Unknown NOTIFY filter"),
    };
    let (events, unknown) = match items.next() {
        Some(Token::Word(none)) if none.eq_ignore_ascii_case("NONE") => (Events::default(), false),
        Some(Token::List(list)) if !list.is_empty() => events(list)?,
        _ => return Err("An event group ends with its events, or NONE"),
    };
    if items.next().is_some() {
        return Err("An event group is a filter and its events");
    }
    let selected = matches!(filter, Filter::Selected { .. });
    if events.names && selected {
        return Err("MailboxName is not an event of the selected mailbox");
    }
    if !events.fetch.is_empty() && !selected {
        return Err("MessageNew's attributes are for the selected mailbox");
    }
    Ok((Group { filter, events }, unknown))
}

/// One mailbox name or a parenthesised list of them.
fn mailboxes(token: Option<Token>) -> Result<Vec<String>, &'static str> {
    let names = match token {
        Some(Token::Word(name)) => vec![name],
        Some(Token::List(list)) => list
            .into_iter()
            .map(|t| match t {
                Token::Word(name) => Some(name),
                Token::List(_) => None,
            })
            .collect::<Option<_>>()
            .ok_or("SUBTREE and MAILBOXES name mailboxes")?,
        None => Vec::new(),
    };
    if names.is_empty() {
        return Err("SUBTREE and MAILBOXES name mailboxes");
    }
    Ok(names)
}

/// A group's events; and whether one archimap does not tell is among them.
fn events(list: Vec<Token>) -> Result<(Events, bool), &'static str> {
    let mut events = Events::default();
    let (mut new, mut expunge, mut unknown) = (false, false, false);
    let mut list = list.into_iter().peekable();
    while let Some(token) = list.next() {
        let Token::Word(event) = token else {
            return Err("Events are words");
        };
        match event.to_ascii_lowercase().as_str() {
            "messagenew" => {
                new = true;
                if let Some(Token::List(attributes)) = list.next_if(|t| matches!(t, Token::List(_)))
                {
                    events.fetch = attributes
                        .iter()
                        .map(|a| a.word().map(str::to_ascii_uppercase))
                        .collect::<Option<_>>()
                        .filter(|a: &Vec<String>| {
                            a.iter().all(|a| FETCH_ATTRIBUTES.contains(&a.as_str()))
                        })
                        .ok_or("MessageNew takes UID FLAGS INTERNALDATE RFC822.SIZE RFC822.HEADER ENVELOPE BODY BODYSTRUCTURE MODSEQ")?;
                }
            }
            "messageexpunge" => expunge = true,
            "flagchange" => events.flags = true,
            "mailboxname" => events.names = true,
            _ => unknown = true,
        }
    }
    if new != expunge {
        return Err("MessageNew and MessageExpunge go together (RFC 5465 5)");
    }
    events.messages = new;
    if events.flags && !events.messages {
        return Err("FlagChange needs MessageNew and MessageExpunge (RFC 5465 5)");
    }
    Ok((events, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_groups_and_their_events() {
        let set = parse(
            "SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) \
             (SUBTREE (\"Projects\" Lists) (MessageNew MessageExpunge MailboxName)) (PERSONAL NONE)",
        )
        .unwrap();
        let NotifyCommand::Set { status, groups } = set else {
            panic!("{set:?}");
        };
        assert!(status);
        assert_eq!(groups[0].filter, Filter::Selected { delayed: false });
        assert_eq!(groups[0].events.fetch, ["UID", "FLAGS"]);
        assert!(groups[0].events.flags && !groups[0].events.names);
        assert_eq!(
            groups[1].filter,
            Filter::Subtree(vec!["Projects".into(), "Lists".into()])
        );
        assert!(groups[1].events.names);
        assert!(!groups[2].events.any());
        assert_eq!(parse("none"), Ok(NotifyCommand::None));
    }

    #[test]
    fn the_rfc_rules_are_bad_and_unknown_events_unsupported() {
        for bad in [
            "SET (SELECTED (MessageNew))",
            "SET (PERSONAL (MessageExpunge))",
            "SET (PERSONAL (FlagChange))",
            "SET (SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))",
            "SET (SELECTED (MailboxName))",
            "SET (PERSONAL (MessageNew (UID) MessageExpunge))",
            "SET (SELECTED (MessageNew (BODY[]) MessageExpunge))",
            "SET (SUBTREE (MessageNew MessageExpunge))",
            "SET (BOGUS (MessageNew MessageExpunge))",
            "SET",
            format!(
                "SET {}",
                "(MAILBOXES a (MessageNew MessageExpunge)) ".repeat(65)
            )
            .as_str(),
            format!("SET (MAILBOXES ({}) (MailboxName))", "a ".repeat(1001)).as_str(),
            "BOGUS",
            "NONE extra",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for unsupported in [
            "SET (SELECTED (MessageNew MessageExpunge AnnotationChange))",
            "SET (PERSONAL (MessageNew MessageExpunge Bogus))",
            "SET (PERSONAL (SubscriptionChange))",
        ] {
            assert_eq!(
                parse(unsupported),
                Ok(NotifyCommand::Unsupported),
                "{unsupported}"
            );
        }
    }
}
