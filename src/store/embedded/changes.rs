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
use super::ids::Table;
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
        "UPDATE folders SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
             contents_modseq = highestmodseq + 1
         WHERE id = ?1 RETURNING uidnext - 1, highestmodseq",
    )?;
    stmt.query_row([folder_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("folder #{folder_id}")))
}

/// Records that the folder no longer holds `uids` (none: nothing
/// changed), as one change: HIGHESTMODSEQ goes up, and each run of UIDs
/// joins the `vanished` ranges, merged with those next to it.
fn vanish(tx: &Transaction, folder_id: i64, mut uids: Vec<u32>) -> Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    uids.sort_unstable();
    let modseq: i64 = tx
        .prepare_cached(
            "UPDATE folders SET highestmodseq = highestmodseq + 1,
                 contents_modseq = highestmodseq + 1
             WHERE id = ?1 RETURNING highestmodseq",
        )?
        .query_row([folder_id], |r| r.get(0))?;
    let mut before = tx.prepare_cached(
        "SELECT first_uid, last_uid FROM vanished WHERE folder_id = ?1 AND first_uid < ?2
         ORDER BY first_uid DESC LIMIT 1",
    )?;
    let mut after =
        tx.prepare_cached("SELECT last_uid FROM vanished WHERE folder_id = ?1 AND first_uid = ?2")?;
    let mut delete =
        tx.prepare_cached("DELETE FROM vanished WHERE folder_id = ?1 AND first_uid = ?2")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO vanished(folder_id, first_uid, last_uid, modseq) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for run in uids.chunk_by(|a, b| a + 1 == *b) {
        let (mut first, mut last) = (run[0], run[run.len() - 1]);
        let previous: Option<(u32, u32)> = before
            .query_row(params![folder_id, first], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((start, end)) = previous
            && end + 1 == first
        {
            delete.execute(params![folder_id, start])?;
            first = start;
        }
        let above = i64::from(last) + 1;
        let next: Option<u32> = after
            .query_row(params![folder_id, above], |r| r.get(0))
            .optional()?;
        if let Some(end) = next {
            delete.execute(params![folder_id, above])?;
            last = end;
        }
        insert.execute(params![folder_id, first, last, modseq])?;
    }
    Ok(())
}

/// Takes one message row out: its flags, the row, one reference.
fn remove(
    tx: &Transaction,
    folder_id: i64,
    row_id: i64,
    message: MessageRecord,
) -> Result<Removed> {
    tx.prepare_cached("DELETE FROM user_flags WHERE folder_id = ?1 AND uid = ?2")?
        .execute(params![folder_id, message.uid])?;
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
        Table::Blobs.removed(tx, message.blob.id)?;
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
        tx.prepare_cached(
            "INSERT INTO user_flags(user_id, folder_id, uid, flags, keywords)
             SELECT user_id, ?3, ?4, flags, keywords FROM user_flags
             WHERE folder_id = ?1 AND uid = ?2",
        )?
        .execute(params![from, uid, to, new_uid])?;
        tx.prepare_cached("UPDATE blobs SET refcount = refcount + 1 WHERE id = ?1")?
            .execute([message.blob.id])?;
        pairs.push((uid, new_uid));
        if remove_source {
            remove(tx, from, row_id, message)?;
        }
    }
    if remove_source {
        vanish(tx, from, pairs.iter().map(|&(uid, _)| uid).collect())?;
    }
    Ok(pairs)
}

/// Removes the messages `uids` from a folder; UIDs it does not hold are
/// skipped.
pub fn expunge(tx: &Transaction, folder_id: i64, uids: &[u32]) -> Result<Vec<Removed>> {
    let mut removed = Vec::with_capacity(uids.len());
    for &uid in uids {
        if let Some((row_id, message)) = message(tx, folder_id, uid)? {
            removed.push(remove(tx, folder_id, row_id, message)?);
        }
    }
    vanish(tx, folder_id, removed.iter().map(|r| r.uid).collect())?;
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
        remove_folder_row(tx, folder_id)?;
    }
    Ok(removed)
}

/// Removes the row of a folder that holds no messages, with what refers
/// to it: users' `\Recent` marks and the record of the UIDs gone.
pub(super) fn remove_folder_row(tx: &Transaction, folder_id: i64) -> Result<()> {
    tx.run("DELETE FROM recent_marks WHERE folder_id = ?1", [folder_id])?;
    tx.run("DELETE FROM vanished WHERE folder_id = ?1", [folder_id])?;
    tx.run("DELETE FROM folders WHERE id = ?1", [folder_id])?;
    Table::Folders.removed(tx, folder_id)?;
    Ok(())
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
