//! The catalog's part of folder and message administration: folders found
//! by UIDVALIDITY, listings from the stored summaries, archive statistics
//! and the removal of empty folders.

use super::cached::CachedSql;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::catalog::{BLOB_COLUMNS, FOLDER_COLUMNS, blob_from_row, folder_from_row};
use crate::archive::Folder;
use crate::error::{Error, Result};
use crate::store::{ArchiveRecord, ArchiveStatistics, MessageRecord};

pub fn folder_by_uidvalidity(conn: &Connection, uidvalidity: u32) -> Result<Option<Folder>> {
    let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders f WHERE f.uidvalidity = ?1");
    Ok(conn.row(&sql, [uidvalidity], folder_from_row).optional()?)
}

pub fn message_summaries(
    conn: &Connection,
    folder_id: i64,
) -> Result<Vec<(MessageRecord, Option<String>)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m.uid, m.internal_date, m.modseq, t.summary, {BLOB_COLUMNS} FROM messages m
         JOIN blobs b ON b.id = m.blob_id LEFT JOIN blob_texts t ON t.blob_id = b.id
         WHERE m.folder_id = ?1 ORDER BY m.uid"
    ))?;
    let messages = stmt
        .query_map([folder_id], |r| {
            let message = MessageRecord {
                uid: r.get(0)?,
                internal_date: r.get(1)?,
                modseq: r.get(2)?,
                blob: blob_from_row(r, 4)?,
            };
            Ok((message, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(messages)
}

pub fn archive_statistics(conn: &Connection) -> Result<Vec<ArchiveStatistics>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.name, count(m.id), coalesce(sum(b.size), 0) FROM archives a
         LEFT JOIN folders f ON f.archive_id = a.id
         LEFT JOIN messages m ON m.folder_id = f.id
         LEFT JOIN blobs b ON b.id = m.blob_id
         GROUP BY a.id ORDER BY a.name",
    )?;
    let statistics = stmt
        .query_map([], |r| {
            Ok(ArchiveStatistics {
                archive: ArchiveRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                },
                messages: r.get(2)?,
                bytes: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(statistics)
}

/// Deletes each folder in turn, checking first that it is still empty:
/// an import in another process may have filed messages into it since
/// the caller looked, and those must not go with it.
pub fn delete_empty_folders(tx: &Transaction, folder_ids: &[i64]) -> Result<()> {
    for &id in folder_ids {
        let (archive_id, path) = super::changes::folder_place(tx, id)?;
        let occupied: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM messages WHERE folder_id = ?1)
                 OR EXISTS(SELECT 1 FROM folders WHERE archive_id = ?2
                           AND substr(path, 1, length(?3) + 1) = ?3 || '/')",
            params![id, archive_id, path],
            |r| r.get(0),
        )?;
        if occupied {
            return Err(Error::Refused(format!(
                "folder {path} is no longer empty (something was filed meanwhile); nothing was deleted"
            )));
        }
        super::changes::remove_folder_row(tx, id)?;
    }
    Ok(())
}
