//! The full-text index of each archive store (`index` module), kept in
//! step with the catalog: imports index what they file, the server
//! reconciles on start, `archimap index rebuild | verify` for the rest.
//! Searches ask the indexes and check themselves what they do not cover.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;

use super::{Archives, MailboxMessage};
use crate::config::IndexConfig;
use crate::error::Result;
use crate::index::reconcile::{self, Differences};
use crate::index::{
    BlobSet, Fingerprints, IndexDoc, Limits, StoreIndex, TextQuery, Writer, fingerprint,
};
use crate::store::{BlobRecord, Removed, StoreRecord, StoreState};

/// The indexes of the stores, opened when first needed.
pub struct Indexes {
    data_dir: PathBuf,
    config: IndexConfig,
    opened: Mutex<HashMap<i64, Arc<StoreIndex>>>,
}

impl Indexes {
    pub fn new(data_dir: PathBuf, config: IndexConfig) -> Indexes {
        Indexes {
            data_dir,
            config,
            opened: Mutex::default(),
        }
    }

    /// Memory for an index writer.
    fn memory(&self) -> usize {
        self.config.writer_memory_mb << 20
    }

    fn limits(&self) -> Limits {
        Limits {
            attachment_bytes: self.config.attachment_max_mb << 20,
            attachment_time: Duration::from_secs(self.config.attachment_seconds),
        }
    }
}

/// What a text key of a SEARCH matched in a mailbox, by blob id.
#[derive(Debug, Default)]
pub struct TextAnswer {
    /// Found by the index, with scores.
    pub matched: HashMap<i64, f32>,
    /// Not known to the index (not indexed yet, or held only in part):
    /// the search reads these messages itself.
    pub check: BlobSet,
}

/// The answers to a SEARCH's text keys, and the written dates it needs.
#[derive(Debug, Default)]
pub struct TextSearch {
    /// One per query, in order.
    pub answers: Vec<TextAnswer>,
    /// The Date header's day of the messages the indexes cover (asked
    /// for SENT* keys).
    pub sent: HashMap<i64, Option<NaiveDate>>,
}

/// One store's index, compared with the catalog or rebuilt.
#[derive(Debug, Clone)]
pub struct IndexReport {
    pub store: String,
    /// Catalog blobs without a document (before a repair).
    pub missing: u64,
    /// Documents of blobs the catalog does not hold (before a repair).
    pub extra: u64,
    /// Documents beyond the first for one blob.
    pub repeated: u64,
    pub added: u64,
    pub unreadable: u64,
}

/// Called with (done, total) as blobs are indexed.
pub type IndexProgress<'a> = &'a (dyn Fn(u64, u64) + Sync);

const PAGE: usize = 10_000;

impl Archives {
    /// The index of `store`, which lives in the store's directory.
    fn store_index(&self, store: &StoreRecord) -> Result<Arc<StoreIndex>> {
        let mut opened = self
            .indexes
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(index) = opened.get(&store.id) {
            return Ok(index.clone());
        }
        let dir = self.indexes.data_dir.join(&store.path).join("index");
        let index = Arc::new(StoreIndex::open(&dir)?);
        opened.insert(store.id, index.clone());
        Ok(index)
    }

    /// The writer of a store's index, waiting while another process
    /// writes it.
    pub(super) fn index_writer(&self, store: &StoreRecord) -> Result<Writer> {
        self.store_index(store)?.writer(self.indexes.memory())
    }

    /// What the index holds of a message (done while importing).
    pub(super) fn index_document(&self, raw: &[u8]) -> IndexDoc {
        IndexDoc::extract(raw, &self.indexes.limits())
    }

    /// A message's text read from its bytes (for indexing, and for the
    /// messages a search checks itself).
    pub fn message_text(&self, blob: &BlobRecord) -> Result<IndexDoc> {
        let mut raw = Vec::with_capacity(blob.size as usize);
        self.open_message(blob)?
            .read_to_end(&mut raw)
            .map_err(|e| crate::error::Error::io("reading a message", e))?;
        Ok(self.index_document(&raw))
    }

