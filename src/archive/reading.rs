//! Reading archived messages back.

use std::io::Read;

use super::Archives;
use crate::error::{Error, Result};
use crate::store::{BlobRecord, StoreState};

impl Archives {
    /// The exact bytes of a stored message, streamed.
    pub fn open_message(&self, blob: &BlobRecord) -> Result<Box<dyn Read + Send>> {
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
        self.backend.blobs(&store)?.open(&blob.location)
    }
}
