//! The index changes of single messages (IMAP APPEND, EXPUNGE), gathered
//! and written in batches.
//!
//! Opening a writer, committing and merging for each message made an
//! APPEND take about 50 ms. Here the changes wait in a queue, and a
//! background thread writes each store's pending changes once they pause
//! for [`PAUSE`] (or have waited [`MAX_WAIT`]): one writer, one commit,
//! then the writer is closed again, so that other processes may write the
//! index. While a change waits, searches check its message themselves,
//! as for any message the index does not cover; a crash loses only what
//! the catch-up (`Archives::catch_up_indexes`) adds again. A blob freed
//! while its document still waits is never indexed.
//!
//! Why the waits are seconds long: each commit writes a segment and every
//! eight segments are merged, so a commit of a few messages costs far
//! more per message than one of hundreds (with many sessions appending,
//! commits every 3 s made indexing and merging a quarter of the server's
//! CPU). A search meanwhile reads at most the messages of those seconds.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::index::{IndexDoc, StoreIndex};

/// How long changes to a store must pause before they are written.
const PAUSE: Duration = Duration::from_secs(1);
/// The longest a change waits while more keep coming.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// How often the writing thread looks.
const TICK: Duration = Duration::from_millis(100);
/// Beyond this many waiting changes for one store (its index held by
/// another process for long), or this much waiting text (mail coming in
/// faster than it is indexed: a document holds up to megabytes of text),
/// new documents are dropped: the catch-up adds what is missing once the
/// queue is empty, reading the messages again.
const MAX_PENDING: usize = 50_000;
const MAX_PENDING_BYTES: usize = 256 << 20;

pub(super) struct IndexQueue {
    pending: Arc<Mutex<HashMap<PathBuf, Pending>>>,
    /// Memory for a writer.
    memory: usize,
    writing: Once,
}

struct Pending {
    index: Arc<StoreIndex>,
    changes: Vec<Change>,
    /// The text the documents among `changes` hold.
    bytes: usize,
    /// Documents were dropped since the last write (said once).
    dropping: bool,
    first: Instant,
    last: Instant,
}

enum Change {
    Add {
        blob: i64,
        fingerprint: u64,
        doc: IndexDoc,
    },
    Delete(i64),
}

impl Change {
    fn text_bytes(&self) -> usize {
        match self {
            Change::Add { doc, .. } => doc.text_bytes(),
            Change::Delete(_) => 0,
        }
    }
}

impl IndexQueue {
    pub fn new(memory: usize) -> IndexQueue {
        IndexQueue {
            pending: Arc::default(),
            memory,
            writing: Once::new(),
        }
    }

    /// Queues the document of a new blob.
    pub fn add(&self, index: Arc<StoreIndex>, blob: i64, fingerprint: u64, doc: IndexDoc) {
        self.push(
            index,
            vec![Change::Add {
                blob,
                fingerprint,
                doc,
            }],
        );
    }

    /// Queues the removal of freed blobs' documents, and drops the
    /// waiting documents of those blobs (the removal stays: a rebuild may
    /// have indexed them meanwhile).
    pub fn delete(&self, index: Arc<StoreIndex>, blobs: &[i64]) {
        if let Some(entry) = lock(&self.pending).get_mut(index.dir()) {
            let freed: HashSet<i64> = blobs.iter().copied().collect();
            entry
                .changes
                .retain(|c| !matches!(c, Change::Add { blob, .. } if freed.contains(blob)));
            entry.bytes = entry.changes.iter().map(Change::text_bytes).sum();
        }
        self.push(index, blobs.iter().map(|&b| Change::Delete(b)).collect());
    }

    /// Whether changes to the index in `dir` wait to be written.
    pub fn holds(&self, dir: &std::path::Path) -> bool {
        lock(&self.pending).contains_key(dir)
    }

    fn push(&self, index: Arc<StoreIndex>, changes: Vec<Change>) {
        self.start_writing();
        let now = Instant::now();
        let mut pending = lock(&self.pending);
        let entry = pending
            .entry(index.dir().to_path_buf())
            .or_insert_with(|| Pending {
                index,
                changes: Vec::new(),
                bytes: 0,
                dropping: false,
                first: now,
                last: now,
            });
        let bytes: usize = changes.iter().map(Change::text_bytes).sum();
        let fits = entry.changes.len() + changes.len() <= MAX_PENDING
            && entry.bytes + bytes <= MAX_PENDING_BYTES;
        let only_deletions = bytes == 0 && changes.iter().all(|c| matches!(c, Change::Delete(_)));
        if !fits && !only_deletions {
            if !entry.dropping {
                entry.dropping = true;
                tracing::warn!(dir = %entry.index.dir().display(), "full-text index documents dropped: more wait than the queue holds; the catch-up adds them");
            }
            return;
        }
        entry.bytes += bytes;
        entry.changes.extend(changes);
        entry.last = now;
    }

