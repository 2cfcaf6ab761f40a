//! Telling a client what changed in its selected mailbox while it had it
//! open: new messages (`EXISTS`), flags set by the same user elsewhere
//! (`FETCH (FLAGS ...)`) and messages gone (`EXPUNGE`), by RFC 3501's
//! rules: untagged answers inside a command's response, and no EXPUNGE
//! while a command that uses sequence numbers (FETCH, STORE, SEARCH, and
//! COPY and MOVE by number) is answered, since it would renumber the
//! messages that command names. Those expunges wait for the next command
//! that allows them; meanwhile the message keeps its number.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imap_codec::imap_types::command::CommandBody;
use tokio::io::AsyncWrite;

use super::fetch::flag_list;
use super::response::send;
use super::select::{add_new_keywords, flags_announcement, mark_recent};
use super::{Selected, Session};
use crate::archive::MailboxMessage;

/// How often a session asks the catalog whether another process (an
/// import) changed its folder, outside NOOP, CHECK and IDLE.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The most new messages [`only_added`] reads by UID; beyond, the whole
/// folder is read again.
const MAX_ADDED_READ: u32 = 1000;

/// When a session looks for changes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Before a command that names messages by sequence number: no EXPUNGE.
    NumberedCommand,
    /// Before any other command.
    Command,
    /// NOOP, CHECK or IDLE: also ask the catalog.
    Poll,
}

impl Moment {
    /// When `command` looks for changes first; `None` for the commands that
    /// leave the mailbox (SELECT, CLOSE, LOGOUT, ...).
    pub fn before(command: &CommandBody) -> Option<Moment> {
        Some(match command {
            CommandBody::Noop | CommandBody::Check | CommandBody::Idle => Moment::Poll,
            CommandBody::Fetch { uid: false, .. }
            | CommandBody::Store { uid: false, .. }
            | CommandBody::Search { uid: false, .. }
            | CommandBody::Copy { uid: false, .. }
            | CommandBody::Move { uid: false, .. } => Moment::NumberedCommand,
            CommandBody::Select { .. }
            | CommandBody::Examine { .. }
            | CommandBody::Close
            | CommandBody::Unselect
            | CommandBody::Logout => return None,
            _ => Moment::Command,
        })
    }
}

impl Session {
    /// Sends the untagged answers for what changed in the selected mailbox.
    pub(super) async fn report_changes<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        moment: Moment,
    ) -> std::io::Result<()> {
        let archives = self.shared.archives.clone();
        let Some(user) = self.user().cloned() else {
            return Ok(());
        };
        let Some(selected) = self.selected_mut() else {
            return Ok(());
        };
        let Some(folder) = selected.folder.clone() else {
            return Ok(());
        };
        let expunges = moment != Moment::NumberedCommand;
        let version = selected
            .watch
            .as_mut()
            .map_or(0, |w| *w.borrow_and_update());
        let others_changed = version != selected.seen + selected.own_changes;
        selected.seen = version;
        selected.own_changes = 0;
        let poll = moment == Moment::Poll || selected.polled.elapsed() >= POLL_EVERY;
        let expunges_due = expunges && !selected.expunged.is_empty();
        if !(others_changed || poll || expunges_due) {
            return Ok(());
        }
        selected.polled = Instant::now();
        // The catalog is read on the blocking pool, not on the threads
        // that serve every session: when thousands of sessions watching
        // one folder wake at once, the session that made the change (and
        // every other) is still answered at once.
        let Some(mut selected) = self.take_selected() else {
            return Ok(());
        };
        let (mut selected, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = changes(
                &archives,
                &user,
                &mut selected,
                &folder,
                others_changed,
                expunges,
            );
            (selected, outcome)
        })
        .await
        .map_err(std::io::Error::other)?;
        // A keyword new to the client is announced before it is used.
        let outcome = outcome.map(|out| {
            let in_use = selected.messages.iter().flat_map(|m| &m.keywords);
            if add_new_keywords(&mut selected.keywords, in_use) {
                flags_announcement(&selected.keywords, selected.rights, selected.read_only) + &out
            } else {
                out
            }
        });
        self.set_selected(Some(selected));
        match outcome {
            Ok(out) if out.is_empty() => Ok(()),
            Ok(out) => send(stream, &out).await,
            Err(e) => {
                // The client hears of it later; its command still runs.
                tracing::error!(peer = %self.peer, error = %e, "looking for mailbox changes failed");
                Ok(())
            }
        }
    }
}

