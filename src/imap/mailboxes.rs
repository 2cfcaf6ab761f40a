//! Commands on the mailbox list: NAMESPACE, LIST (RFC 3501 and RFC 5258
//! forms, with LIST-STATUS), LSUB, STATUS, SUBSCRIBE and UNSUBSCRIBE.

use std::collections::HashSet;

use super::extensions::{ListCommand, Token};
use super::reply::{Code, Failure, Handled, Reply};
use super::response::quoted;
use super::{Session, mutf7};
use crate::archive::{INBOX, MailboxCounts, View, ViewMailbox};
use crate::error::{Error, Result};
use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::status::StatusDataItemName;

/// How mailbox names travel: in modified UTF-7 (RFC 3501 5.1.3), or in
/// UTF-8 once the client has enabled UTF8=ACCEPT (RFC 9755 3), when `&` is
/// just a character.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Names {
    #[default]
    Utf7,
    Utf8,
}

impl Names {
    /// The name a client sent, or `None` if it is not valid modified
    /// UTF-7 (which then matches nothing).
    pub fn decode(self, sent: &str) -> Option<String> {
        match self {
            Names::Utf7 => mutf7::decode(sent),
            Names::Utf8 => Some(sent.to_string()),
        }
    }

    /// The UTF-8 name of a mailbox argument (see `decode`).
    pub fn mailbox(self, mailbox: &Mailbox) -> Option<String> {
        match mailbox {
            Mailbox::Inbox => Some("INBOX".to_string()),
            Mailbox::Other(other) => self.decode(std::str::from_utf8(other.as_ref()).ok()?),
        }
    }

    /// The UTF-8 name of a mailbox CREATE or RENAME is to make: Net-Unicode
    /// (RFC 5198 2, as RFC 6855 3 and RFC 9051 5.1 ask), so in NFC and
    /// without line or paragraph separators. The rule holds for modified
    /// UTF-7 too: two names that differ only in how an accent is composed
    /// would look the same in every client.
    pub fn new_name(self, mailbox: &Mailbox) -> std::result::Result<String, Failure> {
        use unicode_normalization::is_nfc;
        let name = self.mailbox(mailbox).ok_or_else(Reply::malformed_name)?;
        if !is_nfc(&name) || name.contains(['\u{2028}', '\u{2029}']) {
            return Err(Reply::no(
                Code::Cannot,
                "Mailbox names are Unicode in NFC without line separators (RFC 5198)",
            )
            .into());
        }
        Ok(name)
    }

    /// A mailbox name as sent, quoted (names hold no CR, LF or NUL).
    pub fn wire(self, name: &str) -> String {
        match self {
            Names::Utf7 => quoted(&mutf7::encode(name)),
            Names::Utf8 => quoted(name),
        }
    }
}

pub fn namespace(session: &Session) -> Reply {
    let prefix = session
        .names()
        .wire(&format!("{}/", session.shared.other_users));
    let data = format!("* NAMESPACE ((\"\" \"/\")) (({prefix} \"/\")) NIL\r\n");
    Reply::completed("NAMESPACE").after(data)
}

/// Does `name` match the LIST pattern (`*` anything, `%` anything but `/`)?
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // can[j]: the pattern so far can end right before name[j].
    let mut can = vec![false; n.len() + 1];
    can[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        for j in 0..=n.len() {
            if !can[j] {
                continue;
            }
            match pc {
                '*' | '%' => {
                    next[j] = true;
                    let mut k = j;
                    while k < n.len() && (pc == '*' || n[k] != '/') {
                        k += 1;
                        next[k] = true;
                    }
                }
                c if j < n.len() && n[j] == c => next[j + 1] = true,
                _ => {}
            }
        }
        can = next;
    }
    can[n.len()]
}

/// INBOX is case-insensitive (RFC 3501 5.1): match it by its upper-case name.
fn pattern_matches(pattern: &str, mailbox: &ViewMailbox) -> bool {
    if matches(pattern, &mailbox.name) {
        return true;
    }
    let inbox_like = mailbox.name == "INBOX" || mailbox.name.starts_with("INBOX/");
    match (pattern.get(..5), pattern.get(5..)) {
        (Some(head), Some(tail)) if inbox_like && head.eq_ignore_ascii_case("INBOX") => {
            matches(&format!("INBOX{tail}"), &mailbox.name)
        }
        _ => false,
    }
}

/// The names the session's user subscribed to, as this view names them.
/// The virtual INBOX (no folder behind it) is always among them: there is
/// no folder whose subscription could be recorded.
pub(super) fn subscribed_names(session: &Session, view: &View) -> Result<HashSet<String>> {
    let user = session.user().expect("authenticated");
    let mut names: HashSet<String> = session
        .shared
        .archives
        .subscriptions(user)?
        .into_iter()
        .filter_map(|(archive, path)| view.name_of(&archive, &path))
        .collect();
    if view.inbox().folder.is_none() {
        names.insert(INBOX.to_string());
    }
    Ok(names)
}

