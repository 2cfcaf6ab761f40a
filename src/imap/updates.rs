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

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use tokio::io::AsyncWrite;

use super::condstore::{self, Modseqs};
use super::fetch::write_flag_list;
use super::reply::Failure;
use super::response::send;
use super::select::{add_new_keywords, flags_announcement};
use super::{Selected, Session, Shared, fetch};
use crate::archive::{FolderSnapshot, UserRecord};

/// How often a session asks the catalog whether another process (an
/// import) changed its folder, outside NOOP, CHECK and IDLE.
const POLL_EVERY: Duration = Duration::from_secs(1);

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

/// Resolves when `watch` sees a change; never without one (or once its
/// sender is gone).
pub async fn changed(watch: Option<tokio::sync::watch::Receiver<u64>>) {
    if let Some(mut watch) = watch
        && watch.changed().await.is_ok()
    {
        return;
    }
    std::future::pending::<()>().await
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
            | CommandBody::Sort { uid: false, .. }
            | CommandBody::Thread { uid: false, .. }
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
        let modseqs = self.modseqs();
        // NOTIFY's SELECTED: the client numbers by UID (RFC 5465 5.3).
        let at_once = self.notifying().is_some_and(|n| n.expunges_at_once());
        let Some(user) = self.user().cloned() else {
            return Ok(());
        };
        let Some(selected) = self.selected_mut() else {
            return Ok(());
        };
        if selected.folder.is_none() {
            return Ok(());
        }
        let expunges = if moment == Moment::NumberedCommand && !at_once {
            Expunges::None
        } else {
            Expunges::All
        };
        let version = selected
            .watch
            .as_mut()
            .map_or(0, |w| *w.borrow_and_update());
        let others_changed = version != selected.seen + selected.own_changes;
        selected.seen = version;
        selected.own_changes = 0;
        let poll = moment == Moment::Poll || selected.polled.elapsed() >= POLL_EVERY;
        let expunges_due = expunges == Expunges::All && !selected.expunged.is_empty();
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
        let last_known = selected.view.snapshot().last_uid();
        let shared = self.shared.clone();
        let (selected, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = selected.catch_up(&shared, &user, expunges, modseqs);
            (selected, outcome)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.set_selected(Some(selected));
        match outcome {
            Ok(out) if out.is_empty() => Ok(()),
            Ok(out) => {
                send(stream, &out).await?;
                self.fetch_new_messages(stream, last_known).await
            }
            Err(e) => {
                // The client hears of it later; its command still runs.
                tracing::error!(peer = %self.peer, error = %e, "looking for mailbox changes failed");
                Ok(())
            }
        }
    }

    /// NOTIFY's MessageNew attributes of the messages after UID `after`
    /// in the selected mailbox (RFC 5465 5.2), as a UID FETCH would send
    /// them.
    async fn fetch_new_messages<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        after: u32,
    ) -> std::io::Result<()> {
        let attributes = self
            .notifying()
            .map(|n| n.new_message_attributes().join(" "))
            .unwrap_or_default();
        let last = self.selected().map_or(0, |s| s.view.snapshot().last_uid());
        if attributes.is_empty() || last <= after {
            return Ok(());
        }
        // The attributes are words NOTIFY SET checked: imap-codec reads them.
        let line = format!("n UID FETCH {}:{last} ({attributes})\r\n", after + 1);
        let Ok((_, command)) = CommandCodec::default().decode(line.as_bytes()) else {
            return Ok(());
        };
        let CommandBody::Fetch {
            sequence_set,
            macro_or_item_names,
            ..
        } = command.body
        else {
            return Ok(());
        };
        let request =
            fetch::FetchRequest::new(&sequence_set, &macro_or_item_names, true, &[], Vec::new());
        match fetch::fetch(self, stream, request).await {
            Ok(reply) => send(stream, reply.into_data()).await,
            Err(Failure::Io(e)) => Err(e),
            // Refused (the client hears of the messages at its next FETCH).
            Err(Failure::Reply(_)) => Ok(()),
        }
    }

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
    /// selected mailbox; returns the answers: their EXPUNGEs, and what else
    /// changed if the mailbox moves on to the folder as it is now (it does
    /// unless other sessions' expunges are still to wait).
    pub(super) fn forget(&mut self, uids: &HashSet<u32>) -> String {
        let shared = self.shared.clone();
        let modseqs = self.modseqs();
        let Some(user) = self.user().cloned() else {
            return String::new();
        };
        let Some(selected) = self.selected_mut().filter(|_| !uids.is_empty()) else {
            return String::new();
        };
        selected.own_changes += 1;
        match selected.catch_up(&shared, &user, Expunges::Only(uids), modseqs) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(error = %e, "reading the mailbox after an expunge failed");
                // The client is told of its own expunges all the same.
                selected.leave_out(uids, modseqs)
            }
        }
    }
}

