//! Upgrades of catalogs written by older archimap versions, run inside the
//! transaction that opens them (foreign keys are off meanwhile: see
//! `SqliteCatalog::open`). The new tables already exist (`schema::SCHEMA`).

use rusqlite::Transaction;

use crate::error::{Error, Result};

/// Version 5: `messages` loses its `UNIQUE (folder_id, blob_id)` (a folder
/// may hold the same bytes twice), and subscriptions become names: every
/// folder becomes a subscription of each user who can see it (holds
/// `read`, bit 1 of the privileges, on its archive), less the folders that
/// user had unsubscribed (the old `subscriptions` rows with `subscribed = 0`).
pub fn to_version_5(tx: &Transaction) -> Result<()> {
    // SQLite cannot drop a constraint: the table is rebuilt, keeping ids
    // (flags refer to them).
    tx.execute_batch(
        "CREATE TABLE messages_v5 (
             id            INTEGER PRIMARY KEY,
             folder_id     INTEGER NOT NULL REFERENCES folders(id),
             uid           INTEGER NOT NULL,
             blob_id       INTEGER NOT NULL REFERENCES blobs(id),
             internal_date INTEGER NOT NULL,
             modseq        INTEGER NOT NULL,
             UNIQUE (folder_id, uid)
         );
         INSERT INTO messages_v5(id, folder_id, uid, blob_id, internal_date, modseq)
             SELECT id, folder_id, uid, blob_id, internal_date, modseq FROM messages;
         DROP TABLE messages;
         ALTER TABLE messages_v5 RENAME TO messages;
         CREATE INDEX messages_blob ON messages(blob_id);
         CREATE INDEX messages_folder_blob ON messages(folder_id, blob_id);",
    )?;
    let had_subscriptions: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'subscriptions')",
        [],
        |r| r.get(0),
    )?;
    let unsubscribed = if had_subscriptions {
        "AND NOT EXISTS(SELECT 1 FROM subscriptions s WHERE s.user_id = p.user_id
                        AND s.folder_id = f.id AND s.subscribed = 0)"
    } else {
        ""
    };
    tx.execute(
        &format!(
            "INSERT OR IGNORE INTO subscribed_names(user_id, archive_id, path)
             SELECT p.user_id, f.archive_id, f.path FROM folder_privileges p
             JOIN folders f ON f.archive_id = p.archive_id
             WHERE (p.privileges & 1) <> 0 AND f.noselect = 0 {unsubscribed}"
        ),
        [],
    )?;
    if had_subscriptions {
        tx.execute("DROP TABLE subscriptions", [])?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(Error::Corrupt(format!(
            "upgrading the catalog to version 5 left {broken} rows referring to nothing"
        )));
    }
    Ok(())
}

/// Version 7: the compliance setting for a record per imported message
/// (off). A catalog from before version 2 got the whole table from the
/// schema just now, column included.
pub fn to_version_7(tx: &Transaction) -> Result<()> {
    let has_column: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('compliance')
                       WHERE name = 'audit_message_archiving')",
        [],
        |r| r.get(0),
    )?;
    if !has_column {
        tx.execute(
            "ALTER TABLE compliance ADD COLUMN audit_message_archiving INTEGER NOT NULL DEFAULT 0",
            [],
        )?;
    }
    Ok(())
}

/// Version 8: each blob's header block and summary move from `blobs` to
/// `blob_texts` (created by the schema just now), leaving `blobs` rows of
/// a few dozen bytes; `parsed` says what a summary's presence said.
pub fn to_version_8(tx: &Transaction) -> Result<()> {
    let has_header: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info('blobs') WHERE name = 'header')",
        [],
        |r| r.get(0),
    )?;
    if !has_header {
        // Made by this schema already (a catalog whose version was set
        // back by hand, as the upgrade tests do).
        return Ok(());
    }
    // SQLite cannot drop a column a row's payload is laid out around
    // without rewriting it: the table is rebuilt, keeping ids (messages
    // refer to them).
    tx.execute_batch(&format!(
        "INSERT INTO blob_texts(blob_id, header, summary)
             SELECT id, header, summary FROM blobs;
         CREATE TABLE blobs_v8 ({});
         INSERT INTO blobs_v8(id, sha256, store_id, size, crlf_size, pack, offset, length, refcount, parsed)
             SELECT id, sha256, store_id, size, crlf_size, pack, offset, length, refcount,
                    summary IS NOT NULL FROM blobs;
         DROP TABLE blobs;
         ALTER TABLE blobs_v8 RENAME TO blobs;",
        super::schema::BLOB_TABLE
    ))?;
    Ok(())
}

/// Version 9: the `vanished` record (created by the schema just now) of
/// every folder, from the gaps between its UIDs and above the highest up
/// to UIDNEXT (when they went is not known: each range gets the folder's
/// HIGHESTMODSEQ); and the rows of `flags` (by message row) moved to
/// `user_flags` (by folder and UID).
pub fn to_version_9(tx: &Transaction) -> Result<()> {
    let had_flags: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flags')",
        [],
        |r| r.get(0),
    )?;
    if had_flags {
        tx.execute_batch(
            "INSERT OR IGNORE INTO user_flags(user_id, folder_id, uid, flags, keywords)
                 SELECT f.user_id, m.folder_id, m.uid, f.flags, f.keywords
                 FROM flags f JOIN messages m ON m.id = f.message_id;
             DROP TABLE flags;",
        )?;
    }
    tx.execute_batch(
        "INSERT OR IGNORE INTO vanished(folder_id, first_uid, last_uid, modseq)
         SELECT g.folder_id, g.first_uid, g.last_uid, f.highestmodseq
         FROM (SELECT m.folder_id,
                      coalesce(lag(m.uid) OVER (PARTITION BY m.folder_id ORDER BY m.uid), 0) + 1
                          AS first_uid,
                      m.uid - 1 AS last_uid
               FROM messages m
               UNION ALL
               SELECT f.id, coalesce(max(m.uid), 0) + 1, f.uidnext - 1
               FROM folders f LEFT JOIN messages m ON m.folder_id = f.id
               GROUP BY f.id) g
         JOIN folders f ON f.id = g.folder_id
         WHERE g.first_uid <= g.last_uid;",
    )?;
    Ok(())
}

/// Version 10: `folders.contents_modseq` (until now HIGHESTMODSEQ moved
/// only when messages came or went, so it is that) and `user_flags.modseq`
/// (0: no change known since the message came), unless the schema has
/// just made the table with it.
pub fn to_version_10(tx: &Transaction) -> Result<()> {
    if add_column(tx, "folders", "contents_modseq INTEGER NOT NULL DEFAULT 0")? {
        tx.execute_batch("UPDATE folders SET contents_modseq = highestmodseq;")?;
    }
    add_column(tx, "user_flags", "modseq INTEGER NOT NULL DEFAULT 0")?;
    Ok(())
}

/// Adds the column `definition` (its name first) to `table` unless the
/// table has it; true if added.
fn add_column(tx: &Transaction, table: &str, definition: &str) -> Result<bool> {
    let name = definition.split_whitespace().next().unwrap_or_default();
    let present: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
        [table, name],
        |r| r.get(0),
    )?;
    if !present {
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {definition};"))?;
    }
    Ok(!present)
}
