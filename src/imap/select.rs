//! Opening and closing a mailbox: SELECT, EXAMINE, CLOSE, UNSELECT, CHECK.

use std::num::NonZeroU32;

use imap_codec::imap_types::mailbox::Mailbox;
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::mailboxes::mailbox_name;
use super::response::send;
use super::{Selected, Session};
use crate::archive::flags;

pub async fn select<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    mailbox: &Mailbox<'_>,
    examine: bool,
) -> std::io::Result<()> {
    // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
    session.set_selected(None);
    let verb = if examine { "EXAMINE" } else { "SELECT" };
    let view = match session.view() {
        Ok(view) => view,
        Err(e) => return session.storage_error(stream, tag, e).await,
    };
    // Invisible archives answer exactly like names that do not exist.
    let Some(target) = mailbox_name(mailbox)
        .and_then(|n| view.resolve(&n))
        .filter(|m| m.selectable && m.rights.may_read())
    else {
        return send(
            stream,
            &format!("{tag} NO [NONEXISTENT] No such mailbox\r\n"),
        )
        .await;
    };
    let messages = match &target.folder {
        Some(folder) => {
            let user = session.user().expect("authenticated").clone();
            match session.shared.archives.mailbox_messages(&user, folder) {
                Ok(messages) => messages,
                Err(e) => return session.storage_error(stream, tag, e).await,
            }
        }
        None => Vec::new(),
    };
    let read_only = examine || target.rights.read_only();
    let (uidvalidity, uidnext) = target
        .folder
        .as_ref()
        .map_or((1, 1), |f| (f.uidvalidity, f.uidnext));
    // The flags in use: the system flags and this user's keywords here.
    let mut keywords: Vec<&str> = Vec::new();
    for keyword in messages.iter().flat_map(|m| &m.keywords) {
        if !keywords.iter().any(|k| k.eq_ignore_ascii_case(keyword)) {
            keywords.push(keyword);
        }
    }
    let mut out = format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft{}{})\r\n",
        if keywords.is_empty() { "" } else { " " },
        keywords.join(" ")
    );
    out.push_str(if read_only {
        "* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n"
    } else {
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags are kept per user\r\n"
    });
    out.push_str(&format!("* {} EXISTS\r\n* 0 RECENT\r\n", messages.len()));
    if let Some(first) = messages.iter().position(|m| m.flags & flags::SEEN == 0) {
        out.push_str(&format!("* OK [UNSEEN {}] First unseen\r\n", first + 1));
    }
    out.push_str(&format!("* OK [UIDVALIDITY {uidvalidity}] UIDs valid\r\n* OK [UIDNEXT {uidnext}] Predicted next UID\r\n"));
    let mode = if read_only { "READ-ONLY" } else { "READ-WRITE" };
    out.push_str(&format!("{tag} OK [{mode}] {verb} completed\r\n"));
    session.set_selected(Some(Selected {
        folder: target.folder.clone(),
        read_only,
        rights: target.rights,
        messages,
    }));
    send(stream, &out).await
}

/// CLOSE and UNSELECT: archimap expunges nothing on CLOSE (deleting needs
/// the `delete` privilege, which the EXPUNGE path will check).
pub async fn close<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    verb: &str,
) -> std::io::Result<()> {
    if session.selected().is_none() {
        return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await;
    }
    session.set_selected(None);
    send(stream, &format!("{tag} OK {verb} completed\r\n")).await
}

impl Selected {
    /// The positions (sequence number - 1) a sequence set or UID set names,
    /// in order; an error text for a sequence number out of range.
    pub fn positions(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, &'static str> {
        if uid {
            let largest = self.messages.last().map_or(1, |m| m.uid);
            let wanted: std::collections::BTreeSet<u32> = set
                .iter(NonZeroU32::new(largest).expect("UIDs start at 1"))
                .map(NonZeroU32::get)
                .collect();
            return Ok(self
                .messages
                .iter()
                .enumerate()
                .filter(|(_, m)| wanted.contains(&m.uid))
                .map(|(i, _)| i)
                .collect());
        }
        let Some(count) = NonZeroU32::new(self.messages.len() as u32) else {
            return Err("No messages in this mailbox");
        };
        let positions: Vec<usize> = set.iter(count).map(|n| n.get() as usize - 1).collect();
        if positions.iter().any(|&p| p >= count.get() as usize) {
            return Err("Message sequence number out of range");
        }
        Ok(positions)
    }
}
