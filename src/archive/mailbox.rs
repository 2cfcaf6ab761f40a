//! A mailbox as one session of a user numbers it ([`MailboxView`]): the
//! folder's messages (a shared [`FolderSnapshot`]), the user's flags on
//! them (shared by the user's sessions, [`UserFlags`]) and which messages
//! are new to this session (IMAP `\Recent`); and the user's subscriptions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::flags::FlagState;
use super::snapshot::{Details, FolderSnapshot, MessageDetail};
use super::user_flags::UserFlags;
use super::{Archives, Folder, UserRecord};
use crate::error::Result;

/// One message of a folder, as one user sees it: made when asked for, from
/// a [`MailboxView`].
#[derive(Debug, Clone)]
pub struct MailboxMessage {
    pub uid: u32,
    /// Its date and bytes, when asked for ([`MailboxView::message`]);
    /// `None` also for a message that left the folder before they were
    /// read.
    pub detail: Option<MessageDetail>,
    /// This user's flags (bits of `archive::flags`).
    pub flags: u32,
    /// This user's keywords.
    pub keywords: Vec<String>,
    /// `\Recent`: the session is the first of the user's to see it.
    pub recent: bool,
    /// Its mod-sequence for this user (RFC 7162): the higher of the one it
    /// came with and the one of the user's last flag change; without its
    /// detail, only the latter (0: none).
    pub modseq: u64,
}

/// A mailbox as one session numbers it: cheap to clone (the messages and
/// flags are shared), its own cost only the `\Recent` ranges.
#[derive(Clone)]
pub struct MailboxView {
    snapshot: Arc<FolderSnapshot>,
    flags: Arc<UserFlags>,
    /// UIDs `from..to` the session claimed as `\Recent` (RFC 3501 2.3.2),
    /// in order.
    recent: Vec<(u32, u32)>,
}

impl MailboxView {
    /// The empty INBOX of a user without an inbox folder.
    pub fn empty() -> MailboxView {
        MailboxView {
            snapshot: Arc::new(FolderSnapshot::none()),
            flags: Arc::default(),
            recent: Vec::new(),
        }
    }

    pub fn snapshot(&self) -> &Arc<FolderSnapshot> {
        &self.snapshot
    }

    /// The view without `\Recent` (IMAP4rev2 has none, RFC 9051 2.3.2).
    pub fn without_recent(mut self) -> MailboxView {
        self.recent = Vec::new();
        self
    }

    pub fn flags(&self) -> &Arc<UserFlags> {
        &self.flags
    }

    pub fn len(&self) -> usize {
        self.snapshot.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The UID of the message at `position` (0-based).
    pub fn uid(&self, position: usize) -> u32 {
        self.snapshot.uids()[position]
    }

    /// The position of the message with `uid`, if the view holds it.
    pub fn position(&self, uid: u32) -> Option<usize> {
        self.snapshot.position(uid).ok()
    }

    /// The message at `position` (0-based), with the user's flags now and
    /// its detail from `details` (the snapshot's,
    /// [`Archives::snapshot_details`]), if given.
    pub fn message(&self, position: usize, details: Option<&Details>) -> MailboxMessage {
        let uid = self.uid(position);
        let FlagState { bits, keywords } = self.flags.of(uid);
        let detail = details.and_then(|d| d[position].clone());
        let came = detail.as_ref().map_or(0, |d| d.modseq);
        MailboxMessage {
            uid,
            detail,
            flags: bits,
            keywords,
            recent: self.is_recent(uid),
            modseq: came.max(self.flags.modseq(uid)),
        }
    }

    /// The view without the messages with `uids`, in a copy of its own:
    /// for a session's own expunges while others' must wait.
    pub fn without(&self, uids: &HashSet<u32>) -> MailboxView {
        MailboxView {
            snapshot: Arc::new(self.snapshot.without(uids)),
            flags: self.flags.clone(),
            recent: self.recent.clone(),
        }
    }

    /// The position of the first message without flag `bit`.
    pub fn first_without(&self, bit: u32) -> Option<usize> {
        self.flags
            .first_without(bit, self.snapshot.uids().iter().copied())
    }

    /// The UIDs of the messages with flag `bit`, in order.
    pub fn uids_with(&self, bit: u32) -> Vec<u32> {
        self.flags.having(bit, self.snapshot.uids().iter().copied())
    }

    /// Every message, in order, with `details`.
    pub fn messages<'a>(
        &'a self,
        details: &'a Details,
    ) -> impl Iterator<Item = MailboxMessage> + 'a {
        (0..self.len()).map(|p| self.message(p, Some(details)))
    }

    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent
            .iter()
            .any(|&(from, to)| (from..to).contains(&uid))
    }

    /// How many messages are `\Recent` in this session.
    pub fn recent_count(&self) -> usize {
        let uids = self.snapshot.uids();
        let below = |uid: u32| uids.partition_point(|&u| u < uid);
        self.recent
            .iter()
            .map(|&(from, to)| below(to) - below(from))
            .sum()
    }
}

impl Archives {
    /// Opens `folder` (as it is now) for one session of `user`: the
    /// messages it holds are `\Recent` for this session if no other
    /// session of the user had them; a read-write session claims them
    /// (later sessions do not see them as recent), a read-only one (EXAMINE)
    /// shows what no session has claimed and takes nothing, as Dovecot
    /// does. `None` when the folder is gone.
    pub fn open_mailbox(
        &self,
        user: &UserRecord,
        folder: &Folder,
        read_only: bool,
    ) -> Result<Option<MailboxView>> {
        let Some(snapshot) = self.folder_snapshot(folder.id)? else {
            return Ok(None);
        };
        let view = MailboxView {
            flags: Arc::default(),
            snapshot: Arc::new(FolderSnapshot::none()),
            recent: Vec::new(),
        };
        self.advance_view(user, &view, snapshot, read_only)
            .map(Some)
    }