    /// The blobs of `store` in the catalog, page by page.
    fn for_store_blobs(
        &self,
        store: &StoreRecord,
        each: &mut dyn FnMut(&[BlobRecord]) -> Result<()>,
    ) -> Result<()> {
        let mut after = 0;
        loop {
            let page = self.catalog().blobs_after(after, PAGE)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            let mine: Vec<BlobRecord> = page
                .into_iter()
                .filter(|b| b.store_id == store.id)
                .collect();
            each(&mine)?;
        }
    }

    fn compare(&self, store: &StoreRecord, index: &StoreIndex) -> Result<Differences> {
        let mut catalog = Fingerprints::default();
        self.for_store_blobs(store, &mut |page| {
            page.iter().for_each(|b| {
                catalog.insert(b.id, fingerprint(&b.sha256));
            });
            Ok(())
        })?;
        index.refresh()?;
        Ok(reconcile::differences(&catalog, &index.snapshot()?))
    }

    /// Adds the documents of the catalog blobs in `wanted`, and finishes
    /// the writer.
    fn add_documents(
        &self,
        store: &StoreRecord,
        mut writer: Writer,
        wanted: &BlobSet,
        progress: IndexProgress,
    ) -> Result<reconcile::Added> {
        let mut total = reconcile::Added::default();
        let read = |blob: &BlobRecord| self.message_text(blob);
        self.for_store_blobs(store, &mut |page| {
            let blobs: Vec<BlobRecord> = page
                .iter()
                .filter(|b| wanted.contains(b.id))
                .cloned()
                .collect();
            let added = reconcile::add(&mut writer, &blobs, &read)?;
            total.added += added.added;
            total.unreadable += added.unreadable;
            progress(total.added + total.unreadable, wanted.len() as u64);
            Ok(())
        })?;
        writer.finish()?;
        Ok(total)
    }

    /// Stores whose content is available (a disabled store is skipped).
    fn readable_stores(&self, only: Option<&str>) -> Result<Vec<StoreRecord>> {
        let stores = match only {
            Some(name) => vec![self.store(name)?],
            None => self.stores()?,
        };
        Ok(stores
            .into_iter()
            .filter(|s| s.state != StoreState::Disabled)
            .collect())
    }

    /// Brings every index in step with the catalog (on server start). An
    /// index another process is writing (an import, a rebuild) is skipped:
    /// that process keeps it complete.
    pub fn reconcile_indexes(&self) -> Result<()> {
        for store in self.readable_stores(None)? {
            let index = self.store_index(&store)?;
            let Some(mut writer) = index.try_writer(self.indexes.memory())? else {
                tracing::info!(store = %store.name, "full-text index busy (another process writes it); not reconciled");
                continue;
            };
            let differences = self.compare(&store, &index)?;
            for &blob in &differences.extra {
                writer.delete(blob);
            }
            let added = self.add_documents(&store, writer, &differences.missing, &|_, _| {})?;
            index.refresh()?;
            tracing::info!(
                store = %store.name,
                added = added.added,
                removed = differences.extra.len(),
                unreadable = added.unreadable,
                "full-text index reconciled"
            );
        }
        Ok(())
    }

    /// Indexes every message of a store (or of all) anew.
    pub fn rebuild_indexes(
        &self,
        only: Option<&str>,
        progress: IndexProgress,
    ) -> Result<Vec<IndexReport>> {
        let mut reports = Vec::new();
        for store in self.readable_stores(only)? {
            let mut writer = self.index_writer(&store)?;
            let mut all = BlobSet::default();
            self.for_store_blobs(&store, &mut |page| {
                page.iter().for_each(|b| {
                    all.insert(b.id);
                });
                Ok(())
            })?;
            writer.delete_all()?;
            let added = self.add_documents(&store, writer, &all, progress)?;
            self.store_index(&store)?.refresh()?;
            reports.push(IndexReport {
                store: store.name.clone(),
                missing: 0,
                extra: 0,
                repeated: 0,
                added: added.added,
                unreadable: added.unreadable,
            });
        }
        Ok(reports)
    }

