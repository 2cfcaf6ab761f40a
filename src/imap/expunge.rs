//! EXPUNGE, UID EXPUNGE (UIDPLUS) and the silent expunge of CLOSE: the
//! messages this user marked \Deleted leave the folder, if the user may
//! delete there (the `delete` privilege, no legal hold, no write-protected
//! store).

use std::collections::HashSet;

use imap_codec::imap_types::sequence::SequenceSet;

use super::Session;
use super::reply::{Handled, Reply};
use crate::archive::flags;
use crate::error::Result;

pub fn expunge(session: &mut Session, only: Option<&SequenceSet>) -> Handled {
    let verb = if only.is_some() {
        "UID EXPUNGE"
    } else {
        "EXPUNGE"
    };
    let selected = session.writable()?;
    let allowed = match only {
        Some(set) => Some(
            selected
                .positions(set, true)
                .map_err(Reply::bad)?
                .iter()
                .map(|&p| selected.view.uid(p))
                .collect(),
        ),
        None => None,
    };
    let removed = remove_deleted(session, allowed.as_ref())?;
    Ok(Reply::completed(verb).after(session.forget(&removed)))
}

/// CLOSE: expunges silently where the user may delete, then closes.
pub fn close(session: &mut Session) -> Handled {
    let selected = session.selected_or_bad()?;
    if !selected.read_only
        && selected.rights.contains('e')
        && let Err(e) = remove_deleted(session, None)
    {
        tracing::warn!(peer = %session.peer, error = %e, "CLOSE left \\Deleted messages in place");
    }
    session.set_selected(None);
    Ok(Reply::completed("CLOSE"))
}

/// Expunges the selected mailbox's messages flagged \Deleted (only those
/// in `allowed`, if given); returns the UIDs removed.
fn remove_deleted(session: &Session, allowed: Option<&HashSet<u32>>) -> Result<HashSet<u32>> {
    let selected = session.selected().expect("checked by the caller");
    let Some(folder) = &selected.folder else {
        return Ok(HashSet::new());
    };
    // By the flags as they are now: \Deleted set in another session of the
    // user counts too, as in Dovecot.
    let uids: Vec<u32> = selected
        .view
        .uids_with(flags::DELETED)
        .into_iter()
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
