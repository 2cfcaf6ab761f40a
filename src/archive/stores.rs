//! Archive stores: the partitions message bytes live in, the rules of
//! their states, and adding, renaming and removing them.
//!
//! A store is one directory (packs and full-text index); what is in it is
//! described by the one catalog all stores share. So a store can only be
//! detached once no message lies in it, and only a directory holding no
//! message bytes can be attached: bytes whose metadata is not in this
//! catalog cannot be brought back by attaching them.

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

/// The bytes of the files under `dir` (symbolic links not followed).
pub(super) fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut size = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            size += dir_size(&entry.path())?;
        } else if kind.is_file() {
            size += entry.metadata()?.len();
        }
    }
    Ok(size)
}

/// `dir` with symbolic links and `..` resolved where it exists.
fn resolved(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
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

    /// The store with this id (the admin API names stores by id).
    pub fn store_by_id(&self, id: i64) -> Result<StoreRecord> {
        self.stores()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::NotFound(format!("archive store with id {id}")))
    }

    /// The store new messages go to.
    pub fn current_store(&self) -> Result<StoreRecord> {
        self.stores()?
            .into_iter()
            .find(|s| s.state == StoreState::Current)
            .ok_or_else(|| Error::Corrupt("no archive store is current".into()))
    }

    /// The directory of a store at `path`; a relative one is taken from
    /// the data directory.
    pub fn store_dir(&self, path: &Path) -> PathBuf {
        let dir = self.data_dir().join(path);
        std::path::absolute(&dir).unwrap_or(dir)
    }

    /// The bytes a store takes on disk (packs and index).
    pub fn store_size(&self, store: &StoreRecord) -> Result<u64> {
        let dir = self.store_dir(&store.path);
        dir_size(&dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))
    }

    /// Creates a store at `path` (default `stores/<name>` in the data
    /// directory; a relative path is taken from the data directory) in
    /// `state`; making it current demotes the current store.
    pub fn create_store(
        &self,
        name: &str,
        path: Option<&Path>,
        state: StoreState,
    ) -> Result<StoreRecord> {
        let name = names::store_name(name)?;
        let path = path.map_or_else(|| PathBuf::from("stores").join(name), Path::to_path_buf);
        self.check_free(&path)?;
        let store = self.catalog().add_store(name, &path, state)?;
        self.backend.blobs(&store)?; // creates its directory now, not at first import
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "created": { "path": store.path.display().to_string(), "state": store.state.as_str() } }),
        )?;
        tracing::info!(store = %store.name, path = %store.path.display(), "archive store created");
        Ok(store)
    }

    /// Attaches the existing store directory at `path` (one made by
    /// `create_store` and detached, here or elsewhere) in `state`. It must
    /// hold no message bytes (see the module's comment); an index left in
    /// it is emptied.
    pub fn attach_store(&self, name: &str, path: &Path, state: StoreState) -> Result<StoreRecord> {
        let name = names::store_name(name)?;
        let dir = self.store_dir(path);
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "no directory {}: attaching takes an existing store directory (creating a store makes a new one)",
                dir.display()
            )));
        }
        self.check_free(path)?;
        let store = self.catalog().add_store(name, path, state)?;
        self.backend.blobs(&store)?;
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "attached": { "path": store.path.display().to_string(), "state": store.state.as_str() } }),
        )?;
        if store.state != StoreState::Disabled
            && let Err(error) = self.reconcile_index(&store)
        {
            tracing::warn!(store = %store.name, %error, "the attached store's index was not emptied; the server's reconciliation will");
        }
        tracing::info!(store = %store.name, path = %store.path.display(), "archive store attached");
        Ok(store)
    }

    /// Refuses a directory for a new or attached store that is, lies in or
    /// holds another store's, or that holds message bytes.
    fn check_free(&self, path: &Path) -> Result<()> {
        let dir = resolved(&self.store_dir(path));
        for store in self.stores()? {
            let other = resolved(&self.store_dir(&store.path));
            if dir.starts_with(&other) || other.starts_with(&dir) {
                return Err(Error::Refused(format!(
                    "{} overlaps {}, the directory of archive store {}",
                    dir.display(),
                    other.display(),
                    store.name
                )));
            }
        }
        let packs = dir.join("packs");
        let held = match std::fs::read_dir(&packs) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(format!("reading {}", packs.display()), e)),
        };
        if held > 0 {
            return Err(Error::Refused(format!(
                "{} holds {held} bytes of message packs this catalog does not describe \
                 (message metadata lives in the catalog, not in the store): \
                 import that mail instead, or move {} away",
                dir.display(),
                packs.display()
            )));
        }
        Ok(())
    }

    /// Detaches a store: the catalog forgets it, its directory stays. Only
    /// a store that is not current and holds no messages can go (their
    /// folders and flags are in the catalog); to take a store with
    /// messages offline, disable it.
    pub fn detach_store(&self, name: &str) -> Result<StoreRecord> {
        let store = self.store(name)?;
        if store.state == StoreState::Current {
            return Err(Error::Refused(format!(
                "archive store {} is current; make another store current first",
                store.name
            )));
        }
        let messages = self.catalog().store_blob_count(store.id)?;
        if messages > 0 {
            return Err(Error::Refused(format!(
                "archive store {} holds {messages} messages; their folders live in the catalog, \
                 so detaching it would orphan them: set it to disabled to take it offline",
                store.name
            )));
        }
        self.catalog().remove_store(store.id)?;
        self.forget_index(&store);
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "detached": { "path": store.path.display().to_string() } }),
        )?;
        tracing::info!(store = %store.name, path = %store.path.display(), "archive store detached");
        Ok(store)
    }

    /// Renames a store; its directory keeps its path.
    pub fn rename_store(&self, name: &str, new_name: &str) -> Result<()> {
        let store = self.store(name)?;
        let new_name = names::store_name(new_name)?;
        self.catalog().rename_store(store.id, new_name)?;
        self.audit_change(
            AuditAction::StoreChanged,
            store_target(&store.name),
            json!({ "new_name": new_name }),
        )?;
        tracing::info!(from = %store.name, to = %new_name, "archive store renamed");
        Ok(())
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