/// LSUB's rule for `%` (RFC 3501 6.3.9): an unsubscribed parent of a
/// subscribed name the patterns do not reach is listed, `\Noselect`, in
/// the name's place. Returns those parents, each once, in order.
fn unsubscribed_parents(patterns: &[String], subscribed: &HashSet<String>) -> Vec<String> {
    let mut names: Vec<&String> = subscribed.iter().collect();
    names.sort();
    let mut parents: Vec<String> = Vec::new();
    for name in names {
        if patterns.iter().any(|p| matches(p, name)) {
            continue;
        }
        let mut end = 0;
        while let Some(at) = name[end..].find('/') {
            end += at;
            let parent = &name[..end];
            if !subscribed.contains(parent)
                && patterns.iter().any(|p| matches(p, parent))
                && !parents.iter().any(|p| p == parent)
            {
                parents.push(parent.to_string());
            }
            end += 1;
        }
    }
    parents
}

/// Whether LIST shows the other users' namespace root (`Other Users`),
/// which is a prefix, not a mailbox: MYRIGHTS, GETACL and SELECT answer for
/// it as for a missing name. RFC 5258 (4, `\NonExistent`) lists a name
/// that does not exist only where the selection reaches it (here:
/// RECURSIVEMATCH's CHILDINFO); RFC 3501 (6.3.8) also wants it as a level of
/// hierarchy that a trailing `%` reaches (`LIST "" "%"`). A `*` reaches the
/// archives below it by themselves, so `LIST "" "*"` leaves it out:
/// Thunderbird, which lists so when it shows every folder, took the listed
/// root for a folder, asked `MYRIGHTS "Other Users/Other Users"` and put up
/// the `NO` as an alert (tests/thunderbird.rs).
fn root_listed(patterns: &[String], root: &ViewMailbox, child_info: bool) -> bool {
    child_info
        || patterns
            .iter()
            .any(|p| p.ends_with('%') && matches(p, &root.name))
}

pub fn list(session: &mut Session, command: ListCommand, lsub: bool) -> Handled {
    let verb = if lsub { "LSUB" } else { "LIST" };
    if let Err(reason) = command.check() {
        return Ok(Reply::bad(reason).with_code(Code::ClientBug));
    }
    if command.patterns == [""] && command.selection.is_empty() && command.returns.is_empty() {
        // The hierarchy delimiter and root (RFC 3501 6.3.8).
        let data = format!("* {verb} (\\Noselect) \"/\" \"\"\r\n");
        return Ok(Reply::completed(verb).after(data));
    }
    let words = |tokens: &[Token]| -> Vec<String> {
        tokens
            .iter()
            .filter_map(|t| t.word().map(str::to_string))
            .collect()
    };
    let returns = words(&command.returns);
    let status_items: Option<Vec<String>> = command
        .returns
        .iter()
        .position(|t| t.word() == Some("STATUS"))
        .map(|i| match command.returns.get(i + 1) {
            Some(Token::List(items)) => words(items)
                .into_iter()
                .map(|w| w.to_ascii_uppercase())
                .collect(),
            _ => Vec::new(),
        });
    let only_subscribed = lsub || command.selection.iter().any(|o| o == "SUBSCRIBED");
    let show_subscribed = only_subscribed || returns.iter().any(|r| r == "SUBSCRIBED");
    let only_special = command.selection.iter().any(|o| o == "SPECIAL-USE");

    let names = session.names();
    let Some(reference) = names.decode(&command.reference) else {
        return Ok(Reply::completed(verb));
    };
    let patterns: Vec<String> = command
        .patterns
        .iter()
        .filter_map(|p| names.decode(p))
        .map(|p| format!("{reference}{p}"))
        .collect();
    let view = session.view()?;
    let subscribed = subscribed_names(session, &view)?;
    // RECURSIVEMATCH (RFC 5258 3.5): a matching mailbox is also listed,
    // with CHILDINFO, for a subscribed descendant the patterns do not match.
    let parents_of_subscribed: HashSet<&str> = if only_subscribed && command.recursive() && !lsub {
        subscribed
            .iter()
            .filter(|name| !patterns.iter().any(|p| matches(p, name)))
            .flat_map(|name| name.match_indices('/').map(|(i, _)| &name[..i]))
            .collect()
    } else {
        HashSet::new()
    };
    let extended = !command.selection.is_empty() || !command.returns.is_empty();
    let mut out = String::new();
    for mailbox in view.mailboxes() {
        if !patterns.iter().any(|p| pattern_matches(p, mailbox)) {
            continue;
        }
        let is_subscribed = subscribed.contains(&mailbox.name);
        let child_info = parents_of_subscribed.contains(mailbox.name.as_str());
        if (only_subscribed && !is_subscribed && !child_info)
            || (only_special && mailbox.special_use.is_none())
            || (mailbox.is_namespace_root() && !root_listed(&patterns, mailbox, child_info))
        {
            continue;
        }
        let mut attributes = list_attributes(mailbox, extended);
        if show_subscribed && is_subscribed {
            attributes.push("\\Subscribed");
        }
        out.push_str(&format!(
            "* {verb} ({}) \"/\" {}{}\r\n",
            attributes.join(" "),
            names.wire(&mailbox.name),
            if child_info {
                " (\"CHILDINFO\" (\"SUBSCRIBED\"))"
            } else {
                ""
            }
        ));
        if let (Some(items), true) = (&status_items, mailbox.selectable) {
            out.push_str(&status_line(session, mailbox, items)?);
        }
    }
    if only_subscribed && !only_special {
        // Subscribed names without a mailbox (deleted, or never created).
        let mut gone: Vec<&String> = subscribed
            .iter()
            .filter(|name| view.resolve(name).is_none())
            .filter(|name| patterns.iter().any(|p| matches(p, name)))
            .collect();
        gone.sort();
        // LSUB (RFC 3501) has no word for it: no attributes, as Dovecot.
        let attributes = if lsub {
            ""
        } else {
            "\\NonExistent \\Subscribed"
        };
        for name in gone {
            out.push_str(&format!(
                "* {verb} ({attributes}) \"/\" {}\r\n",
                names.wire(name)
            ));
        }
    }
    if lsub {
        for parent in unsubscribed_parents(&patterns, &subscribed) {
            out.push_str(&format!(
                "* LSUB (\\Noselect) \"/\" {}\r\n",
                names.wire(&parent)
            ));
        }
    }
    Ok(Reply::completed(verb).after(out))
}

