//! Archive stores: the partitions message bytes live in, and the rules of
//! their states.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::audit::store_target;
use super::{Archives, names};
use crate::error::{Error, Result};
use crate::store::{AuditAction, StoreRecord, StoreState};

/// May new messages be written into a store in `state`?
pub fn can_import_into(store: &StoreRecord) -> Result<()> {
    match store.state {
        StoreState::Current | StoreState::Normal => Ok(()),
        StoreState::WriteProtected => Err(Error::Refused(format!(
            "archive store {} is write-protected: nothing may be added",
            store.name
        ))),
        StoreState::Disabled => Err(Error::Refused(format!(
            "archive store {} is disabled: its content is not available",
            store.name
        ))),
    }
}

impl Archives {
    pub fn stores(&self) -> Result<Vec<StoreRecord>> {
        self.catalog().stores()
    }

    pub fn store(&self, name: &str) -> Result<StoreRecord> {
        self.stores()?
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::NotFound(format!("archive store {name}")))
    }

    /// The store new messages go to.
    pub fn current_store(&self) -> Result<StoreRecord> {
        self.stores()?
            .into_iter()
            .find(|s| s.state == StoreState::Current)
            .ok_or_else(|| Error::Corrupt("no archive store is current".into()))
    }

    /// Creates a normal store at `path` (default `stores/<name>` in the data
    /// directory; a relative path is taken from the data directory).
    pub fn create_store(&self, name: &str, path: Option<&Path>) -> Result<StoreRecord> {
        let name = names::store_name(name)?;
        let path = path.map_or_else(|| PathBuf::from("stores").join(name), Path::to_path_buf);
        let store = self.catalog().create_store(name, &path)?;
        self.backend.blobs(&store)?; // creates its directory now, not at first import
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "created": { "path": store.path.display().to_string(), "state": store.state.as_str() } }),
        )?;
        tracing::info!(store = %store.name, path = %store.path.display(), "archive store created");
        Ok(store)
    }

    /// Changes a store's state. Exactly one store is current: making one
    /// current demotes the old one to normal, and the current store cannot
    /// leave that state except by another becoming current.
    pub fn set_store_state(&self, name: &str, state: StoreState) -> Result<()> {
        let store = self.store(name)?;
        if store.state == StoreState::Current && state != StoreState::Current {
            return Err(Error::Refused(format!(
                "archive store {} is current; make another store current first",
                store.name
            )));
        }
        self.catalog().set_store_state(store.id, state)?;
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "state": { "from": store.state.as_str(), "to": state.as_str() } }),
        )?;
        tracing::info!(store = %store.name, from = %store.state, to = %state, "archive store state changed");
        Ok(())
    }
}
