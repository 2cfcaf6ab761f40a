//! One folder's messages as they are at one moment, shared by every session
//! that has the folder open: a session holds an `Arc` of the snapshot it
//! numbers its messages by, not a copy, so a thousand sessions on a folder
//! of 100,000 messages cost one list, and a second SELECT of a folder
//! costs no catalog read. A change makes a new snapshot (from the old one
//! when messages were only added); sessions move to it when IMAP lets them
//! (an expunge waits until the client may be told), and an old snapshot
//! lives as long as a session still numbers by it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use super::{Archives, Content, Folder};
use crate::error::Result;
use crate::store::{FolderVersion, MessageRecord};

/// A message's date and bytes: the same for every user (flags are each
/// user's own: [`super::UserFlags`]).
#[derive(Debug, Clone)]
pub struct MessageDetail {
    pub internal_date: i64,
    pub content: Content,
    /// The mod-sequence it came with (a user's flag change since gives it
    /// a higher one for that user).
    pub modseq: u64,
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
    /// For a copy made without some messages ([`FolderSnapshot::without`])
    /// before the details were read: the snapshot read from the catalog
    /// that they are taken from. That one is known to [`Snapshots`], whose
    /// details are read before messages leave the folder.
    source: Option<Arc<FolderSnapshot>>,
}

impl FolderSnapshot {
    /// No folder, no messages.
    pub fn none() -> FolderSnapshot {
        FolderSnapshot {
            folder: None,
            uids: Vec::new(),
            details: OnceLock::from(Details::from([])),
            source: None,
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
    pub fn without(self: &Arc<Self>, uids: &std::collections::HashSet<u32>) -> FolderSnapshot {
        let kept: Vec<u32> = self
            .uids
            .iter()
            .copied()
            .filter(|u| !uids.contains(u))
            .collect();
        let details = OnceLock::new();
        let mut source = None;
        match self.details() {
            Some(known) => {
                let _ = details.set(subset(&self.uids, known, &kept));
            }
            None => source = Some(self.source.clone().unwrap_or_else(|| self.clone())),
        }
        FolderSnapshot {
            folder: self.folder.clone(),
            uids: kept,
            details,
            source,
        }
    }

    /// Sets the details from `rows` (the folder's messages, ascending by
    /// UID) unless they are set; those of messages not in `rows` are
    /// `None`.
    fn fill_details(&self, rows: &[MessageRecord]) -> Details {
        let mut rows = rows.iter().peekable();
        let details: Details = self
            .uids
            .iter()
            .map(|&uid| next_with_uid(&mut rows, uid, |r| r.uid).map(|r| detail(r.clone())))
            .collect();
        // Another session may have read them meanwhile: the same rows.
        self.details.get_or_init(|| details).clone()
    }

    /// What a catalog read of the folder's counters is compared with.
    fn version(&self) -> Option<FolderVersion> {
        self.folder.as_ref().map(version)
    }
}

fn version(folder: &Folder) -> FolderVersion {
    (folder.uidvalidity, folder.uidnext, folder.contents_modseq)
}

/// The snapshots this process has read, by folder id. Each folder has its
/// own lock, so that one folder read again does not hold up the others,
/// and the sessions that wake together after a change wait for one read.
#[derive(Default)]
pub struct Snapshots {
    folders: Mutex<HashMap<i64, Arc<Slot>>>,
}

/// One folder's snapshots.
type Slot = Mutex<Kept>;

#[derive(Default)]
struct Kept {
    /// The latest snapshot read, unless dropped as unused.
    latest: Option<Arc<FolderSnapshot>>,
    /// Every snapshot read whose details were not read then, while a
    /// session may hold it: their details are read before messages leave
    /// the folder ([`Archives::removing_messages`]).
    without_details: Vec<Weak<FolderSnapshot>>,
}

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
            match cached.latest.as_ref() {
                None => Arc::strong_count(slot) > 1 || !cached.without_details.is_empty(),
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
                cached.latest = None;
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
            cached.latest = None;
            return Ok(None);
        };
        if let Some(snapshot) = cached.latest.as_ref()
            && snapshot.version() == Some(version)
        {
            return Ok(Some(snapshot.clone()));
        }
        let fresh = self
            .read_snapshot(folder_id, cached.latest.as_deref())?
            .map(Arc::new);
        if let Some(fresh) = fresh.as_ref().filter(|f| f.details().is_none()) {
            cached.without_details.retain(|w| w.strong_count() > 0);
            cached.without_details.push(Arc::downgrade(fresh));
        }
        cached.latest = fresh.clone();
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
        if let Some(source) = &snapshot.source {
            let known = self.snapshot_details(source)?;
            let details = subset(&source.uids, &known, &snapshot.uids);
            return Ok(snapshot.details.get_or_init(|| details).clone());
        }
        let Some(folder) = snapshot.folder() else {
            return Ok(Details::from([]));
        };
        Ok(snapshot.fill_details(&self.catalog().messages(folder.id)?))
    }

    /// Runs `remove`, a change that takes messages out of folder
    /// `folder_id`, after reading the details of every snapshot of it a
    /// session may hold without them, and with no new snapshot read
    /// meanwhile: a session still numbers the messages that go until it
    /// may be told, and answers FETCH of them (as Dovecot does).
    pub(super) fn removing_messages<T>(
        &self,
        folder_id: i64,
        remove: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let slot = self.snapshots.slot(folder_id);
        let mut cached = locked(&slot);
        let kept = &*cached;
        // The latest snapshot held by no session (counted: the slot's and
        // the upgrade's) is read again after the change, never used as it is.
        let unused = |s: &Arc<FolderSnapshot>| {
            kept.latest.as_ref().is_some_and(|l| Arc::ptr_eq(l, s)) && Arc::strong_count(s) == 2
        };
        let wanting: Vec<Arc<FolderSnapshot>> = kept
            .without_details
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|s| s.details().is_none() && !unused(s))
            .collect();
        if !wanting.is_empty() {
            let rows = self.catalog().messages(folder_id)?;
            for snapshot in &wanting {
                snapshot.fill_details(&rows);
            }
        }
        cached
            .without_details
            .retain(|w| w.upgrade().is_some_and(|s| s.details().is_none()));
        remove()
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
            let uids = self.catalog().folder_uids(folder_id, folder.uidnext)?;
            let details = match previous {
                Some(previous) => self.details_changed(previous, &folder, &uids)?,
                None => None,
            };
            let unchanged = self.catalog().folder_version(folder_id)? == Some(version(&folder));
            if unchanged || tried == TRIES {
                let snapshot = FolderSnapshot {
                    folder: Some(folder),
                    uids,
                    details: OnceLock::new(),
                    source: None,
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
        // Another folder than the one read before (the id given again).
        if known.uidvalidity != now.uidvalidity {
            return Ok(None);
        }
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

/// The details of the messages `kept` (a subset of `uids`) out of those
/// of `uids`.
fn subset(uids: &[u32], details: &Details, kept: &[u32]) -> Details {
    let mut known = uids.iter().zip(details.iter()).peekable();
    kept.iter()
        .map(|&uid| next_with_uid(&mut known, uid, |(u, _)| **u).and_then(|(_, d)| d.clone()))
        .collect()
}

fn detail(m: MessageRecord) -> MessageDetail {
    MessageDetail {
        internal_date: m.internal_date,
        content: Content(m.blob),
        modseq: m.modseq,
    }
}
