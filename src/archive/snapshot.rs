//! One folder's messages as they are at one moment, shared by every session
//! that has the folder open: a session holds an `Arc` of the snapshot it
//! numbers its messages by, not a copy, so a thousand sessions on a folder
//! of 100,000 messages cost one list, and a second SELECT of a folder
//! costs no catalog read. A change makes a new snapshot (from the old one
//! when messages were only added); sessions move to it when IMAP lets them
//! (an expunge waits until the client may be told), and an old snapshot
//! lives as long as a session still numbers by it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Archives, Content, Folder};
use crate::error::Result;

/// One message of a folder; the same for every user (flags are each
/// user's own: [`super::UserFlags`]).
#[derive(Debug, Clone)]
pub struct SnapshotMessage {
    pub uid: u32,
    pub internal_date: i64,
    pub content: Content,
}

/// A folder's messages in UID order, as they were when it was read.
#[derive(Debug)]
pub struct FolderSnapshot {
    /// The folder as read (its counters are those of these messages);
    /// `None` for the empty INBOX of a user without an inbox folder.
    folder: Option<Folder>,
    messages: Vec<SnapshotMessage>,
}

impl FolderSnapshot {
    /// No folder, no messages.
    pub fn none() -> FolderSnapshot {
        FolderSnapshot {
            folder: None,
            messages: Vec::new(),
        }
    }

    pub fn folder(&self) -> Option<&Folder> {
        self.folder.as_ref()
    }

    pub fn messages(&self) -> &[SnapshotMessage] {
        &self.messages
    }

    /// Where the message with `uid` is, or would be.
    pub fn position(&self, uid: u32) -> std::result::Result<usize, usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid)
    }

    pub fn last_uid(&self) -> u32 {
        self.messages.last().map_or(0, |m| m.uid)
    }

    /// A copy without the messages with `uids`, as of the same moment.
    pub fn without(&self, uids: &std::collections::HashSet<u32>) -> FolderSnapshot {
        FolderSnapshot {
            folder: self.folder.clone(),
            messages: self
                .messages
                .iter()
                .filter(|m| !uids.contains(&m.uid))
                .cloned()
                .collect(),
        }
    }

    /// What a catalog read of the folder's counters is compared with.
    fn version(&self) -> Option<(u32, u64)> {
        self.folder.as_ref().map(|f| (f.uidnext, f.highestmodseq))
    }
}

/// The snapshots this process has read, by folder id. Each folder has its
/// own lock, so that one folder read again does not hold up the others,
/// and the sessions that wake together after a change wait for one read.
#[derive(Default)]
pub struct Snapshots {
    folders: Mutex<HashMap<i64, Arc<Slot>>>,
}

/// One folder's latest snapshot, if read and kept.
type Slot = Mutex<Option<Arc<FolderSnapshot>>>;

/// Messages in snapshots no session holds that are kept for the next
/// SELECT; beyond, the largest are dropped.
const UNUSED_KEPT: usize = 500_000;

/// At most this many messages added since a snapshot are read by UID;
/// beyond, the whole folder is read again.
const MAX_ADDED_READ: u32 = 1000;

/// How often a folder is read again while messages came or went during
/// the read; the last read is then taken.
const TRIES: usize = 5;

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are replaced whole, never left half-changed.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Snapshots {
    fn slot(&self, folder_id: i64) -> Arc<Slot> {
        locked(&self.folders).entry(folder_id).or_default().clone()
    }

    /// Drops the largest snapshots no session holds while those hold more
    /// than [`UNUSED_KEPT`] messages, and the slots of deleted folders.
    fn evict_unused(&self) {
        let mut folders = locked(&self.folders);
        let mut unused: Vec<(usize, i64)> = Vec::new();
        folders.retain(|&id, slot| {
            // A slot being filled is left alone.
            let Ok(cached) = slot.try_lock() else {
                return true;
            };
            match cached.as_ref() {
                None => Arc::strong_count(slot) > 1,
                Some(s) => {
                    if Arc::strong_count(s) == 1 {
                        unused.push((s.messages.len(), id));
                    }
                    true
                }
            }
        });
        let mut kept: usize = unused.iter().map(|(n, _)| n).sum();
        unused.sort_unstable();
        while kept > UNUSED_KEPT {
            let Some((n, id)) = unused.pop() else { break };
            if let Some(slot) = folders.get(&id)
                && let Ok(mut cached) = slot.try_lock()
            {
                *cached = None;
            }
            kept -= n;
        }
    }
}

