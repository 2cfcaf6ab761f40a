//! The full-text index of each archive store (`index` module), kept in
//! step with the catalog: imports index what they file, the server
//! reconciles on start, `archimap index rebuild | verify` for the rest.
//! Searches ask the indexes and check themselves what they do not cover.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use super::index_queue::IndexQueue;
use super::stores::dir_size;
use super::verify::stopped;
use super::{Archives, Content, FolderName, FolderPath};
use crate::config::IndexConfig;
use crate::error::{Error, Result};
use crate::index::reconcile::{self, Differences};
use crate::index::{
    BlobSet, Fingerprints, IndexDoc, Limits, NotExtractedCounts, StoreIndex, TextQuery, Writer,
    fingerprint,
};
use crate::store::{BlobRecord, Removed, StoreRecord, StoreState};

/// The indexes of the stores, opened when first needed.
pub struct Indexes {
    data_dir: PathBuf,
    config: IndexConfig,
    /// By directory, not store id: a detached store's id may be reused.
    opened: Mutex<HashMap<PathBuf, Arc<StoreIndex>>>,
    /// Changes of single messages, written in batches.
    queue: IndexQueue,
}

impl Indexes {
    pub fn new(data_dir: PathBuf, config: IndexConfig) -> Indexes {
        Indexes {
            queue: IndexQueue::new(config.writer_memory_mb << 20),
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
            attachment_memory: self.config.attachment_memory_mb << 20,
        }
    }
}

/// What a text key of a SEARCH matched in a mailbox, by blob id.
#[derive(Debug, Default)]
pub struct TextAnswer {
    /// Found by the index, with scores.
    pub matched: HashMap<i64, f32>,
    /// The same blobs as a set: what a SEARCH asks of every message of a
    /// mailbox (a bit test, where `matched` hashes).
    pub found: BlobSet,
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
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexReport {
    pub store: String,
    /// Catalog blobs without a document yet (before a repair): the
    /// server's catch-up, the next import or a rebuild adds them, and
    /// searches read them meanwhile, so they are pending, not a fault.
    pub pending: u64,
    /// Documents of blobs the catalog does not hold (before a repair).
    pub extra: u64,
    /// Documents beyond the first for one blob.
    pub repeated: u64,
    pub added: u64,
    pub unreadable: u64,
    /// Attachments whose text the index lacks, by reason (after a repair).
    pub not_extracted: NotExtractedCounts,
}

/// A rebuild of one store's index, its arguments checked.
#[derive(Debug, Clone)]
pub struct IndexRebuild {
    store: StoreRecord,
    /// Only the messages of these folders; `None`: all of the store.
    folders: Option<Vec<i64>>,
}

/// One store's index, as `index list` and GetStoreIndexes show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexInfo {
    pub store_id: i64,
    pub store: String,
    pub path: PathBuf,
    /// Messages the catalog holds in the store.
    pub messages: u64,
    /// Messages the index has a document of; `None` for a disabled store,
    /// whose content is not available.
    pub documents: Option<u64>,
    /// Bytes on disk; `None` if the directory cannot be read.
    pub size: Option<u64>,
    /// Attachments whose text the index lacks, by reason; `None` for a
    /// disabled store.
    pub not_extracted: Option<NotExtractedCounts>,
}

/// Called with (done, total) as blobs are indexed.
pub type IndexProgress<'a> = &'a (dyn Fn(u64, u64) + Sync);

const PAGE: usize = 10_000;

/// Blobs indexed between two progress reports and checks of the stop flag.
const CHUNK: usize = 256;

impl Archives {
    /// The data directory (which the indexes, in store directories, are
    /// relative to, like the stores).
    pub(super) fn data_dir(&self) -> &Path {
        &self.indexes.data_dir
    }

    fn index_dir(&self, store: &StoreRecord) -> PathBuf {
        self.store_dir(&store.path).join("index")
    }

    /// The index of `store`, which lives in the store's directory.
    pub(super) fn store_index(&self, store: &StoreRecord) -> Result<Arc<StoreIndex>> {
        let mut opened = self
            .indexes
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let dir = self.index_dir(store);
        if let Some(index) = opened.get(&dir) {
            return Ok(index.clone());
        }
        let index = Arc::new(StoreIndex::open(&dir)?);
        opened.insert(dir, index.clone());
        Ok(index)
    }

