//! Access is checked against the current privileges: before each command
//! (and while idling) a session compares the catalog's access generation
//! with the one it last saw, and only when it moved reads its user and
//! view again. A user deleted, without `login`, or with a new password or
//! way of signing in is logged out; a selected mailbox whose archive they
//! may no longer read ends the session too (`* BYE [NOPERM]`: IMAP has no
//! other way to take a mailbox away from a client, and every client
//! reconnects after a BYE, then seeing its new view). Rights that merely
//! shrank apply to the selected mailbox at once.

use super::reply::{Code, Reply};
use super::{Authenticated, Session, State};
use crate::archive::{GlobalPrivileges, UserRecord};

impl Session {
    /// Brings the session's user and selected mailbox up to date if a user
    /// or privilege changed since it last looked. Returns the `BYE` when
    /// the session must end.
    pub(super) fn recheck_access(&mut self) -> Option<Reply> {
        let archives = self.shared.archives.clone();
        let other_users = self.shared.other_users.clone();
        let peer = self.peer;
        let State::Authenticated(auth) = &mut self.state else {
            return None;
        };
        let bye = match refresh(&archives, &other_users, auth) {
            Ok(None) => return None,
            Ok(Some(why)) => why,
            Err(error) => {
                // Access that cannot be checked is not granted.
                tracing::error!(%peer, %error, "checking the session's access failed");
                Reply::bye(
                    Some(Code::Unavailable),
                    "Your access could not be checked; the error is logged",
                )
            }
        };
        tracing::info!(%peer, user = %auth.user.name, bye = %bye.text, "session ended: access changed");
        Some(bye)
    }
}

/// Reads the user and their rights on the selected mailbox again if the
/// access generation moved; `Some(bye)` when the session must end.
fn refresh(
    archives: &crate::archive::Archives,
    other_users: &str,
    auth: &mut Authenticated,
) -> crate::error::Result<Option<Reply>> {
    let generation = archives.access_generation()?;
    if generation == auth.generation {
        return Ok(None);
    }
    let Some(user) = archives.user_by_id(auth.user.id)? else {
        return Ok(Some(Reply::bye(
            Some(Code::NoPerm),
            "Your user was deleted",
        )));
    };
    if let Some(bye) = sign_in_withdrawn(&auth.user, &user) {
        return Ok(Some(bye));
    }
    if let Some(selected) = &mut auth.selected
        && let Some(folder) = &selected.folder
    {
        let view = archives.view(&user, other_users)?;
        let rights = view
            .mailboxes()
            .iter()
            .find(|m| m.folder.as_ref().is_some_and(|f| f.id == folder.id))
            .map(|m| m.rights)
            .filter(|rights| rights.may_read());
        let Some(rights) = rights else {
            return Ok(Some(Reply::bye(
                Some(Code::NoPerm),
                format!("You may no longer read archive {}", selected.archive),
            )));
        };
        selected.rights = rights;
        selected.read_only = selected.examined || rights.read_only();
    }
    auth.user = user;
    auth.generation = generation;
    Ok(None)
}

/// Why `now` may no longer use a session `then` signed in to, if so.
fn sign_in_withdrawn(then: &UserRecord, now: &UserRecord) -> Option<Reply> {
    if !GlobalPrivileges::from_bits(now.privileges).has(GlobalPrivileges::LOGIN) {
        let text = "Your login privilege was withdrawn";
        return Some(Reply::bye(Some(Code::NoPerm), text));
    }
    if now.password_hash != then.password_hash || now.authentication != then.authentication {
        let text = "Your password was changed; log in again";
        return Some(Reply::bye(Some(Code::Expired), text));
    }
    None
}
