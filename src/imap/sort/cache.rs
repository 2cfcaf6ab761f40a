//! The sort keys made for SORT and THREAD, kept for the next one: making
//! them means reading and parsing every found message's header block (0.6 s
//! for 100,000 messages), comparing them takes milliseconds. Kept by
//! content (the same for every folder and user that has the message), so
//! a folder that gains messages costs only theirs; shared by all sessions.
//! A content is named by its id and its hash: the catalog may give the id
//! of deleted content to new content.
//!
//! Bounded by a byte budget: new keys go into the current table; when it
//! holds half the budget, it becomes the previous table and the one before
//! is dropped; a key found in the previous table moves back into the
//! current one. So what the last sorts used stays, the rest goes, and the
//! two tables together hold at most the budget.
//!
//! Unused, it empties: [`KeyCache::age`], called every few minutes, turns
//! the current table into the previous one when no SORT or THREAD used the
//! cache since the last call, so two quiet calls leave nothing held.
//!
//! A SORT of a whole folder also leaves the order of its messages by the
//! string key it sorted by (their ranks, [`Ranked`]): the next SORT of the
//! same snapshot by that key compares numbers and looks up no string.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use imap_codec::imap_types::extensions::sort::SortKey;

use super::keys::{Part, Value};
use crate::archive::{Content, FolderSnapshot};

/// A content as the cache knows it: its id and the first bytes of its
/// SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentKey(i64, u64);

impl ContentKey {
    pub fn of(content: &Content) -> ContentKey {
        let sha = content.sha256();
        let mut first = [0; 8];
        first.copy_from_slice(&sha[..8]);
        ContentKey(content.id(), u64::from_ne_bytes(first))
    }
}

/// Ranked orders kept (8 bytes per message each).
const RANKED: usize = 8;

type Table = HashMap<(ContentKey, Part), Value, rustc_hash::FxBuildHasher>;

pub struct KeyCache {
    /// Bytes the tables may hold together (0: nothing is kept).
    budget: usize,
    tables: Mutex<Tables>,
    /// The last ones made, newest last.
    ranked: Mutex<Vec<Ranked>>,
    /// Used since the last [`KeyCache::age`].
    used: AtomicBool,
}

/// Each message of a snapshot's rank by one key, by position: equal ranks
/// for equal keys.
struct Ranked {
    snapshot: Weak<FolderSnapshot>,
    key: SortKey,
    ranks: Arc<[u64]>,
}

#[derive(Default)]
struct Tables {
    current: Table,
    current_bytes: usize,
    previous: Table,
    previous_bytes: usize,
}

impl KeyCache {
    pub fn new(budget: usize) -> KeyCache {
        KeyCache {
            budget,
            tables: Mutex::new(Tables::default()),
            ranked: Mutex::new(Vec::new()),
            used: AtomicBool::new(false),
        }
    }

    /// Lets go of what no SORT or THREAD used since the last call: the
    /// current table becomes the previous one (the previous one goes),
    /// and the kept orders go.
    pub fn age(&self) {
        if self.used.swap(false, Ordering::Relaxed) {
            return;
        }
        self.ranked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.previous = std::mem::take(&mut tables.current);
        tables.previous_bytes = std::mem::take(&mut tables.current_bytes);
    }

    /// The ranks of `snapshot`'s messages by `key`, if kept.
    pub fn ranks(&self, snapshot: &Arc<FolderSnapshot>, key: &SortKey) -> Option<Arc<[u64]>> {
        self.used.store(true, Ordering::Relaxed);
        let ranked = self.ranked.lock().unwrap_or_else(|e| e.into_inner());
        ranked
            .iter()
            .find(|r| &r.key == key && std::ptr::eq(r.snapshot.as_ptr(), Arc::as_ptr(snapshot)))
            .map(|r| r.ranks.clone())
    }

    /// Keeps the ranks of all of `snapshot`'s messages by `key`, instead
    /// of the oldest kept and those of snapshots no session holds.
    pub fn keep_ranks(&self, snapshot: &Arc<FolderSnapshot>, key: &SortKey, ranks: Arc<[u64]>) {
        if self.budget == 0 {
            return;
        }
        let mut ranked = self.ranked.lock().unwrap_or_else(|e| e.into_inner());
        ranked.retain(|r| r.snapshot.strong_count() > 0);
        if ranked.len() >= RANKED {
            ranked.remove(0);
        }
        ranked.push(Ranked {
            snapshot: Arc::downgrade(snapshot),
            key: key.clone(),
            ranks,
        });
    }

