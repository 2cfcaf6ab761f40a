//! STORE and UID STORE: a user's own flags. Flags are private to each
//! user, so they never change the archive; the rights still decide which
//! flags a user may change (RFC 4314: `s` for \Seen, `t` for \Deleted, `w`
//! for the others), and changes without the right are ignored.

use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncWrite;

use super::Session;
use super::fetch::flag_list;
use super::response::send;
use crate::archive::flags;

pub struct StoreRequest<'a> {
    pub set: &'a SequenceSet,
    pub kind: StoreType,
    pub silent: bool,
    pub flags: &'a [Flag<'a>],
    pub uid: bool,
}

impl<'a> StoreRequest<'a> {
    pub fn new(
        set: &'a SequenceSet,
        kind: StoreType,
        response: StoreResponse,
        flags: &'a [Flag<'a>],
        uid: bool,
    ) -> Self {
        StoreRequest {
            set,
            kind,
            silent: response == StoreResponse::Silent,
            flags,
            uid,
        }
    }
}

pub async fn store<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    request: StoreRequest<'_>,
) -> std::io::Result<()> {
    let verb = if request.uid { "UID STORE" } else { "STORE" };
    let mut bits = 0;
    for flag in request.flags {
        bits |= match flag {
            Flag::Seen => flags::SEEN,
            Flag::Answered => flags::ANSWERED,
            Flag::Flagged => flags::FLAGGED,
            Flag::Deleted => flags::DELETED,
            Flag::Draft => flags::DRAFT,
            _ => {
                return send(
                    stream,
                    &format!("{tag} NO [CANNOT] Keywords are not supported yet\r\n"),
                )
                .await;
            }
        };
    }
    let Some(selected) = session.selected() else {
        return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await;
    };
    if selected.read_only {
        return send(
            stream,
            &format!("{tag} NO [READ-ONLY] The mailbox is open read-only\r\n"),
        )
        .await;
    }
    // The flags this user may change here.
    let rights = selected.rights;
    let mut allowed = 0;
    for (right, mask) in [
        ('s', flags::SEEN),
        ('t', flags::DELETED),
        ('w', flags::ANSWERED | flags::FLAGGED | flags::DRAFT),
    ] {
        if rights.contains(right) {
            allowed |= mask;
        }
    }
    let positions = match selected.positions(request.set, request.uid) {
        Ok(positions) => positions,
        Err(reason) => return send(stream, &format!("{tag} BAD {reason}\r\n")).await,
    };
    let archives = session.shared.archives.clone();
    let user = session.user().expect("authenticated").clone();
    let mut out = String::new();
    let selected = session.selected_mut().expect("checked above");
    for position in positions {
        let message = &mut selected.messages[position];
        let wanted = match request.kind {
            StoreType::Add => message.flags | bits,
            StoreType::Remove => message.flags & !bits,
            StoreType::Replace => bits,
        };
        let new = (message.flags & !allowed) | (wanted & allowed);
        if new != message.flags {
            message.flags = new;
            if let Some(folder) = &selected.folder
                && let Err(e) = archives.set_flags(&user, folder, message.uid, new)
            {
                return session.storage_error(stream, tag, e).await;
            }
        }
        if !request.silent {
            let uid = if request.uid {
                format!("UID {} ", message.uid)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "* {} FETCH ({uid}FLAGS {})\r\n",
                position + 1,
                flag_list(message.flags)
            ));
        }
    }
    out.push_str(&format!("{tag} OK {verb} completed\r\n"));
    send(stream, &out).await
}
