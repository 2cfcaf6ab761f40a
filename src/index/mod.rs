//! The full-text index: one tantivy index per archive store (in the
//! store's directory, `index/`), one document per stored message (blob),
//! keyed by the blob id. Copies and moves between folders never touch it;
//! a blob's document goes when its last reference does.
//!
//! The catalog is the truth and the index follows it: documents are added
//! after the catalog transaction that made their blobs visible commits, and
//! [`reconcile`] repairs what a crash left out of step (missing documents
//! added, documents of unknown blobs deleted). Until then a search checks
//! the messages the index does not cover itself ([`Snapshot::covers`]), so
//! its answer is complete at every moment.

mod analysis;
mod blobset;
mod extract;
mod matching;
mod query;
pub mod reconcile;
mod schema;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

pub use blobset::{BlobSet, Fingerprints, fingerprint};
pub use extract::{
    HeaderField, IndexDoc, Limits, NotExtracted, NotExtractedCounts, preview, serve_worker,
    stop_idle_workers,
};
pub use query::{Hits, TextKey, TextQuery};
pub use writer::Writer;

use crate::error::{Error, Result};
use schema::Fields;

/// A failure of the index, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("full-text index {context}: {source}")]
pub struct IndexError {
    context: String,
    #[source]
    source: tantivy::TantivyError,
}

/// Wraps a tantivy error as a storage error saying what failed.
fn failed(context: impl Into<String>) -> impl FnOnce(tantivy::TantivyError) -> Error {
    let context = context.into();
    move |source| Error::Storage(Box::new(IndexError { context, source }))
}

/// The file that says which version of the index format a directory holds.
const VERSION_FILE: &str = "archimap-index-version";

/// One archive store's index.
pub struct StoreIndex {
    dir: PathBuf,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    /// The blobs the current searcher covers, by searcher generation.
    covered: Mutex<Option<(u64, Arc<Fingerprints>)>>,
}

/// Opens the index in `dir`, if it is one of this version.
fn open_existing(dir: &Path) -> Option<Index> {
    let version = std::fs::read_to_string(dir.join(VERSION_FILE)).ok()?;
    if version.trim() != schema::VERSION.to_string() {
        return None;
    }
    let index = Index::open_in_dir(dir).ok()?;
    (index.schema() == schema::schema().0).then_some(index)
}