    /// The kept `part` of each content in `contents`, `None` where it is
    /// not kept.
    pub fn get(&self, contents: &[ContentKey], part: Part) -> Vec<Option<Value>> {
        self.used.store(true, Ordering::Relaxed);
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let mut moved = Vec::new();
        let found = contents
            .iter()
            .map(|&content| {
                let key = (content, part);
                if let Some(value) = tables.current.get(&key) {
                    return Some(value.clone());
                }
                let value = tables.previous.remove(&key)?;
                tables.previous_bytes -= value.weight();
                moved.push((key, value.clone()));
                Some(value)
            })
            .collect();
        for (key, value) in moved {
            tables.insert(key, value, self.budget);
        }
        found
    }

    /// Keeps made parts.
    pub fn put(&self, made: impl IntoIterator<Item = (ContentKey, Part, Value)>) {
        if self.budget == 0 {
            return;
        }
        self.used.store(true, Ordering::Relaxed);
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        for (content, part, value) in made {
            tables.insert((content, part), value, self.budget);
        }
    }

    /// Bytes held (about), for tests and logs.
    pub fn bytes(&self) -> usize {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.current_bytes + tables.previous_bytes
    }
}

impl Tables {
    fn insert(&mut self, key: (ContentKey, Part), value: Value, budget: usize) {
        self.current_bytes += value.weight();
        if let Some(old) = self.current.insert(key, value) {
            self.current_bytes -= old.weight();
        }
        if self.current_bytes > budget / 2 {
            self.previous = std::mem::take(&mut self.current);
            self.previous_bytes = std::mem::take(&mut self.current_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn content(id: i64) -> ContentKey {
        ContentKey(id, 7)
    }

    fn keys(ids: impl IntoIterator<Item = i64>) -> Vec<ContentKey> {
        ids.into_iter().map(content).collect()
    }

    fn text(n: usize) -> Value {
        Value::Text(Arc::from("x".repeat(n)))
    }

    #[test]
    fn what_was_used_last_stays_within_the_budget() {
        let weight = text(100).weight();
        let cache = KeyCache::new(weight * 20);
        cache.put((0..10).map(|c| (content(c), Part::From, text(100))));
        assert_eq!(
            cache.get(&keys([3, 4]), Part::From),
            [Some(text(100)), Some(text(100))]
        );
        assert_eq!(cache.get(&keys([3]), Part::To), [None]);
        // The same id with other bytes (deleted content's id reused).
        assert_eq!(cache.get(&[ContentKey(3, 8)], Part::From), [None]);
        // Ten more: the first ten become the previous table, still found.
        cache.put((10..20).map(|c| (content(c), Part::From, text(100))));
        assert!(
            cache
                .get(&keys(0..20), Part::From)
                .iter()
                .all(Option::is_some)
        );
        // Twenty more push out what was not used since.
        cache.put((20..40).map(|c| (content(c), Part::From, text(100))));
        assert_eq!(cache.get(&keys([0]), Part::From), [None]);
        assert!(cache.bytes() <= weight * 20, "{}", cache.bytes());
    }

    #[test]
    fn what_nobody_uses_goes() {
        let cache = KeyCache::new(1 << 20);
        cache.put(
            keys(0..10)
                .into_iter()
                .map(|k| (k, Part::Subject, text(10))),
        );
        let held = cache.bytes();
        assert!(held > 0);
        // Used since: kept.
        cache.age();
        assert_eq!(cache.bytes(), held);
        // Quiet: moved aside, still found (and brought back) if asked for.
        cache.age();
        assert_eq!(cache.bytes(), held);
        cache.age();
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn a_budget_of_nothing_keeps_nothing() {
        let cache = KeyCache::new(0);
        cache.put([(content(1), Part::Sent, Value::Sent(Some(5)))]);
        assert_eq!(cache.get(&keys([1]), Part::Sent), [None]);
        assert_eq!(cache.bytes(), 0);
    }
}
