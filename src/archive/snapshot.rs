//! One folder's messages as they are at one moment, shared by every session
//! that has the folder open: a session holds an `Arc` of the snapshot it
//! numbers its messages by, not a copy, so a thousand sessions on a folder
//! of 100,000 messages cost one list, and a second SELECT of a folder
//! costs no catalog read. A change makes a new snapshot (from the old one
//! when messages were only added); sessions move to it when IMAP lets them
//! (an expunge waits until the client may be told), and an old snapshot
//! lives as long as a session still numbers by it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::{Archives, Content, Folder};
use crate::error::Result;
use crate::store::MessageRecord;

/// A message's date and bytes: the same for every user (flags are each
/// user's own: [`super::UserFlags`]).
#[derive(Debug, Clone)]
pub struct MessageDetail {
    pub internal_date: i64,
    pub content: Content,
}

/// The details of a snapshot's messages, in UID order; `None` for a
/// message that left the folder before they were read.
pub type Details = Arc<[Option<MessageDetail>]>;

/// A folder's messages in UID order, as they were when it was read.
#[derive(Debug)]
pub struct FolderSnapshot {
    /// The folder as read (its counters are those of these messages);
    /// `None` for the empty INBOX of a user without an inbox folder.
    folder: Option<Folder>,
    uids: Vec<u32>,
    /// Read when first asked for ([`Archives::snapshot_details`]): SELECT,
    /// flag changes and most of a client's sync need only the UIDs, and
    /// reading the rows of 100,000 messages takes tens of milliseconds.
    details: OnceLock<Details>,
}

impl FolderSnapshot {
    /// No folder, no messages.
    pub fn none() -> FolderSnapshot {
        FolderSnapshot {
            folder: None,
            uids: Vec::new(),
            details: OnceLock::from(Details::from([])),
        }
    }

    pub fn folder(&self) -> Option<&Folder> {
        self.folder.as_ref()
    }

    /// The messages' UIDs, ascending.
    pub fn uids(&self) -> &[u32] {
        &self.uids
    }

    pub fn len(&self) -> usize {
        self.uids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
    }

    /// Where the message with `uid` is, or would be.
    pub fn position(&self, uid: u32) -> std::result::Result<usize, usize> {
        self.uids.binary_search(&uid)
    }

    pub fn last_uid(&self) -> u32 {
        self.uids.last().copied().unwrap_or(0)
    }

    /// The messages' details, if read already.
    pub fn details(&self) -> Option<&Details> {
        self.details.get()
    }

