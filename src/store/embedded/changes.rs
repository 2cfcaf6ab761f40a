//! The catalog's changes to folders and their messages once archived:
//! copies, moves, expunges, folder renames and deletions. Each function
//! runs inside the caller's transaction.
//!
//! A blob's reference count is the number of message rows that name it;
//! when it reaches zero the blob row goes (its bytes stay in the pack as
//! unreferenced space until the pack is compacted).

use super::cached::CachedSql;
use rusqlite::{OptionalExtension, Transaction, params};

use super::catalog::{BLOB_COLUMNS, blob_from_row};
use crate::error::{Error, Result};
use crate::store::{MessageRecord, Removed};

/// One message row, found by folder and UID.
fn message(tx: &Transaction, folder_id: i64, uid: u32) -> Result<Option<(i64, MessageRecord)>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT m.id, m.uid, m.internal_date, m.modseq, {BLOB_COLUMNS} FROM messages m
         JOIN blobs b ON b.id = m.blob_id WHERE m.folder_id = ?1 AND m.uid = ?2"
    ))?;
    Ok(stmt
        .query_row(params![folder_id, uid], |r| {
            Ok((
                r.get(0)?,
                MessageRecord {
                    uid: r.get(1)?,
                    internal_date: r.get(2)?,
                    modseq: r.get(3)?,
                    blob: blob_from_row(r, 4)?,
                },
            ))
        })
        .optional()?)
}

/// The next UID and modseq of a folder, taken.
fn take_uid(tx: &Transaction, folder_id: i64) -> Result<(u32, i64)> {
    let mut stmt = tx.prepare_cached(
        "UPDATE folders SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1
         WHERE id = ?1 RETURNING uidnext - 1, highestmodseq",
    )?;
    stmt.query_row([folder_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("folder #{folder_id}")))
}

fn bump_modseq(tx: &Transaction, folder_id: i64) -> Result<()> {
    tx.prepare_cached("UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = ?1")?
        .execute([folder_id])?;
    Ok(())
}

/// Takes one message row out: its flags, the row, one reference.
fn remove(tx: &Transaction, row_id: i64, message: MessageRecord) -> Result<Removed> {
    tx.prepare_cached("DELETE FROM flags WHERE message_id = ?1")?
        .execute([row_id])?;
    tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?
        .execute([row_id])?;
    let left: i64 = tx
        .prepare_cached(
            "UPDATE blobs SET refcount = refcount - 1 WHERE id = ?1 RETURNING refcount",
        )?
        .query_row([message.blob.id], |r| r.get(0))?;
    if left == 0 {
        tx.prepare_cached("DELETE FROM blob_texts WHERE blob_id = ?1")?
            .execute([message.blob.id])?;
        tx.prepare_cached("DELETE FROM blobs WHERE id = ?1")?
            .execute([message.blob.id])?;
    }
    Ok(Removed {
        uid: message.uid,
        blob: message.blob,
        freed: left == 0,
    })
}

/// Copies (or, with `remove`, moves) the messages `uids` of folder `from`
/// into folder `to`, keeping internal dates and every user's flags. Returns
/// (source UID, target UID) pairs; UIDs `from` does not hold are skipped.
/// Every copy is a new message of `to`, even where `to` holds the same
/// bytes already (IMAP: COPY and MOVE always add); the bytes stay stored
/// once.
pub fn copy(
    tx: &Transaction,
    from: i64,
    uids: &[u32],
    to: i64,
    remove_source: bool,
) -> Result<Vec<(u32, u32)>> {
    let mut pairs = Vec::with_capacity(uids.len());
    for &uid in uids {
        let Some((row_id, message)) = message(tx, from, uid)? else {
            continue;
        };
        let (new_uid, modseq) = take_uid(tx, to)?;
        tx.prepare_cached(
            "INSERT INTO messages(folder_id, uid, blob_id, internal_date, modseq)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            to,
            new_uid,
            message.blob.id,
            message.internal_date,
            modseq
        ])?;
        let new_row = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO flags(user_id, message_id, flags, keywords)
             SELECT user_id, ?2, flags, keywords FROM flags WHERE message_id = ?1",
        )?
        .execute(params![row_id, new_row])?;
        tx.prepare_cached("UPDATE blobs SET refcount = refcount + 1 WHERE id = ?1")?
            .execute([message.blob.id])?;
        pairs.push((uid, new_uid));
        if remove_source {
            remove(tx, row_id, message)?;
        }
    }
    if remove_source && !pairs.is_empty() {
        bump_modseq(tx, from)?;
    }
    Ok(pairs)
}

/// Removes the messages `uids` from a folder; UIDs it does not hold are
/// skipped.
pub fn expunge(tx: &Transaction, folder_id: i64, uids: &[u32]) -> Result<Vec<Removed>> {
    let mut removed = Vec::with_capacity(uids.len());
    for &uid in uids {
        if let Some((row_id, message)) = message(tx, folder_id, uid)? {
            removed.push(remove(tx, row_id, message)?);
        }
    }
    if !removed.is_empty() {
        bump_modseq(tx, folder_id)?;
    }
    Ok(removed)
}

/// Deletes a folder with its messages; with `keep_name` (it has
/// sub-folders) the name stays, not selectable, as RFC 3501 has it.
pub fn delete_folder(tx: &Transaction, folder_id: i64, keep_name: bool) -> Result<Vec<Removed>> {
    let uids: Vec<u32> = tx
        .prepare_cached("SELECT uid FROM messages WHERE folder_id = ?1 ORDER BY uid")?
        .query_map([folder_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let removed = expunge(tx, folder_id, &uids)?;
    if keep_name {
        tx.run("UPDATE folders SET noselect = 1 WHERE id = ?1", [folder_id])?;
    } else {
        tx.run("DELETE FROM recent_marks WHERE folder_id = ?1", [folder_id])?;
        tx.run("DELETE FROM folders WHERE id = ?1", [folder_id])?;
    }
    Ok(removed)
}

/// A folder's archive and path.
pub(super) fn folder_place(tx: &Transaction, folder_id: i64) -> Result<(i64, String)> {
    tx.row(
        "SELECT archive_id, path FROM folders WHERE id = ?1",
        [folder_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("folder #{folder_id}")))
}

/// Renames a folder and everything below it to `new_path` in the same
/// archive; the new parents must exist. UIDs and UIDVALIDITY stay: the
/// messages and their numbers do not change, only the name.
pub fn rename_folder(tx: &Transaction, folder_id: i64, new_path: &str) -> Result<()> {
    let (archive_id, old_path) = folder_place(tx, folder_id)?;
    let taken: bool = tx.row(
        "SELECT EXISTS(SELECT 1 FROM folders WHERE archive_id = ?1
                       AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/'))",
        params![archive_id, new_path],
        |r| r.get(0),
    )?;
    if taken {
        return Err(Error::AlreadyExists(format!("folder {new_path}")));
    }
    // The new parent, in this transaction: a refused rename leaves none.
    if let Some((parent, _)) = new_path.rsplit_once('/') {
        super::catalog::ensure_path(tx, archive_id, parent)?;
    }
    tx.run(
        "UPDATE folders SET path = ?3 || substr(path, length(?2) + 1)
         WHERE archive_id = ?1 AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')",
        params![archive_id, old_path, new_path],
    )?;
    Ok(())
}
