//! The embedded backend: one SQLite catalog (`catalog.sqlite`) and, per
//! archive store, a directory of append-only zstd pack files.
//!
//! Crash safety rests on one ordering: a batch's blobs are appended to a
//! pack and fsynced *before* the transaction that references them commits,
//! and that transaction records the pack's new committed length. Bytes past
//! the committed length belong to an interrupted writer; the next writer
//! truncates them. So no committed message lacks its bytes, and no bytes
//! outlive a crash unreferenced.

mod audit;
mod cached;
mod catalog;
mod changes;
mod folder_admin;
mod ids;
mod packs;
mod schema;
mod upgrade;
mod user_state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use catalog::SqliteCatalog;
pub use packs::PackStore;

use super::{Backend, BlobStore, Catalog, StoreCatalog, StoreRecord};
use crate::error::{Error, Result};

pub struct Embedded {
    data_dir: PathBuf,
    catalog: SqliteCatalog,
    /// Opened pack stores by directory: every message read needs one, and
    /// opening creates directories.
    opened: Mutex<HashMap<PathBuf, Arc<PackStore>>>,
}

/// The catalog's file name in the data directory.
const CATALOG: &str = "catalog.sqlite";

impl Embedded {
    /// Whether `data_dir` holds an archive (its catalog).
    pub fn exists(data_dir: &Path) -> Result<bool> {
        let catalog = data_dir.join(CATALOG);
        catalog
            .try_exists()
            .map_err(|e| Error::io(format!("looking for {}", catalog.display()), e))
    }

    /// Opens (creating if needed) the data directory. A fresh one gets a
    /// first archive store, `main`, which is current.
    pub fn open(data_dir: &Path) -> Result<Embedded> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("creating data directory {}", data_dir.display()), e))?;
        let catalog = SqliteCatalog::open(&data_dir.join(CATALOG))?;
        if catalog.stores()?.is_empty() {
            match catalog.create_store("main", Path::new("stores/main")) {
                // Another process opening the new data directory made it first.
                Ok(_) | Err(Error::AlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Embedded {
            data_dir: data_dir.to_path_buf(),
            catalog,
            opened: Mutex::default(),
        })
    }
}

impl Backend for Embedded {
    fn catalog(&self) -> &dyn Catalog {
        &self.catalog
    }

    fn blobs(&self, store: &StoreRecord) -> Result<Arc<dyn BlobStore>> {
        let dir = self.data_dir.join(&store.path);
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(packs) = opened.get(&dir) {
            return Ok(packs.clone());
        }
        let packs = Arc::new(PackStore::open(&dir)?);
        opened.insert(dir, packs.clone());
        Ok(packs)
    }

    fn exposed(&self) -> Result<Vec<String>> {
        // The data directory, and stores kept elsewhere.
        let mut roots = vec![self.data_dir.clone()];
        for store in self.catalog.stores()? {
            let dir = self.data_dir.join(&store.path);
            if !dir.starts_with(&self.data_dir) {
                roots.push(dir);
            }
        }
        let mut exposed = Vec::new();
        for root in roots {
            exposed_under(&root, &mut exposed)?;
        }
        Ok(exposed)
    }
}

/// Adds `path` and everything under it that its group or others may use
/// (symbolic links are not followed).
fn exposed_under(path: &Path, exposed: &mut Vec<String>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        // A store directory not made yet (no message written to it).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mode = metadata.permissions().mode() & 0o777;
    if !metadata.is_symlink() && mode & 0o077 != 0 {
        exposed.push(format!(
            "{} has mode {mode:04o}; others than its owner may read it (expected {})",
            path.display(),
            if metadata.is_dir() { "0700" } else { "0600" }
        ));
    }
    if metadata.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| Error::io(format!("listing {}", path.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", path.display()), e))?;
            exposed_under(&entry.path(), exposed)?;
        }
    }
    Ok(())
}
