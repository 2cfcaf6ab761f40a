//! `verify`: re-hash every stored message and check the catalog against
//! itself and against the packs on disk. Read-only.

use std::io::{self, Read};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::Archives;
use crate::error::Result;
use crate::store::{BlobRecord, BlobStore, StoreState};

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    /// Blobs of disabled stores, whose content is not available.
    pub blobs_skipped: u64,
    pub problems: Vec<String>,
}

const PAGE: usize = 2048;

impl Archives {
    /// Checks everything; `progress` is called with the blobs done, the
    /// blobs in all, and the bytes read.
    pub fn verify(&self, progress: &(dyn Fn(u64, u64, u64) + Sync)) -> Result<VerifyReport> {
        let catalog = self.catalog();
        let mut report = VerifyReport {
            problems: catalog.check_consistency()?,
            ..VerifyReport::default()
        };
        let stores = catalog.stores()?;
        let mut blob_stores = Vec::new();
        for store in &stores {
            let blobs = self.backend.blobs(store)?;
            let committed = catalog.pack_lengths(store.id)?;
            let on_disk = blobs.pack_files()?;
            for (pack, length) in &committed {
                match on_disk.iter().find(|(p, _)| p == pack) {
                    None => report.problems.push(format!("store {}: pack {pack} is missing", store.name)),
                    Some((_, disk)) if disk < length => report.problems.push(format!(
                        "store {}: pack {pack} is {disk} bytes, shorter than its committed {length}",
                        store.name
                    )),
                    Some(_) => {}
                }
            }
            blob_stores.push((store.id, store.state, blobs));
        }

        let total = catalog.blob_count()?;
        let mut after = 0;
        loop {
            let page = catalog.blobs_after(after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let results: Vec<Option<(u64, Option<String>)>> = page
                .par_iter()
                .map(|blob| {
                    let (_, state, store) =
                        blob_stores.iter().find(|(id, _, _)| *id == blob.store_id)?;
                    if *state == StoreState::Disabled {
                        return None;
                    }
                    Some(check_blob(store.as_ref(), blob))
                })
                .collect();
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
        Ok(report)
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