/// A name beside `dir` that no other process uses.
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("index");
    dir.with_file_name(format!(
        ".{name}.{what}-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ))
}

/// Creates an empty index at `dir`. It is built beside it and renamed into
/// place whole, so another process never sees (and takes for broken) a
/// half-made one; if another process created `dir` meanwhile, theirs stays.
fn create(dir: &Path) -> Result<()> {
    let temp = sibling(dir, "new");
    std::fs::create_dir_all(&temp)
        .map_err(|e| Error::io(format!("creating {}", temp.display()), e))?;
    let built = MmapDirectory::open(&temp)
        .map_err(|e| failed(format!("opening {}", temp.display()))(e.into()))
        .and_then(|directory| {
            Index::create(directory, schema::schema().0, Default::default())
                .map_err(failed(format!("creating {}", temp.display())))
        })
        .and_then(|_| {
            std::fs::write(temp.join(VERSION_FILE), schema::VERSION.to_string())
                .map_err(|e| Error::io(format!("writing {}", temp.display()), e))
        });
    let placed = built.and_then(|()| match std::fs::rename(&temp, dir) {
        Ok(()) => Ok(()),
        Err(_) if open_existing(dir).is_some() => Ok(()), // another process's
        Err(e) => Err(Error::io(format!("placing {}", dir.display()), e)),
    });
    if temp.exists() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    placed
}

/// Moves an unusable index out of the way and removes it. Another process
/// may have done so already.
fn set_aside(dir: &Path) -> Result<()> {
    let aside = sibling(dir, "old");
    match std::fs::rename(dir, &aside) {
        Ok(()) => std::fs::remove_dir_all(&aside)
            .map_err(|e| Error::io(format!("removing {}", aside.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(format!("moving {} aside", dir.display()), e)),
    }
}

impl StoreIndex {
    /// Opens the index in `dir`, creating it if there is none. An index
    /// that cannot be opened, or of another version, is replaced by an
    /// empty one: the catalog has everything to fill it again.
    pub fn open(dir: &Path) -> Result<StoreIndex> {
        let index = match open_existing(dir) {
            Some(index) => index,
            None => {
                if dir.exists() {
                    tracing::warn!(dir = %dir.display(), "full-text index unreadable or of another version: rebuilding it");
                    set_aside(dir)?;
                }
                create(dir)?;
                open_existing(dir).ok_or_else(|| {
                    Error::Corrupt(format!(
                        "the new full-text index {} did not open",
                        dir.display()
                    ))
                })?
            }
        };
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(failed(format!("reading {}", dir.display())))?;
        Ok(StoreIndex {
            dir: dir.to_path_buf(),
            fields: schema::schema().1,
            index,
            reader,
            covered: Mutex::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The index's writer, or `None` while another process writes the
    /// index (one at a time).
    pub fn try_writer(&self, memory: usize) -> Result<Option<Writer>> {
        match self.index.writer(memory) {
            Ok(inner) => Ok(Some(Writer::new(inner, self.fields))),
            Err(tantivy::TantivyError::LockFailure(..)) => Ok(None),
            Err(e) => Err(failed(format!("writing {}", self.dir.display()))(e)),
        }
    }

    /// Makes the latest commit visible now (it would be within a second).
    pub fn refresh(&self) -> Result<()> {
        self.reader
            .reload()
            .map_err(failed(format!("reloading {}", self.dir.display())))
    }

    /// A consistent view of the index as of its last commit.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        let mut covered = self.covered.lock().unwrap_or_else(|p| p.into_inner());
        let blobs = match &*covered {
            Some((g, blobs)) if *g == generation => blobs.clone(),
            _ => {
                let blobs = Arc::new(indexed_blobs(&searcher)?.0);
                *covered = Some((generation, blobs.clone()));
                blobs
            }
        };
        Ok(Snapshot {
            searcher,
            fields: self.fields,
            covered: blobs,
        })
    }
}

/// The blobs a searcher has documents for, and how many documents repeat
/// a blob.
fn indexed_blobs(searcher: &Searcher) -> Result<(Fingerprints, u64)> {
    let mut blobs = Fingerprints::default();
    let mut repeated = 0;
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let ids = fast.u64("blob").map_err(failed("reading blob ids"))?;
        let prints = fast
            .u64("fingerprint")
            .map_err(failed("reading fingerprints"))?;
        for doc in segment.doc_ids_alive() {
            if let (Some(id), Some(print)) = (ids.first(doc), prints.first(doc)) {
                repeated += u64::from(!blobs.insert(id as i64, print));
            }
        }
    }
    Ok((blobs, repeated))
}

/// The index as of one commit.
pub struct Snapshot {
    searcher: Searcher,
    fields: Fields,
    covered: Arc<Fingerprints>,
}

impl Snapshot {
    /// Whether the index has the document of this blob (id and bytes).
    pub fn covers(&self, blob: i64, fingerprint: u64) -> bool {
        self.covered.matches(blob, fingerprint)
    }

    /// Every blob with a document.
    pub fn covered(&self) -> &Fingerprints {
        &self.covered
    }

    /// The day written in the Date header of each blob of `within` the
    /// index covers (`None`: no valid Date).
    pub fn sent(&self, within: &BlobSet) -> Result<HashMap<i64, Option<NaiveDate>>> {
        let mut days = HashMap::new();
        for segment in self.searcher.segment_readers() {
            let fast = segment.fast_fields();
            let blobs = fast.u64("blob").map_err(failed("reading blob ids"))?;
            let sent = fast.i64("sent").map_err(failed("reading dates"))?;
            for doc in segment.doc_ids_alive() {
                if let Some(blob) = blobs.first(doc).map(|b| b as i64)
                    && within.contains(blob)
                {
                    let day = sent.first(doc).and_then(writer::date);
                    days.insert(blob, day);
                }
            }
        }
        Ok(days)
    }

    /// The attachments whose text the documents lack, by reason.
    pub fn not_extracted(&self) -> Result<NotExtractedCounts> {
        let mut counts = NotExtractedCounts::default();
        for segment in self.searcher.segment_readers() {
            let reasons = segment
                .fast_fields()
                .u64("not_extracted")
                .map_err(failed("reading extraction outcomes"))?;
            for doc in segment.doc_ids_alive() {
                reasons
                    .values_for_doc(doc)
                    .filter_map(NotExtracted::from_code)
                    .for_each(|reason| counts.add(reason));
            }
        }
        Ok(counts)
    }

    /// Documents beyond the first for the same blob (there should be none).
    pub fn repeated(&self) -> Result<u64> {
        Ok(indexed_blobs(&self.searcher)?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(from: &[&str], subject: &str, body: &[&str]) -> IndexDoc {
        IndexDoc {
            fields: vec![
                HeaderField {
                    name: "from".into(),
                    texts: from.iter().map(|t| t.to_string()).collect(),
                },
                HeaderField {
                    name: "subject".into(),
                    texts: vec![subject.into()],
                },
                // Indexed in its first 256 characters only.
                HeaderField {
                    name: "references".into(),
                    texts: vec![subject.into()],
                },
                // Not indexed beyond its presence.
                HeaderField {
                    name: "received".into(),
                    texts: vec![subject.into()],
                },
            ],
            header_text: vec![format!("from: {}", from[0]), format!("subject: {subject}")],
            body_text: body.iter().map(|t| analysis::fold(t)).collect(),
            sent: None,
            not_extracted: Vec::new(),
        }
    }

    /// The index answers every key as the in-memory rules do.
    #[test]
    fn index_and_memory_agree() {
        let dir = tempfile::tempdir().unwrap();
        let index = StoreIndex::open(dir.path()).unwrap();
        let long = format!(" {}needle", "x".repeat(300));
        let docs = [
            doc(
                &[" \"ann\" <ann@ex.org>", "ann <ann@ex.org>"],
                " hello wörld",
                &["Résumé attached, see the invoices."],
            ),
            doc(
                &[" bob <b@ex.org>"],
                " re: invoice 42",
                &["東京の会議", "second value"],
            ),
            doc(&[" carol <c@ex.org>"], &long, &["invoice attached", "see"]),
        ];
        let mut writer = index.try_writer(50 << 20).unwrap().unwrap();
        for (id, d) in docs.iter().enumerate() {
            writer.add(id as i64 + 1, 7, d.clone()).unwrap();
        }
        writer.commit().unwrap();
        index.refresh().unwrap();
        let snapshot = index.snapshot().unwrap();
        let all: Arc<BlobSet> = Arc::new((1..=3).collect());
        let needles = [
            "",
            "a",
            "an",
            "ann",
            "n <",
            "@ex.org",
            "ANN@EX",
            "x",
            "o w",
            "wörld",
            "re: in",
            "needle",
            "xneedle",
            "invoice",
            "invoi",
            "invoice.",
            "attached see",
            "see the invoi",
            "résumé",
            "RÉSUMÉ ATT",
            "resume",
            "sumé",
            "é",
            "nvoic",
            "ices.",
            "ro",
            "t: ",
            "m: bob",
            "hed\nsee",
            "東京",
            "京の会",
            "会の",
            "京の",
            "議",
            "value second",
            "voice",
            "--",
        ];
        for needle in needles {
            for key in [
                TextKey::Header("from".into()),
                TextKey::Header("subject".into()),
                TextKey::Header("references".into()),
                TextKey::Header("received".into()),
                TextKey::Body,
                TextKey::Text,
            ] {
                let query = TextQuery::new(key.clone(), needle, false);
                let hits = snapshot.search(&query, &all, false).unwrap();
                for (i, d) in docs.iter().enumerate() {
                    let blob = i as i64 + 1;
                    let answer = if hits.unsure.contains(blob) {
                        d.matches(&query)
                    } else {
                        hits.matched.contains_key(&blob)
                    };
                    assert_eq!(
                        answer,
                        d.matches(&query),
                        "{key:?} {needle:?} on document {blob}"
                    );
                }
            }
        }
        let long_one = TextQuery::new(TextKey::Header("references".into()), "needle", false);
        assert!(
            snapshot
                .search(&long_one, &all, false)
                .unwrap()
                .unsure
                .contains(3)
        );
        assert!(snapshot.covers(2, 7) && !snapshot.covers(2, 9) && !snapshot.covers(4, 7));
    }
}