/// What changed in the selected mailbox since the client last looked, as
/// untagged answers, read from the catalog (blocking); `selected` is
/// brought up to date. `expunges`: EXPUNGE may be told now.
fn changes(
    archives: &crate::archive::Archives,
    user: &crate::archive::UserRecord,
    selected: &mut super::Selected,
    folder: &crate::archive::Folder,
    others_changed: bool,
    expunges: bool,
) -> crate::error::Result<String> {
    match archives.folder(folder.id) {
        Ok(Some(now))
            if now.uidnext == folder.uidnext
                && now.highestmodseq == folder.highestmodseq
                && (!expunges || selected.expunged.is_empty()) =>
        {
            if !others_changed {
                return Ok(String::new());
            }
            // Only flags can have changed.
            match archives.user_flags(user, folder)? {
                Some(stored) => Ok(stored_flag_updates(selected, &stored)),
                // A message came or went meanwhile: look again (the folder
                // no longer matches `folder`, so not by this way).
                None => changes(archives, user, selected, folder, others_changed, expunges),
            }
        }
        // Only messages added (the usual case): those alone are read.
        Ok(Some(now))
            if selected.expunged.is_empty()
                && let Some(out) =
                    only_added(archives, user, selected, folder, &now, others_changed)
                        .transpose() =>
        {
            if out.is_ok() {
                selected.folder = Some(now);
            }
            out
        }
        Ok(now) => {
            let fresh = match &now {
                Some(now) => archives.mailbox_messages(user, now).and_then(|mut fresh| {
                    // The messages new to the client are \Recent for
                    // this session if no other session has seen them.
                    let last = selected.messages.last().map_or(0, |m| m.uid);
                    let new = fresh.partition_point(|m| m.uid <= last);
                    let read_only = selected.read_only;
                    mark_recent(archives, user, now, read_only, &mut fresh[new..])?;
                    Ok(fresh)
                }),
                // Deleted: every message is gone.
                None => Ok(Vec::new()),
            };
            if let Some(now) = now {
                selected.folder = Some(now);
            }
            fresh.map(|fresh| {
                let (out, pending) = merge(Arc::make_mut(&mut selected.messages), fresh, expunges);
                selected.expunged = pending;
                out
            })
        }
        Err(e) => Err(e),
    }
}

impl Session {
    /// After this session added messages to folder `folder_id` (APPEND,
    /// COPY, MOVE): when that is the selected mailbox, the client hears of
    /// them (`EXISTS`) within the command's response, as Dovecot does, not
    /// only at its next command; `moment` is the command's (no other
    /// EXPUNGE within a COPY by sequence numbers).
    pub(super) async fn report_added<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        folder_id: i64,
        moment: Moment,
    ) -> std::io::Result<()> {
        let here = self
            .selected()
            .and_then(|s| s.folder.as_ref())
            .is_some_and(|f| f.id == folder_id);
        if here {
            self.report_changes(stream, moment).await?;
        }
        Ok(())
    }

    /// Takes messages this session removed (EXPUNGE, MOVE) out of the
    /// selected mailbox; returns their EXPUNGE answers.
    pub(super) fn forget(&mut self, uids: &HashSet<u32>) -> String {
        let Some(selected) = self.selected_mut().filter(|_| !uids.is_empty()) else {
            return String::new();
        };
        let mut out = String::new();
        for (position, _) in selected
            .messages
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, m)| uids.contains(&m.uid))
        {
            out.push_str(&format!("* {} EXPUNGE\r\n", position + 1));
        }
        Arc::make_mut(&mut selected.messages).retain(|m| !uids.contains(&m.uid));
        selected.own_changes += 1;
        out
    }
}

/// The answers when messages were only added to the folder since the
/// client last looked (an APPEND, a COPY, an import's batch): those alone
/// are read, not the whole folder, which matters when thousands of
/// sessions idle in it. `None` when a known message went too (the counts
/// do not add up), or when so many came that reading all costs as much.
fn only_added(
    archives: &crate::archive::Archives,
    user: &crate::archive::UserRecord,
    selected: &mut super::Selected,
    known: &crate::archive::Folder,
    now: &crate::archive::Folder,
    flags_may_differ: bool,
) -> crate::error::Result<Option<String>> {
    if now.uidnext <= known.uidnext || now.uidnext - known.uidnext > MAX_ADDED_READ {
        return Ok(None);
    }
    let uids: Vec<u32> = (known.uidnext..now.uidnext).collect();
    let mut added = archives.mailbox_messages_with_uids(user, now, &uids)?;
    if selected.messages.len() + added.len() != now.messages as usize {
        return Ok(None);
    }
    let mut out = String::new();
    if flags_may_differ {
        // The same user may have set flags elsewhere in this process.
        match archives.user_flags(user, now)? {
            Some(stored) => out = stored_flag_updates(selected, &stored),
            // A message came or went since `now`: read the whole folder.
            None => return Ok(None),
        }
    }
    // New to the client: \Recent for this session unless another has them
    // (claimed only now that these answers will be given).
    mark_recent(archives, user, now, selected.read_only, &mut added)?;
    if !added.is_empty() {
        Arc::make_mut(&mut selected.messages).extend(added);
        out.push_str(&exists(&selected.messages));
    }
    Ok(Some(out))
}

