//! `verify`: re-hash the stored messages of every store (or of one) and
//! check the catalog against itself, against the packs on disk and, if
//! asked, against the full-text indexes. Read-only.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Archives, IndexReport};
use crate::error::{Error, Result};
use crate::store::{BlobRecord, BlobStore, StoreRecord, StoreState};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    #[serde(rename = "messagesChecked")]
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    /// Blobs of disabled stores, whose content is not available.
    #[serde(rename = "messagesSkipped")]
    pub blobs_skipped: u64,
    pub problems: Vec<String>,
    /// What is not wrong with the archive itself but should be mended:
    /// files others than the server's account may read.
    pub warnings: Vec<String>,
    /// The indexes compared with the catalog (when asked for).
    pub indexes: Vec<IndexReport>,
}

const PAGE: usize = 2048;

/// The error a long operation ends with once `stop` is set.
pub(super) fn stopped(stop: &AtomicBool) -> Result<()> {
    if stop.load(Ordering::Relaxed) {
        return Err(Error::Refused("cancelled".into()));
    }
    Ok(())
}

impl Archives {
    /// Checks the catalog, and the stored messages of one store (`only`) or
    /// of all; with `include_indexes`, the indexes too (their differences
    /// are problems). The catalog's own checks always cover all of it: the
    /// stores share it. `progress` is called with the blobs done, the blobs
    /// in all, and the bytes read. Set `stop` to end it early with the
    /// error `cancelled`.
    pub fn verify(
        &self,
        only: Option<&str>,
        include_indexes: bool,
        stop: &AtomicBool,
        progress: &(dyn Fn(u64, u64, u64) + Sync),
    ) -> Result<VerifyReport> {
        let catalog = self.catalog();
        let stores = match only {
            Some(name) => vec![self.store(name)?],
            None => self.stores()?,
        };
        let mut report = VerifyReport {
            problems: catalog.check_consistency()?,
            warnings: self.backend.exposed()?,
            ..VerifyReport::default()
        };
        let mut blob_stores = Vec::new();
        let mut total = 0;
        for store in &stores {
            total += catalog.store_blob_count(store.id)?;
            // A disabled store's directory may be offline: not touched.
            if store.state != StoreState::Disabled {
                let blobs = self.backend.blobs(store)?;
                report
                    .problems
                    .extend(self.pack_problems(store, blobs.as_ref())?);
                blob_stores.push((store.id, Some(blobs)));
            } else {
                blob_stores.push((store.id, None));
            }
        }

        let mut after = 0;
        loop {
            stopped(stop)?;
            let page = catalog.blobs_after(after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let results: Vec<Option<(u64, Option<String>)>> = page
                .par_iter()
                .filter_map(|blob| {
                    let (_, store) = blob_stores.iter().find(|(id, _)| *id == blob.store_id)?;
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    Some(store.as_ref().map(|store| check_blob(store.as_ref(), blob)))
                })
                .collect();
            stopped(stop)?;
            for result in results {
                match result {
                    None => report.blobs_skipped += 1,
                    Some((bytes, problem)) => {
                        report.blobs_checked += 1;
                        report.bytes_checked += bytes;
                        report.problems.extend(problem);
                    }
                }
            }
            progress(
                report.blobs_checked + report.blobs_skipped,
                total,
                report.bytes_checked,
            );
        }
        if include_indexes {
            report.indexes = self.verify_indexes(only, stop)?;
            // Messages not indexed yet are pending, not a fault: the
            // server's catch-up adds them (`IndexReport::pending`).
            for index in &report.indexes {
                if index.extra + index.repeated > 0 {
                    report.problems.push(format!(
                        "store {}: the full-text index has {} documents of unknown messages and {} repeated",
                        index.store, index.extra, index.repeated
                    ));
                }
            }
        }
        Ok(report)
    }

    /// Packs the catalog knows that are missing or shorter on disk.
    fn pack_problems(&self, store: &StoreRecord, blobs: &dyn BlobStore) -> Result<Vec<String>> {
        let on_disk = blobs.pack_files()?;
        Ok(self
            .catalog()
            .pack_lengths(store.id)?
            .into_iter()
            .filter_map(|(pack, length)| match on_disk.iter().find(|(p, _)| *p == pack) {
                None => Some(format!("store {}: pack {pack} is missing", store.name)),
                Some((_, disk)) if *disk < length => Some(format!(
                    "store {}: pack {pack} is {disk} bytes, shorter than its committed {length}",
                    store.name
                )),
                Some(_) => None,
            })
            .collect())
    }
}

/// Reads one blob back; returns the bytes read and the problem, if any.
fn check_blob(store: &dyn BlobStore, blob: &BlobRecord) -> (u64, Option<String>) {
    let name = hex::encode(blob.sha256);
    let mut reader = match store.open(&blob.location) {
        Ok(reader) => reader,
        Err(e) => return (0, Some(format!("blob {name}: cannot open: {e}"))),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return (
                    total,
                    Some(format!("blob {name}: unreadable (missing or corrupt): {e}")),
                );
            }
        }
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if digest != blob.sha256 {
        return (
            total,
            Some(format!(
                "blob {name}: content hashes to {}",
                hex::encode(digest)
            )),
        );
    }
    if total != blob.size {
        return (
            total,
            Some(format!(
                "blob {name}: {total} bytes, catalog says {}",
                blob.size
            )),
        );
    }
    (total, None)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use crate::archive::Archives;
    use crate::config::Config;

    #[test]
    fn a_set_stop_flag_ends_verify_and_index_work_as_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let archives = Archives::open(&Config::load(None, Some(dir.path())).unwrap()).unwrap();
        let stop = AtomicBool::new(true);
        let cancelled = |result: crate::error::Result<()>| {
            assert_eq!(result.unwrap_err().to_string(), "cancelled");
        };
        cancelled(archives.verify(None, true, &stop, &|_, _, _| {}).map(drop));
        cancelled(archives.verify_indexes(None, &stop).map(drop));
        cancelled(archives.rebuild_indexes(None, &stop, &|_, _| {}).map(drop));
    }
}