impl Archives {
    /// The messages of folder `folder_id` as they are now (`None`: the
    /// folder is gone). Costs one read of the folder's counters when
    /// nothing changed since the last call from any session.
    pub fn folder_snapshot(&self, folder_id: i64) -> Result<Option<Arc<FolderSnapshot>>> {
        let slot = self.snapshots.slot(folder_id);
        let mut cached = locked(&slot);
        let Some(version) = self.catalog().folder_version(folder_id)? else {
            *cached = None;
            return Ok(None);
        };
        if let Some(snapshot) = cached.as_ref()
            && snapshot.version() == Some(version)
        {
            return Ok(Some(snapshot.clone()));
        }
        let fresh = self
            .read_snapshot(folder_id, cached.as_deref())?
            .map(Arc::new);
        *cached = fresh.clone();
        drop(cached);
        self.snapshots.evict_unused();
        Ok(fresh)
    }

    /// Reads the folder's messages: from `previous` and the rows of those
    /// added since when it can, else all of them; again while messages
    /// came or went during the read.
    fn read_snapshot(
        &self,
        folder_id: i64,
        previous: Option<&FolderSnapshot>,
    ) -> Result<Option<FolderSnapshot>> {
        for tried in 1.. {
            let Some(folder) = self.catalog().folder(folder_id)? else {
                return Ok(None);
            };
            let messages = match previous.and_then(|p| self.read_changed(p, &folder).transpose()) {
                Some(messages) => messages?,
                None => self
                    .catalog()
                    .messages(folder_id)?
                    .into_iter()
                    .map(snapshot_message)
                    .collect(),
            };
            let unchanged = self.catalog().folder_version(folder_id)?
                == Some((folder.uidnext, folder.highestmodseq));
            if unchanged || tried == TRIES {
                return Ok(Some(FolderSnapshot {
                    folder: Some(folder),
                    messages,
                }));
            }
        }
        unreachable!("the loop returns by its last try")
    }

    /// `previous`'s messages still in the folder and those added since,
    /// when not too many came: the UIDs of the folder are read, and the
    /// rows of the new messages only.
    fn read_changed(
        &self,
        previous: &FolderSnapshot,
        now: &Folder,
    ) -> Result<Option<Vec<SnapshotMessage>>> {
        let Some(known) = previous.folder.as_ref() else {
            return Ok(None);
        };
        if now.uidnext < known.uidnext || now.uidnext - known.uidnext > MAX_ADDED_READ {
            return Ok(None);
        }
        let added: Vec<u32> = (known.uidnext..now.uidnext).collect();
        let added = self.catalog().messages_with_uids(now.id, &added)?;
        // Read after `now`: a message gone since is missing here, and the
        // final version check reads the folder again. Messages come with
        // UIDs from UIDNEXT on, so those below `now.uidnext` are all in
        // `previous` or `added`, and equal counts mean nothing went.
        let mut current = self.catalog().folder_uids(now.id)?;
        current.truncate(current.partition_point(|&uid| uid < now.uidnext));
        let present = |uid: u32| current.binary_search(&uid).is_ok();
        let mut messages = Vec::with_capacity(current.len());
        if previous.messages.len() + added.len() == current.len() {
            // Nothing went: the common case of messages only coming.
            messages.extend_from_slice(&previous.messages);
        } else {
            messages.extend(previous.messages.iter().filter(|m| present(m.uid)).cloned());
        }
        messages.extend(
            added
                .into_iter()
                .filter(|m| present(m.uid))
                .map(snapshot_message),
        );
        if messages.len() != current.len() {
            return Ok(None);
        }
        Ok(Some(messages))
    }
}

fn snapshot_message(m: crate::store::MessageRecord) -> SnapshotMessage {
    SnapshotMessage {
        uid: m.uid,
        internal_date: m.internal_date,
        content: Content(m.blob),
    }
}