    /// `view` moved on to `snapshot`, a later one of its folder: the
    /// messages new to the view are `\Recent` in it as [`Archives::open_mailbox`]
    /// says, and the flags cover them.
    pub fn advance_view(
        &self,
        user: &UserRecord,
        view: &MailboxView,
        snapshot: Arc<FolderSnapshot>,
        read_only: bool,
    ) -> Result<MailboxView> {
        let mut recent = view.recent.clone();
        let known = view.snapshot.last_uid();
        let last = snapshot.last_uid();
        if let Some(folder) = snapshot.folder()
            && last > known
        {
            let first = if read_only {
                self.catalog().first_recent(user.id, folder.id)?
            } else {
                self.catalog()
                    .claim_recent(user.id, folder.id, last.saturating_add(1))?
            };
            // Another session may have claimed beyond these messages.
            let (from, to) = (first.max(known + 1), last.saturating_add(1));
            if from < to {
                recent.push((from, to));
            }
        }
        let flags = if Arc::ptr_eq(&view.snapshot, &snapshot) {
            view.flags.clone()
        } else {
            self.user_flags(user, &snapshot)?
        };
        Ok(MailboxView {
            snapshot,
            flags,
            recent,
        })
    }

    /// `user`'s counts on `folder` now, without opening it: messages, those
    /// without `\Seen`, those no session of the user has seen (`\Recent`),
    /// and, `with_size`, their size. `None` when the folder is gone.
    pub fn mailbox_counts(
        &self,
        user: &UserRecord,
        folder: &Folder,
        with_size: bool,
    ) -> Result<Option<MailboxCounts>> {
        let Some(snapshot) = self.folder_snapshot(folder.id)? else {
            return Ok(None);
        };
        let flags = self.user_flags(user, &snapshot)?;
        let uids = snapshot.uids();
        let first_recent = self.catalog().first_recent(user.id, folder.id)?;
        let size = match with_size {
            true => Some(
                self.snapshot_details(&snapshot)?
                    .iter()
                    .flatten()
                    .map(|d| d.content.size())
                    .sum(),
            ),
            false => None,
        };
        Ok(Some(MailboxCounts {
            messages: uids.len(),
            unseen: flags.count_without(super::flags::SEEN, uids.iter().copied()),
            deleted: uids.len() - flags.count_without(super::flags::DELETED, uids.iter().copied()),
            recent: uids.len() - uids.partition_point(|&uid| uid < first_recent),
            size,
            uidnext: snapshot.folder().map_or(folder.uidnext, |f| f.uidnext),
        }))
    }

    /// The folder's HIGHESTMODSEQ now (RFC 7162): above the mod-sequence
    /// of every change made to it so far, any user's flag changes included.
    pub fn highest_modseq(&self, folder: &Folder) -> Result<u64> {
        Ok(self
            .catalog()
            .highest_modseq(folder.id)?
            .unwrap_or(folder.highestmodseq))
    }

    /// The UIDs `folder` no longer holds that went at a mod-sequence above
    /// `after` (or lie in a range of such UIDs), as inclusive ranges.
    pub fn vanished_since(&self, folder: &Folder, after: u64) -> Result<Vec<(u32, u32)>> {
        self.catalog().vanished_since(folder.id, after)
    }

    /// The stored header blocks of these messages, by blob id.
    pub fn message_headers(&self, messages: &[&MailboxMessage]) -> Result<HashMap<i64, Vec<u8>>> {
        let ids: Vec<i64> = messages
            .iter()
            .filter_map(|m| Some(m.detail.as_ref()?.content.id()))
            .collect();
        Ok(self.catalog().blob_headers(&ids)?.into_iter().collect())
    }

    /// `user`'s subscribed names, as (archive, folder path); the folders
    /// need not exist. Folders that come from the archive (imports)
    /// are subscribed for every user who can see them when they
    /// are made, and a whole archive when a grant makes it visible; a
    /// folder a client creates only when it subscribes.
    pub fn subscriptions(&self, user: &UserRecord) -> Result<Vec<(String, String)>> {
        let names: HashMap<i64, String> = self
            .catalog()
            .archives()?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        Ok(self
            .catalog()
            .subscriptions(user.id)?
            .into_iter()
            .filter_map(|(archive, path)| Some((names.get(&archive)?.clone(), path)))
            .collect())
    }

    /// Subscribes `user` to (or unsubscribes them from) the name of folder
    /// `path` in `archive`, which need not exist.
    pub fn set_subscribed(
        &self,
        user: &UserRecord,
        archive: &str,
        path: &str,
        subscribed: bool,
    ) -> Result<()> {
        let archive = self.archive(archive)?;
        self.catalog()
            .set_subscribed(user.id, archive.id, path, subscribed)
    }
}

/// What STATUS tells of a mailbox.
#[derive(Debug, Default)]
pub struct MailboxCounts {
    pub messages: usize,
    pub unseen: usize,
    /// Messages with `\Deleted` (STATUS DELETED, RFC 9051).
    pub deleted: usize,
    pub recent: usize,
    /// When asked for.
    pub size: Option<u64>,
    pub uidnext: u32,
}
