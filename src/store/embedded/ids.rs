//! Ids of stores, folders, users and message contents are never given
//! twice. SQLite numbers a new row one above the highest id, so deleting
//! the row with the highest id would lend its id to the next row, and
//! whatever still names the old one would name the new one, perhaps
//! another user's: a session's open folder, a message a client still
//! numbers (its header block, read by id), a full-text index document, a
//! session's user, a script holding a detached store's id. The highest id
//! deleted from each table is kept in `meta`, and new rows are numbered
//! above it.

use rusqlite::{Transaction, params};

use super::cached::CachedSql;
use crate::error::Result;

/// A table whose ids are never given twice.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Stores,
    Folders,
    Users,
    Blobs,
}

impl Table {
    /// The `meta` key of the highest id deleted (the stores' one predates
    /// the others).
    const fn key(self) -> &'static str {
        match self {
            Table::Stores => "last_removed_store",
            Table::Folders => "last_removed_folder",
            Table::Users => "last_removed_user",
            Table::Blobs => "last_removed_blob",
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Table::Stores => "stores",
            Table::Folders => "folders",
            Table::Users => "users",
            Table::Blobs => "blobs",
        }
    }

    /// An SQL expression for the id of the next row.
    pub(super) fn next_id(self) -> String {
        format!(
            "(max(coalesce((SELECT max(id) FROM {}), 0),
                  coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{}'), 0)) + 1)",
            self.name(),
            self.key()
        )
    }

    /// Keeps `id`, just deleted, from being given again.
    pub(super) fn removed(self, tx: &Transaction, id: i64) -> Result<()> {
        tx.run(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE
             SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            params![self.key(), id],
        )?;
        Ok(())
    }
}