/// A mailbox's LIST attributes (`extended`: LIST-EXTENDED's, which tell
/// the namespace root as \NonExistent), \Subscribed left to the caller.
pub(super) fn list_attributes(mailbox: &ViewMailbox, extended: bool) -> Vec<&'static str> {
    let mut attributes = Vec::new();
    if mailbox.is_namespace_root() && extended {
        // RFC 5258 4: it does not exist (\NonExistent implies \Noselect).
        attributes.push("\\NonExistent");
    } else if !mailbox.selectable {
        attributes.push("\\Noselect");
    }
    attributes.push(if mailbox.has_children {
        "\\HasChildren"
    } else {
        "\\HasNoChildren"
    });
    if let Some(special) = mailbox.special_use {
        attributes.push(special.attribute());
    }
    attributes
}

/// `* LIST (...) "/" name` of one mailbox (SELECT under IMAP4rev2, NOTIFY),
/// with OLDNAME after a rename (RFC 5465 5.4).
pub(super) fn list_line(session: &Session, mailbox: &ViewMailbox, old: Option<&str>) -> String {
    let names = session.names();
    let old = old.map_or(String::new(), |old| {
        format!(" (\"OLDNAME\" ({}))", names.wire(old))
    });
    format!(
        "* LIST ({}) \"/\" {}{old}\r\n",
        list_attributes(mailbox, true).join(" "),
        names.wire(&mailbox.name)
    )
}

/// `* STATUS name (...)` for the named items (upper-case words).
pub(super) fn status_line<I: AsRef<str>>(
    session: &Session,
    mailbox: &ViewMailbox,
    items: &[I],
) -> Result<String> {
    let user = session.user().expect("authenticated");
    let archives = &session.shared.archives;
    let empty = |uidnext| MailboxCounts {
        uidnext,
        ..MailboxCounts::default()
    };
    let counts = match &mailbox.folder {
        // `None`: deleted since the view was made.
        Some(folder) => archives
            .mailbox_counts(user, folder, items.iter().any(|i| i.as_ref() == "SIZE"))?
            .unwrap_or_else(|| empty(folder.uidnext)),
        None => empty(1),
    };
    let uidvalidity = mailbox.folder.as_ref().map_or(1, |f| f.uidvalidity);
    let highest = match (
        &mailbox.folder,
        items.iter().any(|i| i.as_ref() == "HIGHESTMODSEQ"),
    ) {
        (Some(folder), true) => archives.highest_modseq(folder)?,
        _ => 1,
    };
    let values: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let item = item.as_ref();
            let value = match item {
                "MESSAGES" => counts.messages as u64,
                "RECENT" => counts.recent as u64,
                "UIDNEXT" => u64::from(counts.uidnext),
                "UIDVALIDITY" => u64::from(uidvalidity),
                "UNSEEN" => counts.unseen as u64,
                "DELETED" => counts.deleted as u64,
                "SIZE" => counts.size.unwrap_or(0),
                "HIGHESTMODSEQ" => highest,
                _ => return None,
            };
            Some(format!("{item} {value}"))
        })
        .collect();
    Ok(format!(
        "* STATUS {} ({})\r\n",
        session.names().wire(&mailbox.name),
        values.join(" ")
    ))
}