/// Which expunges a client may hear of now (RFC 3501 7.4.1: none while a
/// command that uses sequence numbers is answered).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expunges<'a> {
    None,
    All,
    /// Those of the command being answered (MOVE, EXPUNGE).
    Only(&'a HashSet<u32>),
}

impl Selected {
    /// Brings the mailbox up to the folder as it is now, as far as
    /// `expunges` lets it, and returns the untagged answers: EXPUNGE (from
    /// the highest number down, so each number is right when the client
    /// reads it), flags the user changed in other sessions, then EXISTS
    /// and RECENT for new messages. While an expunge must wait, the
    /// mailbox stays as the client numbers it (new messages wait too) and
    /// the messages gone are passed over (`[EXPUNGEISSUED]`). With QRESYNC
    /// expunges are told as VANISHED (RFC 7162 3.2.10).
    fn catch_up(
        &mut self,
        shared: &Shared,
        user: &UserRecord,
        expunges: Expunges,
        modseqs: Modseqs,
    ) -> crate::error::Result<String> {
        let archives = &shared.archives;
        let Some(folder) = &self.folder else {
            return Ok(String::new());
        };
        // Deleted (or, were the id given again, another folder: the
        // catalog gives none twice): every message is gone.
        let now = archives
            .folder_snapshot(folder.id)?
            .filter(|s| {
                s.folder()
                    .is_some_and(|f| f.uidvalidity == folder.uidvalidity)
            })
            .unwrap_or_else(|| Arc::new(FolderSnapshot::none()));
        let mut out = String::new();
        if !Arc::ptr_eq(self.view.snapshot(), &now) {
            let known = self.view.snapshot();
            let gone: Vec<usize> = (0..known.len())
                .filter(|&p| now.position(known.uids()[p]).is_err())
                .collect();
            let may_tell = match expunges {
                Expunges::None => gone.is_empty(),
                Expunges::All => true,
                Expunges::Only(own) => gone.iter().all(|&p| own.contains(&known.uids()[p])),
            };
            if !may_tell {
                if let Expunges::Only(own) = expunges {
                    out = self.leave_out(own, modseqs);
                }
                let known = self.view.snapshot();
                self.expunged = gone_uids(known, &now);
                return Ok(out + &self.flag_updates(modseqs));
            }
            // Results kept up to date lose the messages going first.
            let gone_uids: HashSet<u32> = gone.iter().map(|&p| known.uids()[p]).collect();
            for live in &mut self.live {
                out.push_str(&live.removing(&gone_uids, &self.view));
            }
            out.push_str(&expunge_lines(known, &gone, modseqs));
            let known_last = known.last_uid();
            let view = archives.advance_view(user, &self.view, now.clone(), self.read_only)?;
            let view = match self.rev2 {
                true => view.without_recent(),
                false => view,
            };
            if !Arc::ptr_eq(self.view.flags(), view.flags()) {
                self.flags_seen = view.flags().changes();
                self.own_flag_changes.clear();
            }
            self.view = view;
            self.expunged.clear();
            if let Some(folder) = now.folder() {
                self.folder = Some(folder.clone());
            }
            // New messages before flags, which may be theirs.
            let first_new = now.position(known_last + 1).unwrap_or_else(|p| p);
            if first_new < now.len() {
                let added: Vec<String> = (first_new..now.len())
                    .flat_map(|p| self.view.message(p, None).keywords)
                    .collect();
                out = self.announce_keywords(&added) + &out;
                out.push_str(&format!("* {} EXISTS\r\n", self.view.len()));
                if !self.rev2 {
                    out.push_str(&format!("* {} RECENT\r\n", self.view.recent_count()));
                }
            }
            out.push_str(&self.flag_updates(modseqs));
            out.push_str(&self.refresh_live(shared));
            return Ok(out);
        }
        let flags_moved = self.view.flags().changes() != self.flags_seen;
        let mut out = self.flag_updates(modseqs);
        if flags_moved {
            out.push_str(&self.refresh_live(shared));
        }
        Ok(out)
    }

