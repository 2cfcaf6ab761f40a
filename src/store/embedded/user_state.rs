//! Each user's own state beside the archive: subscribed names and the
//! `\Recent` high-water marks. Small, separate statements that never wait
//! on message data beyond the catalog's one connection.

use super::cached::CachedSql;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// The user's subscriptions: (archive id, folder path).
pub fn subscriptions(conn: &Connection, user_id: i64) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT archive_id, path FROM subscribed_names WHERE user_id = ?1 ORDER BY archive_id, path",
    )?;
    let names = stmt
        .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(names)
}

pub fn set_subscribed(
    conn: &Connection,
    user_id: i64,
    archive_id: i64,
    path: &str,
    subscribed: bool,
) -> Result<()> {
    let sql = if subscribed {
        "INSERT OR IGNORE INTO subscribed_names(user_id, archive_id, path) VALUES (?1, ?2, ?3)"
    } else {
        "DELETE FROM subscribed_names WHERE user_id = ?1 AND archive_id = ?2 AND path = ?3"
    };
    conn.prepare_cached(sql)?
        .execute(params![user_id, archive_id, path])?;
    Ok(())
}

/// Subscribes the user to every folder of the archive that can hold
/// messages.
pub fn subscribe_archive(conn: &Connection, user_id: i64, archive_id: i64) -> Result<()> {
    conn.run(
        "INSERT OR IGNORE INTO subscribed_names(user_id, archive_id, path)
         SELECT ?1, archive_id, path FROM folders WHERE archive_id = ?2 AND noselect = 0",
        params![user_id, archive_id],
    )?;
    Ok(())
}

/// Subscribes every user whose privileges on the folder's archive include
/// all of `bits` to the folder `path`.
pub fn subscribe_holders(tx: &Transaction, archive_id: i64, path: &str, bits: u8) -> Result<()> {
    tx.run(
        "INSERT OR IGNORE INTO subscribed_names(user_id, archive_id, path)
         SELECT user_id, archive_id, ?2 FROM folder_privileges
         WHERE archive_id = ?1 AND (privileges & ?3) = ?3",
        params![archive_id, path, bits],
    )?;
    Ok(())
}

pub fn first_recent(conn: &Connection, user_id: i64, folder_id: i64) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT first_recent FROM recent_marks WHERE user_id = ?1 AND folder_id = ?2",
        )?
        .query_row(params![user_id, folder_id], |r| r.get(0))
        .optional()?
        .unwrap_or(1))
}

/// Raises the mark to `up_to` (never lowers it); returns what it was.
pub fn claim_recent(tx: &Transaction, user_id: i64, folder_id: i64, up_to: u32) -> Result<u32> {
    let before = first_recent(tx, user_id, folder_id)?;
    if up_to > before {
        tx.prepare_cached(
            "INSERT INTO recent_marks(user_id, folder_id, first_recent) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id, folder_id) DO UPDATE SET first_recent = excluded.first_recent",
        )?
        .execute(params![user_id, folder_id, up_to])?;
    }
    Ok(before)
}