impl Selected {
    /// Drops from `positions` the messages expunged elsewhere that the
    /// client still numbers; true if there were any.
    pub(super) fn pass_over_expunged(&self, positions: &mut Vec<usize>) -> bool {
        let before = positions.len();
        positions.retain(|&p| !self.expunged.contains(&self.messages[p].uid));
        positions.len() < before
    }
}

/// `FETCH (FLAGS ...)` for the messages whose stored flags (`stored`; a
/// message without an entry has none set) differ from what the client
/// knows. A message another session expunged, which the client still
/// numbers, keeps what the client knows: it has no stored flags any more,
/// and told `FLAGS ()` the client would see flags vanish that nobody
/// cleared.
fn stored_flag_updates(
    selected: &mut super::Selected,
    stored: &std::collections::HashMap<u32, crate::archive::flags::FlagState>,
) -> String {
    let expunged = &selected.expunged;
    let messages: &mut Vec<MailboxMessage> = Arc::make_mut(&mut selected.messages);
    flag_updates(messages, |m| {
        if expunged.contains(&m.uid) {
            Some((m.flags, m.keywords.clone()))
        } else {
            stored.get(&m.uid).map(|f| (f.bits, f.keywords.clone()))
        }
    })
}

/// `FETCH (FLAGS ...)` for every message whose flags differ from `now`'s
/// (`None`: no flags set), updating `messages`.
fn flag_updates(
    messages: &mut [MailboxMessage],
    now: impl Fn(&MailboxMessage) -> Option<(u32, Vec<String>)>,
) -> String {
    let mut out = String::new();
    for (i, message) in messages.iter_mut().enumerate() {
        let (bits, keywords) = now(message).unwrap_or_default();
        if bits != message.flags || keywords != message.keywords {
            message.flags = bits;
            message.keywords = keywords;
            out.push_str(&format!(
                "* {} FETCH (FLAGS {})\r\n",
                i + 1,
                flag_list(message)
            ));
        }
    }
    out
}

/// Brings `known` (what the client knows) up to `fresh` (both in UID
/// order) and returns the answers, and the UIDs of the expunges that wait.
fn merge(
    known: &mut Vec<MailboxMessage>,
    fresh: Vec<MailboxMessage>,
    expunges: bool,
) -> (String, HashSet<u32>) {
    let present = |uid: u32| fresh.binary_search_by_key(&uid, |m| m.uid).ok();
    let mut out = String::new();
    let mut pending = HashSet::new();
    let gone: Vec<bool> = known.iter().map(|m| present(m.uid).is_none()).collect();
    if gone.contains(&true) {
        if expunges {
            // From the highest number down, so that each number is right
            // when the client reads it.
            for i in (0..known.len()).rev().filter(|&i| gone[i]) {
                out.push_str(&format!("* {} EXPUNGE\r\n", i + 1));
            }
            known.retain(|m| present(m.uid).is_some());
        } else {
            pending = known
                .iter()
                .zip(&gone)
                .filter(|(_, gone)| **gone)
                .map(|(m, _)| m.uid)
                .collect();
        }
    }
    out.push_str(&flag_updates(known, |m| {
        present(m.uid)
            .map(|i| (fresh[i].flags, fresh[i].keywords.clone()))
            .or(Some((m.flags, m.keywords.clone())))
    }));
    let last = known.last().map_or(0, |m| m.uid);
    let before = known.len();
    known.extend(fresh.into_iter().filter(|m| m.uid > last));
    if known.len() > before {
        out.push_str(&exists(known));
    }
    (out, pending)
}

/// EXISTS and RECENT once messages came.
fn exists(messages: &[MailboxMessage]) -> String {
    let recent = messages.iter().filter(|m| m.recent).count();
    format!("* {} EXISTS\r\n* {recent} RECENT\r\n", messages.len())
}