    /// A copy without the messages with `uids`, as of the same moment.
    pub fn without(&self, uids: &std::collections::HashSet<u32>) -> FolderSnapshot {
        let kept = |&(uid, _): &(&u32, _)| !uids.contains(uid);
        let details = OnceLock::new();
        if let Some(known) = self.details() {
            let _ = details.set(
                self.uids
                    .iter()
                    .zip(known.iter())
                    .filter(kept)
                    .map(|(_, d)| d.clone())
                    .collect(),
            );
        }
        FolderSnapshot {
            folder: self.folder.clone(),
            uids: self
                .uids
                .iter()
                .copied()
                .filter(|u| !uids.contains(u))
                .collect(),
            details,
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
/// beyond, the new snapshot's details are read when asked for.
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
                        unused.push((s.len(), id));
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

    /// The details of `snapshot`'s messages, read now if not yet (once
    /// for every session sharing it).
    pub fn snapshot_details(&self, snapshot: &FolderSnapshot) -> Result<Details> {
        if let Some(details) = snapshot.details() {
            return Ok(details.clone());
        }
        let Some(folder) = snapshot.folder() else {
            return Ok(Details::from([]));
        };
        let mut rows = self.catalog().messages(folder.id)?.into_iter().peekable();
        let details: Details = snapshot
            .uids
            .iter()
            .map(|&uid| next_with_uid(&mut rows, uid, |r| r.uid).map(detail))
            .collect();
        // Another session may have read them meanwhile: the same rows.
        Ok(snapshot.details.get_or_init(|| details).clone())
    }

    /// Reads the details of the folder's latest snapshot, if sessions
    /// hold it without them, before messages leave the folder: a session
    /// still numbers them until it may be told, and answers FETCH with
    /// them meanwhile (as Dovecot does). Sessions on an older snapshot
    /// pass such messages over (`[EXPUNGEISSUED]`).
    pub(super) fn keep_details(&self, folder_id: i64) -> Result<()> {
        let held = locked(&self.snapshots.slot(folder_id))
            .as_ref()
            .filter(|s| s.details().is_none() && Arc::strong_count(s) > 1)
            .cloned();
        match held {
            Some(snapshot) => self.snapshot_details(&snapshot).map(drop),
            None => Ok(()),
        }
    }

    /// Reads the folder's UIDs, and keeps `previous`'s details of the
    /// messages still there with the rows of those added since when it
    /// can; again while messages came or went during the read.
    fn read_snapshot(
        &self,
        folder_id: i64,
        previous: Option<&FolderSnapshot>,
    ) -> Result<Option<FolderSnapshot>> {
        for tried in 1.. {
            let Some(folder) = self.catalog().folder(folder_id)? else {
                return Ok(None);
            };
            let uids = self.catalog().folder_uids(folder_id)?;
            let uids = uids[..uids.partition_point(|&uid| uid < folder.uidnext)].to_vec();
            let details = match previous {
                Some(previous) => self.details_changed(previous, &folder, &uids)?,
                None => None,
            };
            let unchanged = self.catalog().folder_version(folder_id)?
                == Some((folder.uidnext, folder.highestmodseq));
            if unchanged || tried == TRIES {
                let snapshot = FolderSnapshot {
                    folder: Some(folder),
                    uids,
                    details: OnceLock::new(),
                };
                if let Some(details) = details {
                    let _ = snapshot.details.set(details);
                }
                return Ok(Some(snapshot));
            }
        }
        unreachable!("the loop returns by its last try")
    }

    /// The details of the messages `uids` of `now`: `previous`'s of those
    /// still there and the rows of those added since, when `previous` had
    /// its details and not too many came.
    fn details_changed(
        &self,
        previous: &FolderSnapshot,
        now: &Folder,
        uids: &[u32],
    ) -> Result<Option<Details>> {
        let (Some(known), Some(details)) = (previous.folder.as_ref(), previous.details()) else {
            return Ok(None);
        };
        if now.uidnext < known.uidnext || now.uidnext - known.uidnext > MAX_ADDED_READ {
            return Ok(None);
        }
        let added: Vec<u32> = (known.uidnext..now.uidnext).collect();
        let mut added = self
            .catalog()
            .messages_with_uids(now.id, &added)?
            .into_iter()
            .peekable();
        // Messages come with UIDs from UIDNEXT on, so those below
        // `known.uidnext` are all in `previous`, the others in `added`
        // unless they went again (those are read at the latest when the
        // version check reads the folder again).
        let mut kept = previous.uids.iter().zip(details.iter()).peekable();
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            let detail = if uid < known.uidnext {
                next_with_uid(&mut kept, uid, |(u, _)| **u).and_then(|(_, d)| d.clone())
            } else {
                next_with_uid(&mut added, uid, |r| r.uid).map(detail)
            };
            let Some(detail) = detail else {
                return Ok(None);
            };
            out.push(Some(detail));
        }
        Ok(Some(out.into()))
    }
}

/// The item of `sorted` (ascending by UID) with `uid`, those before it
/// skipped: a merge of two UID-ordered lists.
fn next_with_uid<T, I: Iterator<Item = T>>(
    sorted: &mut std::iter::Peekable<I>,
    uid: u32,
    uid_of: impl Fn(&T) -> u32,
) -> Option<T> {
    while sorted.next_if(|item| uid_of(item) < uid).is_some() {}
    sorted.next_if(|item| uid_of(item) == uid)
}

fn detail(m: MessageRecord) -> MessageDetail {
    MessageDetail {
        internal_date: m.internal_date,
        content: Content(m.blob),
    }
}