    /// Compares every index with the catalog; changes nothing.
    pub fn verify_indexes(&self) -> Result<Vec<IndexReport>> {
        let mut reports = Vec::new();
        for store in self.readable_stores(None)? {
            let index = self.store_index(&store)?;
            let differences = self.compare(&store, &index)?;
            reports.push(IndexReport {
                store: store.name.clone(),
                missing: differences.missing.len() as u64,
                extra: differences.extra.len() as u64,
                repeated: index.snapshot()?.repeated()?,
                added: 0,
                unreadable: 0,
            });
        }
        Ok(reports)
    }

    /// Removes the documents of the blobs an expunge freed (after the
    /// catalog transaction that removed them). Best effort: an index
    /// another process is writing keeps them until it is reconciled, and
    /// meanwhile they answer nothing (no mailbox holds their blobs, and a
    /// reused id has other bytes).
    pub fn unindex(&self, freed: &[Removed]) {
        let stores = match self.readable_stores(None) {
            Ok(stores) => stores,
            Err(error) => {
                return tracing::warn!(%error, "expunged messages left in the full-text index");
            }
        };
        for store in stores {
            let mine: Vec<i64> = freed
                .iter()
                .filter(|r| r.freed && r.blob.store_id == store.id)
                .map(|r| r.blob.id)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let done = self.store_index(&store).and_then(|index| {
                let Some(mut writer) = index.try_writer(self.indexes.memory())? else {
                    return Ok(false);
                };
                mine.iter().for_each(|&blob| writer.delete(blob));
                writer.commit()?;
                Ok(true)
            });
            match done {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(store = %store.name, "full-text index busy: expunged messages go at its next reconciliation")
                }
                Err(error) => {
                    tracing::warn!(store = %store.name, %error, "expunged messages left in the full-text index")
                }
            }
        }
    }

    /// Answers text keys for the messages of a mailbox from the indexes
    /// of their stores, and their written dates if `sent`. Messages of a
    /// disabled store match no text key.
    pub fn search_text(
        &self,
        messages: &[MailboxMessage],
        queries: &[TextQuery],
        scored: bool,
        sent: bool,
    ) -> Result<TextSearch> {
        let mut by_store: HashMap<i64, Vec<&BlobRecord>> = HashMap::new();
        for m in messages {
            by_store.entry(m.blob.store_id).or_default().push(&m.blob);
        }
        let stores = self.stores()?;
        let mut found = TextSearch {
            answers: queries.iter().map(|_| TextAnswer::default()).collect(),
            sent: HashMap::new(),
        };
        for (store_id, blobs) in by_store {
            let Some(store) = stores
                .iter()
                .find(|s| s.id == store_id && s.state != StoreState::Disabled)
            else {
                continue;
            };
            let snapshot = self.store_index(store)?.snapshot()?;
            let (covered, uncovered): (Vec<&BlobRecord>, Vec<&BlobRecord>) = blobs
                .into_iter()
                .partition(|b| snapshot.covers(b.id, fingerprint(&b.sha256)));
            let blobs: BlobSet = covered.iter().map(|b| b.id).collect();
            if sent {
                found.sent.extend(snapshot.sent(&blobs)?);
            }
            let blobs = Arc::new(blobs);
            for (query, answer) in queries.iter().zip(&mut found.answers) {
                let hits = snapshot.search(query, &blobs, scored)?;
                answer.matched.extend(hits.matched);
                hits.unsure
                    .iter()
                    .chain(uncovered.iter().map(|b| b.id))
                    .for_each(|b| {
                        answer.check.insert(b);
                    });
            }
        }
        Ok(found)
    }
}