pub fn status(
    session: &mut Session,
    mailbox: &Mailbox<'_>,
    items: &[StatusDataItemName],
) -> Handled {
    let view = session.view()?;
    let target = session
        .names()
        .mailbox(mailbox)
        .and_then(|n| view.resolve(&n))
        .filter(|m| m.selectable)
        .ok_or_else(Reply::no_mailbox)?;
    let names: Vec<String> = items
        .iter()
        .map(|item| {
            match item {
                StatusDataItemName::Messages => "MESSAGES",
                StatusDataItemName::Recent => "RECENT",
                StatusDataItemName::UidNext => "UIDNEXT",
                StatusDataItemName::UidValidity => "UIDVALIDITY",
                StatusDataItemName::Unseen => "UNSEEN",
                StatusDataItemName::Size => "SIZE",
                StatusDataItemName::Deleted => "DELETED",
                StatusDataItemName::HighestModSeq => "HIGHESTMODSEQ",
                _ => "",
            }
            .to_string()
        })
        .filter(|s| !s.is_empty())
        .collect();
    let line = status_line(session, target, &names)?;
    // STATUS (HIGHESTMODSEQ) turns CONDSTORE on (RFC 7162 3.1).
    let enabled = match names.iter().any(|n| n == "HIGHESTMODSEQ") {
        true => session.condstore_enabling(),
        false => String::new(),
    };
    Ok(Reply::completed("STATUS").after(enabled + &line))
}

pub fn subscribe(session: &mut Session, mailbox: &Mailbox<'_>, subscribe: bool) -> Handled {
    let verb = if subscribe {
        "SUBSCRIBE"
    } else {
        "UNSUBSCRIBE"
    };
    let view = session.view()?;
    let user = session.user().expect("authenticated").clone();
    let archives = session.shared.archives.clone();
    let name = session.names().mailbox(mailbox);
    let existing = name.as_deref().and_then(|n| view.resolve(n));
    // A subscription is a name: the folder it names, as (archive, path).
    let place = match existing {
        Some(m) => m
            .folder
            .as_ref()
            .map(|f| (m.archive.clone(), f.path.clone())),
        None => name.as_deref().and_then(|n| view.place(n)),
    };
    match (subscribe, existing, place) {
        // The virtual INBOX is always subscribed: nothing to record.
        (_, Some(m), None) if m.name == INBOX => Ok(()),
        (true, Some(_), None) => Err(Error::Refused(format!(
            "{} is a namespace, not a mailbox; it cannot be subscribed",
            name.unwrap_or_default()
        ))),
        // A server may refuse names that do not exist (RFC 3501 6.3.6):
        // here they answer alike whether hidden from this user or absent.
        (true, None, _) => Err(Error::NotFound("mailbox".into())),
        (subscribed, _, Some((archive, path))) => {
            archives.set_subscribed(&user, &archive, &path, subscribed)
        }
        // Unsubscribing a name that is not subscribed changes nothing.
        (false, _, None) => Ok(()),
    }?;
    Ok(Reply::completed(verb))
}

#[cfg(test)]
mod tests {
    use super::{Mailbox, Names, matches};

    #[test]
    fn new_names_are_net_unicode() {
        let new = |sent: &str| Names::Utf7.new_name(&Mailbox::try_from(sent).unwrap());
        assert_eq!(new("&AOQ-rger").ok().as_deref(), Some("ärger"));
        // a + COMBINING DIAERESIS (NFD), LINE SEPARATOR.
        assert!(new("a&Awg-rger").is_err());
        assert!(new("x&ICg-y").is_err());
        assert!(new("&-").is_ok());
    }

    #[test]
    fn wildcards() {
        assert!(matches("*", "Projects/Acme"));
        assert!(!matches("%", "Projects/Acme"));
        assert!(matches("%", "Projects"));
        assert!(matches("Projects/%", "Projects/Acme"));
        assert!(matches("P*e", "Projects/Acme"));
        assert!(!matches("Sent", "Sent Items"));
        assert!(matches("Other Users/%/%", "Other Users/bob/Inbox"));
        assert!(!matches("Other Users/%", "Other Users/bob/Inbox"));
        assert!(matches(&"*".repeat(50), "x"));
    }
}
