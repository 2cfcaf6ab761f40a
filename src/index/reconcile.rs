//! Bringing an index in step with the catalog: the blobs it lacks are
//! read and added (on all cores), the documents of blobs the catalog no
//! longer has are deleted.

use rayon::prelude::*;

use super::{BlobSet, Fingerprints, IndexDoc, Snapshot, Writer, fingerprint};
use crate::error::Result;
use crate::store::BlobRecord;

/// How an index differs from the catalog.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Differences {
    /// Catalog blobs without their document.
    pub missing: BlobSet,
    /// Documents of blobs the catalog does not hold in this store (or
    /// holds with other bytes).
    pub extra: Vec<i64>,
}

/// Compares the blobs the catalog holds in a store with an index.
pub fn differences(catalog: &Fingerprints, index: &Snapshot) -> Differences {
    Differences {
        missing: catalog.not_in(index.covered()).collect(),
        extra: index.covered().not_in(catalog).collect(),
    }
}

/// What adding documents did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    pub added: u64,
    /// Blobs whose bytes could not be read (logged).
    pub unreadable: u64,
}

/// Reads and adds the documents of `blobs` (none of which has one).
pub fn add(
    writer: &mut Writer,
    blobs: &[BlobRecord],
    read: &(dyn Fn(&BlobRecord) -> Result<IndexDoc> + Sync),
) -> Result<Added> {
    let docs: Vec<(&BlobRecord, Result<IndexDoc>)> =
        blobs.par_iter().map(|b| (b, read(b))).collect();
    let mut done = Added::default();
    for (blob, doc) in docs {
        match doc {
            Ok(doc) => {
                writer.add(blob.id, fingerprint(&blob.sha256), doc)?;
                done.added += 1;
            }
            Err(error) => {
                tracing::warn!(blob = blob.id, %error, "message not indexed: its bytes could not be read");
                done.unreadable += 1;
            }
        }
    }
    writer.commit_if_due()?;
    Ok(done)
}
