//! EXPUNGE, UID EXPUNGE (UIDPLUS) and the silent expunge of CLOSE: the
//! messages this user marked \Deleted leave the folder, if the user may
//! delete there (the `delete` privilege, no legal hold, no write-protected
//! store).

use std::collections::HashSet;

use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::Session;
use super::response::send;
use crate::archive::flags;
use crate::error::Result;

pub async fn expunge<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    only: Option<&SequenceSet>,
) -> std::io::Result<()> {
    let verb = if only.is_some() {
        "UID EXPUNGE"
    } else {
        "EXPUNGE"
    };
    let Some(selected) = session.writable(stream, tag).await? else {
        return Ok(());
    };
    let allowed = match only {
        Some(set) => match selected.positions(set, true) {
            Ok(positions) => Some(
                positions
                    .iter()
                    .map(|&p| selected.messages[p].uid)
                    .collect(),
            ),
            Err(reason) => return send(stream, &format!("{tag} BAD {reason}\r\n")).await,
        },
        None => None,
    };
    match remove_deleted(session, allowed.as_ref()) {
        Ok(removed) => {
            let mut out = session.forget(&removed);
            out.push_str(&format!("{tag} OK {verb} completed\r\n"));
            send(stream, &out).await
        }
        Err(e) => session.refuse(stream, tag, e).await,
    }
}

/// CLOSE: expunges silently where the user may delete, then closes.
pub async fn close<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
) -> std::io::Result<()> {
    let Some(selected) = session.selected() else {
        return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await;
    };
    if !selected.read_only
        && selected.rights.contains('e')
        && let Err(e) = remove_deleted(session, None)
    {
        tracing::warn!(peer = %session.peer, error = %e, "CLOSE left \\Deleted messages in place");
    }
    session.set_selected(None);
    send(stream, &format!("{tag} OK CLOSE completed\r\n")).await
}

/// Expunges the selected mailbox's messages flagged \Deleted (only those
/// in `allowed`, if given); returns the UIDs removed.
fn remove_deleted(session: &Session, allowed: Option<&HashSet<u32>>) -> Result<HashSet<u32>> {
    let selected = session.selected().expect("checked by the caller");
    let Some(folder) = &selected.folder else {
        return Ok(HashSet::new());
    };
    let uids: Vec<u32> = selected
        .messages
        .iter()
        .filter(|m| m.flags & flags::DELETED != 0)
        .map(|m| m.uid)
        .filter(|uid| allowed.is_none_or(|a| a.contains(uid)))
        .collect();
    // Asked even with nothing to expunge: a user who may not delete hears so.
    let user = session.user().expect("authenticated");
    Ok(session
        .shared
        .archives
        .expunge(session.caller(user), folder, &uids)?
        .into_iter()
        .collect())
}