    /// Starts the thread that writes due changes. It ends when the queue
    /// is dropped.
    fn start_writing(&self) {
        self.writing.call_once(|| {
            let pending = Arc::downgrade(&self.pending);
            let memory = self.memory;
            let started = std::thread::Builder::new()
                .name("index-queue".into())
                .spawn(move || write_while_alive(&pending, memory));
            if let Err(error) = started {
                tracing::error!(%error, "the full-text index queue could not start: changes wait for the next start");
            }
        });
    }
}

impl Drop for IndexQueue {
    /// Writes what is still waiting (the server is stopping).
    fn drop(&mut self) {
        write_due(&self.pending, self.memory, true);
    }
}

/// Indexing gives way to the sessions: this thread, and tantivy's
/// indexing threads it starts (they inherit it), run at nice 10. When mail
/// comes in faster than it is indexed, a delivery's or APPEND's answer
/// does not wait for the CPU the index takes; the index catches up when
/// it is quieter (searches meanwhile check the waiting messages
/// themselves, and the queue is bounded).
fn lower_priority() {
    // SAFETY: setpriority on the calling thread (its id from gettid) only
    // changes its scheduling priority.
    let failed = unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, 10) != 0
    };
    if failed {
        tracing::debug!("the index queue runs at normal priority: setpriority failed");
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write_while_alive(pending: &Weak<Mutex<HashMap<PathBuf, Pending>>>, memory: usize) {
    lower_priority();
    loop {
        std::thread::sleep(TICK);
        let Some(pending) = pending.upgrade() else {
            return;
        };
        write_due(&pending, memory, false);
    }
}

/// Writes the stores' changes that are due (all, if `all`). A store whose
/// index another process writes keeps its changes for the next try.
fn write_due(pending: &Mutex<HashMap<PathBuf, Pending>>, memory: usize, all: bool) {
    let due: Vec<Pending> = {
        let mut pending = lock(pending);
        let dirs: Vec<PathBuf> = pending
            .iter()
            .filter(|(_, p)| all || p.last.elapsed() >= PAUSE || p.first.elapsed() >= MAX_WAIT)
            .map(|(dir, _)| dir.clone())
            .collect();
        dirs.iter().filter_map(|dir| pending.remove(dir)).collect()
    };
    for mut batch in due {
        match write(&mut batch, memory) {
            Ok(true) => {}
            Ok(false) => requeue(pending, batch),
            Err(error) => {
                tracing::warn!(dir = %batch.index.dir().display(), %error, "writing queued full-text index changes failed; the catch-up adds what is missing");
            }
        }
    }
}

/// Writes one store's changes; false if another process writes its index.
fn write(batch: &mut Pending, memory: usize) -> Result<bool> {
    let Some(mut writer) = batch.index.try_writer(memory)? else {
        return Ok(false);
    };
    for change in batch.changes.drain(..) {
        match change {
            Change::Add {
                blob,
                fingerprint,
                doc,
            } => {
                // Replacing any document the blob has already: a rebuild
                // or reconciliation may have indexed it meanwhile.
                writer.delete(blob);
                writer.add(blob, fingerprint, doc)?;
            }
            Change::Delete(blob) => writer.delete(blob),
        }
    }
    writer.finish()?;
    batch.index.refresh()?;
    Ok(true)
}

/// Puts changes that could not be written back in front of newer ones.
fn requeue(pending: &Mutex<HashMap<PathBuf, Pending>>, mut batch: Pending) {
    let mut pending = lock(pending);
    let dir = batch.index.dir().to_path_buf();
    if let Some(newer) = pending.remove(&dir) {
        batch.changes.extend(newer.changes);
        batch.bytes += newer.bytes;
        batch.dropping |= newer.dropping;
        batch.last = newer.last;
    }
    pending.insert(dir, batch);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(bytes: usize) -> IndexDoc {
        IndexDoc {
            body_text: vec!["x".repeat(bytes)],
            ..IndexDoc::default()
        }
    }

    #[test]
    fn waiting_text_is_bounded_and_deletions_always_wait() {
        let dir = tempfile::tempdir().unwrap();
        let index = Arc::new(StoreIndex::open(dir.path()).unwrap());
        // No writer thread: what is queued stays queued.
        let queue = IndexQueue {
            pending: Arc::default(),
            memory: 0,
            writing: Once::new(),
        };
        queue.writing.call_once(|| {});
        let chunk = MAX_PENDING_BYTES / 4;
        for blob in 0..6 {
            queue.add(index.clone(), blob, 0, doc(chunk));
        }
        let waiting = |queue: &IndexQueue| {
            let pending = lock(&queue.pending);
            let entry = &pending[index.dir()];
            (entry.changes.len(), entry.bytes, entry.dropping)
        };
        assert_eq!(waiting(&queue), (4, 4 * chunk, true));
        // A deletion takes its blob's text out, and is kept whatever waits.
        queue.delete(index.clone(), &[0]);
        assert_eq!(waiting(&queue), (4, 3 * chunk, true));
        queue.add(index.clone(), 7, 0, doc(chunk));
        assert_eq!(waiting(&queue).0, 5);
    }
}
