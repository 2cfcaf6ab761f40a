//! Reading archived messages back.

use std::io::Read;
use std::sync::Arc;

use super::{Archives, Content};
use crate::error::{Error, Result};
use crate::store::{BlobRecord, BlobStore, StoreState};

impl Archives {
    /// The exact bytes of a stored message, streamed.
    pub fn open_message(&self, content: &Content) -> Result<Box<dyn Read + Send>> {
        self.open_blob(&content.0)
    }

    /// The exact bytes of a stored message, whole: for messages small
    /// enough to hold in memory.
    pub fn read_message(&self, content: &Content) -> Result<Vec<u8>> {
        let blob = &content.0;
        self.readable_store(blob)?.read(&blob.location, blob.size)
    }

    pub(super) fn open_blob(&self, blob: &BlobRecord) -> Result<Box<dyn Read + Send>> {
        self.readable_store(blob)?.open(&blob.location)
    }

    /// The bytes of the blob's store, unless the store is disabled.
    fn readable_store(&self, blob: &BlobRecord) -> Result<Arc<dyn BlobStore>> {
        let store = self
            .stores()?
            .into_iter()
            .find(|s| s.id == blob.store_id)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "blob {} names an unknown store",
                    hex::encode(blob.sha256)
                ))
            })?;
        if store.state == StoreState::Disabled {
            return Err(Error::Refused(format!(
                "archive store {} is disabled: its content is not available",
                store.name
            )));
        }
        self.backend.blobs(&store)
    }
}