    /// The searches kept up to date, searched again on the mailbox as the
    /// client now numbers it: their ADDTO and REMOVEFROM.
    pub(super) fn refresh_live(&mut self, shared: &Shared) -> String {
        let mut out = String::new();
        for live in &mut self.live {
            out.push_str(&live.refreshed(shared, &self.view, &self.saved));
        }
        out
    }

    /// `FETCH (FLAGS ...)` for the messages whose flags the user changed
    /// since the client last heard, in another session (a message another
    /// session expunged, which the client still numbers, is left as the
    /// client knows it); keywords new to the client are announced first.
    /// With CONDSTORE each carries its MODSEQ, with QRESYNC its UID too.
    fn flag_updates(&mut self, modseqs: Modseqs) -> String {
        let flags = self.view.flags();
        if flags.changes() == self.flags_seen {
            return String::new();
        }
        let (changed, last) = flags.changed_since(self.flags_seen);
        let mut out = Vec::new();
        let mut keywords = Vec::new();
        for update in changed {
            let Some(position) = self.view.position(update.uid) else {
                continue;
            };
            if self.expunged.contains(&update.uid) || self.knows_flag_change(update.change) {
                continue;
            }
            let mut message = self.view.message(position, None);
            message.flags = update.state.bits;
            message.keywords = update.state.keywords;
            out.extend_from_slice(format!("* {} FETCH (", position + 1).as_bytes());
            if modseqs == Modseqs::QResync {
                out.extend_from_slice(format!("UID {} ", update.uid).as_bytes());
            }
            out.extend_from_slice(b"FLAGS ");
            write_flag_list(&mut out, &message);
            if modseqs >= Modseqs::CondStore {
                out.extend_from_slice(format!(" MODSEQ ({})", update.modseq).as_bytes());
            }
            out.extend_from_slice(b")\r\n");
            keywords.extend(message.keywords);
        }
        self.flags_seen = last;
        self.own_flag_changes.clear();
        let out = String::from_utf8(out).expect("flags and keywords are ASCII atoms");
        self.announce_keywords(&keywords) + &out
    }

    /// FLAGS again if `keywords` holds one the client was not told of
    /// (RFC 3501 7.2.6: a keyword is announced before it is used).
    fn announce_keywords(&mut self, keywords: &[String]) -> String {
        if add_new_keywords(&mut self.keywords, keywords) {
            flags_announcement(&self.keywords, self.rights, self.read_only)
        } else {
            String::new()
        }
    }

    /// Takes `uids` out of the mailbox as the client numbers it (a copy of
    /// its messages without them) and returns their EXPUNGEs: for a
    /// session's own expunges while others' must wait.
    fn leave_out(&mut self, uids: &HashSet<u32>, modseqs: Modseqs) -> String {
        let known = self.view.snapshot();
        let gone: Vec<usize> = (0..known.len())
            .filter(|&p| uids.contains(&known.uids()[p]))
            .collect();
        let out = expunge_lines(known, &gone, modseqs);
        self.view = self.view.without(uids);
        out
    }

    /// Drops from `positions` the messages expunged elsewhere that the
    /// client still numbers; true if there were any.
    pub(super) fn pass_over_expunged(&self, positions: &mut Vec<usize>) -> bool {
        let before = positions.len();
        positions.retain(|&p| !self.expunged.contains(&self.view.uid(p)));
        positions.len() < before
    }
}

/// How a client hears that the messages at `gone` (positions in `known`,
/// ascending) went: EXPUNGE from the highest number down, so each number
/// is right when the client reads it; with QRESYNC one VANISHED of their
/// UIDs.
fn expunge_lines(known: &FolderSnapshot, gone: &[usize], modseqs: Modseqs) -> String {
    if modseqs == Modseqs::QResync {
        return condstore::vanished(gone.iter().map(|&p| known.uids()[p]).collect());
    }
    gone.iter()
        .rev()
        .map(|p| format!("* {} EXPUNGE\r\n", p + 1))
        .collect()
}

/// The UIDs of `known` that `now` lacks.
fn gone_uids(known: &FolderSnapshot, now: &FolderSnapshot) -> HashSet<u32> {
    known
        .uids()
        .iter()
        .copied()
        .filter(|&uid| now.position(uid).is_err())
        .collect()
}