    /// Closes a detached store's index: its directory may go, or come back
    /// with other content.
    pub(super) fn forget_index(&self, store: &StoreRecord) {
        self.indexes
            .opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.index_dir(store));
    }

    /// The writer of a store's index, waiting while another process
    /// writes it.
    pub(super) fn index_writer(&self, store: &StoreRecord) -> Result<Writer> {
        self.index_writer_unless_stopped(store, &AtomicBool::new(false))
    }

    /// The writer of a store's index, waiting while another process writes
    /// it unless `stop` is set meanwhile.
    fn index_writer_unless_stopped(
        &self,
        store: &StoreRecord,
        stop: &AtomicBool,
    ) -> Result<Writer> {
        let index = self.store_index(store)?;
        let mut logged = false;
        loop {
            stopped(stop)?;
            if let Some(writer) = index.try_writer(self.indexes.memory())? {
                return Ok(writer);
            }
            if !logged {
                tracing::info!(store = %store.name, "waiting for another process to finish writing the full-text index");
                logged = true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the index holds of a message (done while importing).
    pub(super) fn index_document(&self, raw: &[u8]) -> IndexDoc {
        IndexDoc::extract(raw, &self.indexes.limits())
    }

    /// A message's text read from its bytes, for the messages a search
    /// checks itself.
    pub fn message_text(&self, content: &super::Content) -> Result<IndexDoc> {
        self.blob_text(&content.0)
    }

    /// A message's text read from its bytes (for indexing).
    fn blob_text(&self, blob: &BlobRecord) -> Result<IndexDoc> {
        let mut raw = Vec::with_capacity(blob.size as usize);
        self.open_blob(blob)?
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
    /// the writer. Stopped, it drops the writer: what it added since the
    /// writer's last commit is discarded.
    fn add_documents(
        &self,
        store: &StoreRecord,
        mut writer: Writer,
        wanted: &BlobSet,
        stop: &AtomicBool,
        progress: IndexProgress,
    ) -> Result<reconcile::Added> {
        let mut total = reconcile::Added::default();
        let read = |blob: &BlobRecord| self.blob_text(blob);
        self.for_store_blobs(store, &mut |page| {
            let blobs: Vec<BlobRecord> = page
                .iter()
                .filter(|b| wanted.contains(b.id))
                .cloned()
                .collect();
            for chunk in blobs.chunks(CHUNK) {
                stopped(stop)?;
                let added = reconcile::add(&mut writer, chunk, &read)?;
                total.added += added.added;
                total.unreadable += added.unreadable;
                progress(total.added + total.unreadable, wanted.len() as u64);
            }
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
            self.reconcile_index(&store)?;
        }
        Ok(())
    }

    /// Brings the index of each store whose document count differs from
    /// the catalog's message count in step with it: what a crash (of an
    /// import, of this server before its queued changes were written) left
    /// out is indexed without a restart. Cheap when nothing differs.
    pub fn catch_up_indexes(&self) -> Result<()> {
        for store in self.readable_stores(None)? {
            self.catch_up_index(&store)?;
        }
        Ok(())
    }

    /// [`Archives::catch_up_indexes`] for one store.
    pub(super) fn catch_up_index(&self, store: &StoreRecord) -> Result<()> {
        let index = self.store_index(store)?;
        if self.indexes.queue.holds(index.dir()) {
            // This process's own changes, written within seconds.
            return Ok(());
        }
        index.refresh()?;
        let documents = index.snapshot()?.covered().iter().count() as u64;
        if documents != self.catalog().store_blob_count(store.id)? {
            self.reconcile_index(store)?;
        }
        Ok(())
    }

    /// Brings one store's index in step with the catalog, unless another
    /// process writes it.
    pub(super) fn reconcile_index(&self, store: &StoreRecord) -> Result<()> {
        let index = self.store_index(store)?;
        let Some(mut writer) = index.try_writer(self.indexes.memory())? else {
            tracing::info!(store = %store.name, "full-text index busy (another process writes it); not reconciled");
            return Ok(());
        };
        let differences = self.compare(store, &index)?;
        for &blob in &differences.extra {
            writer.delete(blob);
        }
        let never = AtomicBool::new(false);
        let added = self.add_documents(store, writer, &differences.missing, &never, &|_, _| {})?;
        index.refresh()?;
        tracing::info!(
            store = %store.name,
            added = added.added,
            removed = differences.extra.len(),
            unreadable = added.unreadable,
            "full-text index reconciled"
        );
        Ok(())
    }

    /// Indexes every message of a store (or of all) anew. Set `stop` to end
    /// it early with the error `cancelled`.
    pub fn rebuild_indexes(
        &self,
        only: Option<&str>,
        stop: &AtomicBool,
        progress: IndexProgress,
    ) -> Result<Vec<IndexReport>> {
        self.readable_stores(only)?
            .iter()
            .map(|store| self.rebuild_index(store, None, stop, progress))
            .collect()
    }

    /// Checks a rebuild of a store's index, or only of the messages of one
    /// folder (`archive` or `archive/path`, with its sub-folders) in it:
    /// the index is per store, so that replaces the documents of those
    /// messages. [`Archives::rebuild_store_index`] runs it.
    pub fn index_rebuild(&self, store: &str, folder: Option<&str>) -> Result<IndexRebuild> {
        let store = self.store(store)?;
        if store.state == StoreState::Disabled {
            return Err(Error::Refused(format!(
                "archive store {} is disabled: its content is not available to index",
                store.name
            )));
        }
        let folders = folder
            .map(|folder| self.folders_in_store(&store, folder))
            .transpose()?;
        Ok(IndexRebuild { store, folders })
    }

    /// The folders `folder` names (`archive` or `archive/path`, with
    /// sub-folders) that hold messages in `store`; there must be some.
    fn folders_in_store(&self, store: &StoreRecord, folder: &str) -> Result<Vec<i64>> {
        let name: FolderName = folder.parse()?;
        let archive = self.archive(&name.archive)?;
        let path = name.path.as_ref().map(FolderPath::as_str);
        let named: Vec<i64> = self
            .catalog()
            .folders(archive.id)?
            .into_iter()
            .filter(|f| {
                path.is_none_or(|p| {
                    f.path == p || f.path.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
                })
            })
            .map(|f| f.id)
            .collect();
        if named.is_empty() {
            return Err(Error::NotFound(format!("folder {folder}")));
        }
        let holding = self.catalog().folders_in_stores(&[store.id])?;
        let folders: Vec<i64> = named.into_iter().filter(|f| holding.contains(f)).collect();
        if folders.is_empty() {
            return Err(Error::Invalid(format!(
                "folder {folder} holds no messages in archive store {}",
                store.name
            )));
        }
        Ok(folders)
    }

    /// Runs a checked rebuild. Set `stop` to end it early with the error
    /// `cancelled`; a rebuild of a whole store then leaves the index with
    /// what it committed so far (searches check the rest themselves, and
    /// the server's reconciliation completes it).
    pub fn rebuild_store_index(
        &self,
        rebuild: &IndexRebuild,
        stop: &AtomicBool,
        progress: IndexProgress,
    ) -> Result<IndexReport> {
        let store = &rebuild.store;
        let wanted = match &rebuild.folders {
            Some(folders) => {
                let mut blobs = BlobSet::default();
                for &folder in folders {
                    for message in self.catalog().messages(folder)? {
                        if message.blob.store_id == store.id {
                            blobs.insert(message.blob.id);
                        }
                    }
                }
                Some(blobs)
            }
            None => None,
        };
        self.rebuild_index(store, wanted, stop, progress)
    }

    /// Replaces the documents of `only` (default: all blobs of the store).
    fn rebuild_index(
        &self,
        store: &StoreRecord,
        only: Option<BlobSet>,
        stop: &AtomicBool,
        progress: IndexProgress,
    ) -> Result<IndexReport> {
        let mut writer = self.index_writer_unless_stopped(store, stop)?;
        let wanted = match only {
            Some(blobs) => {
                blobs.iter().for_each(|blob| writer.delete(blob));
                blobs
            }
            None => {
                let mut all = BlobSet::default();
                self.for_store_blobs(store, &mut |page| {
                    page.iter().for_each(|b| {
                        all.insert(b.id);
                    });
                    Ok(())
                })?;
                writer.delete_all()?;
                all
            }
        };
        let added = self.add_documents(store, writer, &wanted, stop, progress)?;
        let index = self.store_index(store)?;
        index.refresh()?;
        Ok(IndexReport {
            store: store.name.clone(),
            pending: 0,
            extra: 0,
            repeated: 0,
            added: added.added,
            unreadable: added.unreadable,
            not_extracted: index.snapshot()?.not_extracted()?,
        })
    }

    /// Compares the index of a store (or of every one) with the catalog;
    /// changes nothing. Set `stop` to end it early with the error
    /// `cancelled`.
    pub fn verify_indexes(
        &self,
        only: Option<&str>,
        stop: &AtomicBool,
    ) -> Result<Vec<IndexReport>> {
        let mut reports = Vec::new();
        for store in self.readable_stores(only)? {
            stopped(stop)?;
            let index = self.store_index(&store)?;
            let differences = self.compare(&store, &index)?;
            let snapshot = index.snapshot()?;
            reports.push(IndexReport {
                store: store.name.clone(),
                pending: differences.missing.len() as u64,
                extra: differences.extra.len() as u64,
                repeated: snapshot.repeated()?,
                added: 0,
                unreadable: 0,
                not_extracted: snapshot.not_extracted()?,
            });
        }
        Ok(reports)
    }

    /// The index of a store (or of every one), with its size and how many
    /// documents and messages it has.
    pub fn index_info(&self, only: Option<&str>) -> Result<Vec<IndexInfo>> {
        let stores = match only {
            Some(name) => vec![self.store(name)?],
            None => self.stores()?,
        };
        stores
            .into_iter()
            .map(|store| {
                let (documents, not_extracted) = match store.state {
                    StoreState::Disabled => (None, None),
                    _ => {
                        let index = self.store_index(&store)?;
                        index.refresh()?;
                        let snapshot = index.snapshot()?;
                        (
                            Some(snapshot.covered().iter().count() as u64),
                            Some(snapshot.not_extracted()?),
                        )
                    }
                };
                let path = self.index_dir(&store);
                Ok(IndexInfo {
                    store_id: store.id,
                    messages: self.catalog().store_blob_count(store.id)?,
                    documents,
                    size: dir_size(&path).ok(),
                    not_extracted,
                    path,
                    store: store.name,
                })
            })
            .collect()
    }

    /// Queues the document of a blob filed on its own (`index_queue`).
    pub(super) fn queue_document(
        &self,
        index: &Arc<StoreIndex>,
        blob: i64,
        fingerprint: u64,
        doc: IndexDoc,
    ) {
        self.indexes
            .queue
            .add(index.clone(), blob, fingerprint, doc);
    }

    /// Removes the documents of the blobs an expunge freed (after the
    /// catalog transaction that removed them), soon (`index_queue`).
    /// Meanwhile they answer nothing: no mailbox holds their blobs, and a
    /// reused id has other bytes.
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
            match self.store_index(&store) {
                Ok(index) => self.indexes.queue.delete(index, &mine),
                Err(error) => {
                    tracing::warn!(store = %store.name, %error, "expunged messages left in the full-text index")
                }
            }
        }
    }

    /// Answers text keys for the messages of a mailbox from the indexes
    /// of their stores, and their written dates if `sent`. Messages of a
    /// disabled store match no text key.
    pub fn search_text<'c>(
        &self,
        contents: impl IntoIterator<Item = &'c Content>,
        queries: &[TextQuery],
        scored: bool,
        sent: bool,
    ) -> Result<TextSearch> {
        // By store, in the order met; a mailbox's messages are mostly in
        // one or two stores, so a search beats hashing every message.
        let mut by_store: Vec<(i64, Vec<&BlobRecord>)> = Vec::new();
        for content in contents {
            let blob = &content.0;
            let group = match by_store.iter().position(|(id, _)| *id == blob.store_id) {
                Some(group) => group,
                None => {
                    by_store.push((blob.store_id, Vec::new()));
                    by_store.len() - 1
                }
            };
            by_store[group].1.push(blob);
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
                answer.found.extend(hits.matched.keys().copied());
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
