//! The catalog in SQLite. One connection behind a mutex: SQLite serialises
//! writers anyway, and every method is one short transaction.

use super::cached::{CACHED_STATEMENTS, CachedSql};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::ids::Table;
use super::{audit, changes, folder_admin, schema, upgrade, user_state};
use crate::archive::Folder;
use crate::archive::flags::{ChangedFlags, FlagChange, FlagState};
use crate::error::{Error, Result};
use crate::store::{
    AccessCatalog, ArchiveRecord, ArchiveStatistics, AuditFilter, AuditRecord, Authentication,
    BatchEntry, BlobLocation, BlobRecord, ComplianceSettings, EntryOutcome, FolderCatalog,
    FolderVersion, JournalCatalog, JournalCounts, MessageRecord, NewUser, PackCommit,
    RecordCatalog, Removed, Sha256, StoreCatalog, StoreRecord, StoreState, UserCatalog, UserRecord,
    UserStateCatalog,
};

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        match e {
            rusqlite::Error::SqliteFailure(f, ref msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Error::Invalid(format!(
                    "constraint violated: {}",
                    msg.as_deref().unwrap_or("?")
                ))
            }
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
                Error::NoSpace(format!("the catalog: {e}"))
            }
            e => Error::Storage(Box::new(e)),
        }
    }
}

pub struct SqliteCatalog {
    /// The one connection that writes.
    conn: Mutex<Connection>,
    /// Connections that only read: in WAL mode they read the last commit
    /// while the writer works, so sessions' reads do not queue behind
    /// another session's commit (and its fsync).
    readers: Vec<Mutex<Connection>>,
    /// The reader tried first by the next read.
    next_reader: std::sync::atomic::AtomicUsize,
}

/// Reading connections per catalog.
const READERS: usize = 4;

/// Runs `step` again while the database answers "busy", for up to 30 s.
fn when_free<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// SQL for the number of messages folder `f` holds, from its UIDNEXT and
/// the UIDs it no longer holds (the `vanished` ranges), without counting
/// message rows.
const HELD: &str = "f.uidnext - 1 - coalesce(
    (SELECT sum(v.last_uid - v.first_uid + 1) FROM vanished v WHERE v.folder_id = f.id), 0)";

impl SqliteCatalog {
    pub fn open(path: &Path) -> Result<SqliteCatalog> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        // WAL lets readers run beside the writer; FULL makes each commit
        // durable before an import reports it. Switching a new file to WAL
        // does not wait for another process doing the same: retried.
        when_free(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Foreign keys are enforced once the schema is current: an upgrade
        // rebuilds tables others refer to, which SQLite allows only with
        // them off (and they cannot be switched inside a transaction).
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        // Every transaction takes the write lock when it begins. One that
        // took it on its first write could find that another process wrote
        // since its reads, and SQLite then fails it at once ("database is
        // locked") instead of waiting.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // One transaction holding the write lock from the start: two
        // processes opening a new or older catalog at once must not both
        // create or upgrade it.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS blobs ({});",
            schema::BLOB_TABLE
        ))?;
        tx.execute_batch(schema::SCHEMA)?;
        let version: Option<i64> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok());
        match version {
            None => {
                tx.run(
                    "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)",
                    [schema::VERSION.to_string()],
                )?;
            }
            Some(v) if v > schema::VERSION => {
                return Err(Error::Invalid(format!(
                    "{} has schema version {v}, newer than this archimap ({})",
                    path.display(),
                    schema::VERSION
                )));
            }
            // The schema above has just added the new tables; new columns
            // are added here; an older archimap must then refuse it.
            Some(v) if v < schema::VERSION => {
                if v < 3 {
                    tx.run(
                        "ALTER TABLE folders ADD COLUMN noselect INTEGER NOT NULL DEFAULT 0",
                        [],
                    )?;
                }
                if v < 5 {
                    upgrade::to_version_5(&tx)?;
                }
                if v < 7 {
                    upgrade::to_version_7(&tx)?;
                }
                if v < 8 {
                    upgrade::to_version_8(&tx)?;
                }
                if v < 9 {
                    upgrade::to_version_9(&tx)?;
                }
                if v < 10 {
                    upgrade::to_version_10(&tx)?;
                }
                tx.run(
                    "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                    [schema::VERSION.to_string()],
                )?;
            }
            Some(_) => {}
        }
        tx.commit()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open(path)?;
                reader.busy_timeout(std::time::Duration::from_secs(30))?;
                reader.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
                reader.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_>>()?;
        Ok(SqliteCatalog {
            conn: Mutex::new(conn),
            readers,
            next_reader: Default::default(),
        })
    }

    /// A reading connection: a free one if there is one, else the next in
    /// turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        use std::sync::atomic::Ordering;
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..READERS {
            if let Ok(reader) = self.readers[(first + i) % READERS].try_lock() {
                return reader;
            }
        }
        // As for the writer: a panic leaves SQLite consistent.
        self.readers[first % READERS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent
        // (the transaction rolls back on drop), so the poison is ignored.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// As [`SqliteCatalog::in_transaction`], but the commit does not wait
    /// for the disk: the change survives the process dying (SIGKILL, a
    /// crash), not the machine losing power. For each user's own state
    /// (flags, `\Recent` marks), written at every STORE and every first
    /// read, as Dovecot writes its flag changes (fsync_mode=optimized);
    /// the next full commit makes it durable with everything before it.
    fn in_light_transaction<T>(&self, change: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let outcome = (|| {
            let tx = conn.transaction()?;
            let value = change(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        outcome
    }

    /// Runs `change` in one transaction: committed if it succeeds, rolled
    /// back if it fails.
    fn in_transaction<T>(&self, change: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let value = change(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

const USER_COLUMNS: &str =
    "id, name, full_name, authentication, password_hash, distinguished_name, privileges";

fn user_from_row(tx: &Connection, row: &Row) -> rusqlite::Result<UserRecord> {
    let id: i64 = row.get(0)?;
    let authentication: String = row.get(3)?;
    let mut stmt =
        tx.prepare_cached("SELECT address FROM user_emails WHERE user_id = ?1 ORDER BY address")?;
    let emails = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(UserRecord {
        id,
        name: row.get(1)?,
        full_name: row.get(2)?,
        authentication: authentication.parse().unwrap_or(Authentication::Integrated),
        password_hash: row.get(4)?,
        distinguished_name: row.get(5)?,
        privileges: row.get(6)?,
        emails,
    })
}

fn query_user(conn: &Connection, sql_where: &str, arg: &str) -> Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {sql_where}");
    Ok(conn
        .row(&sql, [arg], |row| user_from_row(conn, row))
        .optional()?)
}

fn set_emails(tx: &Transaction, user_id: i64, emails: &[String]) -> Result<()> {
    tx.run("DELETE FROM user_emails WHERE user_id = ?1", [user_id])?;
    for address in emails {
        let taken: Option<String> = tx
            .row(
                "SELECT u.name FROM user_emails e JOIN users u ON u.id = e.user_id WHERE e.address = ?1",
                [address],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(owner) = taken {
            return Err(Error::AlreadyExists(format!(
                "e-mail address {address} (of user {owner})"
            )));
        }
        tx.run(
            "INSERT INTO user_emails(address, user_id) VALUES (?1, ?2)",
            params![address, user_id],
        )?;
    }
    Ok(())
}

fn ensure_archive(tx: &Transaction, name: &str) -> Result<i64> {
    tx.run("INSERT OR IGNORE INTO archives(name) VALUES (?1)", [name])?;
    Ok(
        tx.row("SELECT id FROM archives WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

fn store_from_row(row: &Row) -> rusqlite::Result<StoreRecord> {
    let state: String = row.get(2)?;
    let path: String = row.get(3)?;
    Ok(StoreRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        state: state.parse().unwrap_or(StoreState::Disabled),
        path: path.into(),
    })
}

/// Inserts a store in `state` (a current one demotes the current store).
/// Creates the folder `path` and those above it that are missing, parents
/// first, so that every folder's parent exists; returns the paths created.
pub(super) fn ensure_path(tx: &Transaction, archive_id: i64, path: &str) -> Result<Vec<String>> {
    let mut created = Vec::new();
    let mut prefix = String::new();
    for segment in path.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(segment);
        if folder_by_path(tx, archive_id, &prefix)?.is_none() {
            let uidvalidity = next_uidvalidity(tx)?;
            tx.run(
                &format!(
                    "INSERT INTO folders(id, archive_id, path, uidvalidity, uidnext, highestmodseq, contents_modseq)
                     VALUES ({}, ?1, ?2, ?3, 1, 1, 1)",
                    Table::Folders.next_id()
                ),
                params![archive_id, prefix, uidvalidity],
            )?;
            created.push(prefix.clone());
        }
    }
    Ok(created)
}

fn insert_store(
    tx: &Transaction,
    name: &str,
    path: &Path,
    state: StoreState,
) -> Result<StoreRecord> {
    let exists: bool = tx.row(
        "SELECT EXISTS(SELECT 1 FROM stores WHERE name = ?1 OR path = ?2)",
        params![name, path.to_string_lossy()],
        |r| r.get(0),
    )?;
    if exists {
        return Err(Error::AlreadyExists(format!(
            "store {name} (or one at {})",
            path.display()
        )));
    }
    if state == StoreState::Current {
        tx.run(
            "UPDATE stores SET state = ?1 WHERE state = ?2",
            params![StoreState::Normal.as_str(), StoreState::Current.as_str()],
        )?;
    }
    tx.run(
        &format!(
            "INSERT INTO stores(id, name, state, path) VALUES ({}, ?1, ?2, ?3)",
            Table::Stores.next_id()
        ),
        params![name, state.as_str(), path.to_string_lossy()],
    )?;
    Ok(StoreRecord {
        id: tx.last_insert_rowid(),
        name: name.to_string(),
        state,
        path: path.to_path_buf(),
    })
}

pub(super) const BLOB_COLUMNS: &str = "b.id, b.sha256, b.store_id, b.size, b.pack, b.offset, b.length, b.refcount, b.parsed, b.crlf_size";

pub(super) fn blob_from_row(row: &Row, first: usize) -> rusqlite::Result<BlobRecord> {
    let sha: Vec<u8> = row.get(first + 1)?;
    let mut sha256 = [0u8; 32];
    if sha.len() == 32 {
        sha256.copy_from_slice(&sha);
    }
    Ok(BlobRecord {
        id: row.get(first)?,
        sha256,
        store_id: row.get(first + 2)?,
        size: row.get(first + 3)?,
        location: BlobLocation {
            pack: row.get(first + 4)?,
            offset: row.get(first + 5)?,
            length: row.get(first + 6)?,
        },
        refcount: row.get(first + 7)?,
        parsed: row.get(first + 8)?,
        crlf_size: row.get(first + 9)?,
    })
}

/// Without the number of messages: counting them costs milliseconds in a
/// folder of 100,000, and IMAP reads folders at every SELECT and LIST.
pub(super) const FOLDER_COLUMNS: &str = "f.id, f.archive_id, f.path, f.uidvalidity, f.uidnext, f.highestmodseq, f.noselect, f.contents_modseq";

pub(super) fn folder_from_row(row: &Row) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: row.get(0)?,
        archive_id: row.get(1)?,
        path: row.get(2)?,
        uidvalidity: row.get(3)?,
        uidnext: row.get(4)?,
        highestmodseq: row.get(5)?,
        noselect: row.get(6)?,
        contents_modseq: row.get(7)?,
    })
}

/// A UIDVALIDITY never handed out before: the clock, but always increasing,
/// so a folder recreated within the same second still gets a new one.
fn next_uidvalidity(tx: &Transaction) -> Result<u32> {
    let last: u32 = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'last_uidvalidity'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX - 1);
    let next = now.max(last.saturating_add(1));
    tx.run(
        "INSERT INTO meta(key, value) VALUES ('last_uidvalidity', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [next.to_string()],
    )?;
    Ok(next)
}

fn folder_by_path(conn: &Connection, archive_id: i64, path: &str) -> Result<Option<Folder>> {
    let sql =
        format!("SELECT {FOLDER_COLUMNS} FROM folders f WHERE f.archive_id = ?1 AND f.path = ?2");
    Ok(conn
        .row(&sql, params![archive_id, path], folder_from_row)
        .optional()?)
}

/// Legal hold, read inside the change's own transaction: a cached value
/// could be a moment behind a change made by another process.
fn refuse_under_legal_hold(tx: &Transaction) -> Result<()> {
    if audit::compliance(tx)?.legal_hold_enabled {
        return Err(Error::Refused(
            "Legal hold is on: nothing in the archive may be removed or moved".into(),
        ));
    }
    Ok(())
}

impl UserCatalog for SqliteCatalog {
    fn create_user(&self, user: &NewUser) -> Result<UserRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let exists: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
            [&user.name],
            |r| r.get(0),
        )?;
        if exists {
            return Err(Error::AlreadyExists(format!("user {}", user.name)));
        }
        tx.run(
            &format!(
                "INSERT INTO users(id, name, full_name, authentication, password_hash, distinguished_name, privileges)
                 VALUES ({}, ?1, ?2, ?3, ?4, ?5, ?6)",
                Table::Users.next_id()
            ),
            params![
                user.name,
                user.full_name,
                user.authentication.as_str(),
                user.password_hash,
                user.distinguished_name,
                user.privileges
            ],
        )?;
        let id = tx.last_insert_rowid();
        set_emails(&tx, id, &user.emails)?;
        let archive_id = ensure_archive(&tx, &user.name)?;
        if user.own_archive_privileges != 0 {
            tx.run(
                "INSERT INTO folder_privileges(user_id, archive_id, privileges) VALUES (?1, ?2, ?3)",
                params![id, archive_id, user.own_archive_privileges],
            )?;
        }
        let record = query_user(&tx, "id = CAST(?1 AS INTEGER)", &id.to_string())?
            .ok_or_else(|| Error::NotFound(format!("user {}", user.name)))?;
        tx.commit()?;
        Ok(record)
    }

    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>> {
        query_user(&self.reader(), "name = lower(?1)", name)
    }

    fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        query_user(&self.reader(), "id = CAST(?1 AS INTEGER)", &id.to_string())
    }

    fn access_generation(&self) -> Result<u64> {
        let value: i64 = self.reader().row(
            "SELECT value FROM access_generation WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        Ok(value as u64)
    }

    fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
        query_user(
            &self.reader(),
            "name = lower(?1) OR id = (SELECT user_id FROM user_emails WHERE address = lower(?1))",
            login,
        )
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
        let users = stmt
            .query_map([], |row| user_from_row(&conn, row))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(users)
    }

    fn update_user(&self, user: &UserRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let changed = tx.run(
            "UPDATE users SET full_name = ?2, authentication = ?3, password_hash = ?4,
                              distinguished_name = ?5, privileges = ?6 WHERE id = ?1",
            params![
                user.id,
                user.full_name,
                user.authentication.as_str(),
                user.password_hash,
                user.distinguished_name,
                user.privileges
            ],
        )?;
        if changed == 0 {
            return Err(Error::NotFound(format!("user {}", user.name)));
        }
        set_emails(&tx, user.id, &user.emails)?;
        tx.commit()?;
        Ok(())
    }

    fn rename_user(&self, id: i64, new_name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let old: String = tx
            .row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("user #{id}")))?;
        let taken: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
            [new_name],
            |r| r.get(0),
        )?;
        if taken {
            return Err(Error::AlreadyExists(format!("user {new_name}")));
        }
        let archive_taken: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM archives WHERE name = ?1)",
            [new_name],
            |r| r.get(0),
        )?;
        if archive_taken {
            return Err(Error::AlreadyExists(format!("archive {new_name}")));
        }
        tx.run(
            "UPDATE users SET name = ?2 WHERE id = ?1",
            params![id, new_name],
        )?;
        tx.run(
            "UPDATE archives SET name = ?2 WHERE name = ?1",
            params![old, new_name],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn delete_user(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Cascades to e-mail addresses, privileges, flags and subscriptions.
        if tx.run("DELETE FROM users WHERE id = ?1", [id])? == 0 {
            return Err(Error::NotFound(format!("user #{id}")));
        }
        Table::Users.removed(&tx, id)?;
        tx.commit()?;
        Ok(())
    }
}

impl AccessCatalog for SqliteCatalog {
    fn archive_by_name(&self, name: &str) -> Result<Option<ArchiveRecord>> {
        Ok(self
            .reader()
            .row(
                "SELECT id, name FROM archives WHERE name = lower(?1)",
                [name],
                |r| {
                    Ok(ArchiveRecord {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn archives(&self) -> Result<Vec<ArchiveRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached("SELECT id, name FROM archives ORDER BY name")?;
        let archives = stmt
            .query_map([], |r| {
                Ok(ArchiveRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(archives)
    }

    fn set_folder_privileges(&self, user_id: i64, archive_id: i64, bits: u8) -> Result<()> {
        let conn = self.conn();
        if bits == 0 {
            conn.run(
                "DELETE FROM folder_privileges WHERE user_id = ?1 AND archive_id = ?2",
                params![user_id, archive_id],
            )?;
        } else {
            conn.run(
                "INSERT INTO folder_privileges(user_id, archive_id, privileges) VALUES (?1, ?2, ?3)
                 ON CONFLICT(user_id, archive_id) DO UPDATE SET privileges = excluded.privileges",
                params![user_id, archive_id, bits],
            )?;
        }
        Ok(())
    }

    fn folder_privileges(&self, user_id: i64) -> Result<Vec<(ArchiveRecord, u8)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.name, p.privileges FROM folder_privileges p
             JOIN archives a ON a.id = p.archive_id WHERE p.user_id = ?1 ORDER BY a.name",
        )?;
        let grants = stmt
            .query_map([user_id], |r| {
                Ok((
                    ArchiveRecord {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    },
                    r.get(2)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(grants)
    }

    fn clear_folder_privileges(&self, user_id: i64) -> Result<()> {
        self.conn().run(
            "DELETE FROM folder_privileges WHERE user_id = ?1",
            [user_id],
        )?;
        Ok(())
    }
}

impl StoreCatalog for SqliteCatalog {
    fn stores(&self) -> Result<Vec<StoreRecord>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached("SELECT id, name, state, path FROM stores ORDER BY id")?;
        let stores = stmt
            .query_map([], store_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(stores)
    }

    fn create_store(&self, name: &str, path: &Path) -> Result<StoreRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let count: i64 = tx.row("SELECT count(*) FROM stores", [], |r| r.get(0))?;
        let state = if count == 0 {
            StoreState::Current
        } else {
            StoreState::Normal
        };
        let store = insert_store(&tx, name, path, state)?;
        tx.commit()?;
        Ok(store)
    }

    fn add_store(&self, name: &str, path: &Path, state: StoreState) -> Result<StoreRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let store = insert_store(&tx, name, path, state)?;
        tx.commit()?;
        Ok(store)
    }

    fn rename_store(&self, id: i64, name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let taken: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM stores WHERE name = ?1 AND id <> ?2)",
            params![name, id],
            |r| r.get(0),
        )?;
        if taken {
            return Err(Error::AlreadyExists(format!("store {name}")));
        }
        if tx.run(
            "UPDATE stores SET name = ?2 WHERE id = ?1",
            params![id, name],
        )? == 0
        {
            return Err(Error::NotFound(format!("store #{id}")));
        }
        tx.commit()?;
        Ok(())
    }

    fn remove_store(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Checked again here, in the transaction: an import may have
        // filed into the store since the caller looked.
        let (state, blobs): (String, i64) = tx
            .row(
                "SELECT state, (SELECT count(*) FROM blobs WHERE store_id = ?1)
                 FROM stores WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("store #{id}")))?;
        if state == StoreState::Current.as_str() || blobs > 0 {
            return Err(Error::Refused(format!(
                "store #{id} is current or holds messages"
            )));
        }
        tx.run("DELETE FROM packs WHERE store_id = ?1", [id])?;
        tx.run("DELETE FROM stores WHERE id = ?1", [id])?;
        Table::Stores.removed(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    fn store_blob_count(&self, store_id: i64) -> Result<u64> {
        Ok(self.reader().row(
            "SELECT count(*) FROM blobs WHERE store_id = ?1",
            [store_id],
            |r| r.get(0),
        )?)
    }

    fn set_store_state(&self, id: i64, state: StoreState) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if state == StoreState::Current {
            tx.run(
                "UPDATE stores SET state = ?1 WHERE state = ?2 AND id <> ?3",
                params![
                    StoreState::Normal.as_str(),
                    StoreState::Current.as_str(),
                    id
                ],
            )?;
        }
        if tx.run(
            "UPDATE stores SET state = ?2 WHERE id = ?1",
            params![id, state.as_str()],
        )? == 0
        {
            return Err(Error::NotFound(format!("store #{id}")));
        }
        tx.commit()?;
        Ok(())
    }

    fn pack_lengths(&self, store_id: i64) -> Result<Vec<(u32, u64)>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT pack, length FROM packs WHERE store_id = ?1 ORDER BY pack")?;
        let packs = stmt
            .query_map([store_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(packs)
    }
}

impl FolderCatalog for SqliteCatalog {
    fn folders(&self, archive_id: i64) -> Result<Vec<Folder>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {FOLDER_COLUMNS} FROM folders f WHERE f.archive_id = ?1 ORDER BY f.path"
        ))?;
        let folders = stmt
            .query_map([archive_id], folder_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(folders)
    }

    fn ensure_folder(
        &self,
        archive_id: i64,
        path: &str,
        subscribe_holders_of: Option<u8>,
    ) -> Result<Folder> {
        let mut conn = self.conn();
        if let Some(folder) = folder_by_path(&conn, archive_id, path)? {
            return Ok(folder);
        }
        let tx = conn.transaction()?;
        for created in ensure_path(&tx, archive_id, path)? {
            if let Some(bits) = subscribe_holders_of {
                user_state::subscribe_holders(&tx, archive_id, &created, bits)?;
            }
        }
        let folder = folder_by_path(&tx, archive_id, path)?
            .ok_or_else(|| Error::NotFound(format!("folder {path}")))?;
        tx.commit()?;
        Ok(folder)
    }

    fn messages(&self, folder_id: i64) -> Result<Vec<MessageRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT m.uid, m.internal_date, m.modseq, {BLOB_COLUMNS} FROM messages m
             JOIN blobs b ON b.id = m.blob_id WHERE m.folder_id = ?1 ORDER BY m.uid"
        ))?;
        let messages = stmt
            .query_map([folder_id], |r| {
                Ok(MessageRecord {
                    uid: r.get(0)?,
                    internal_date: r.get(1)?,
                    modseq: r.get(2)?,
                    blob: blob_from_row(r, 3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(messages)
    }

    fn blob_by_sha(&self, sha256: &Sha256) -> Result<Option<BlobRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {BLOB_COLUMNS} FROM blobs b WHERE b.sha256 = ?1"
        ))?;
        Ok(stmt
            .query_row([&sha256[..]], |r| blob_from_row(r, 0))
            .optional()?)
    }

    fn messages_with_uids(&self, folder_id: i64, uids: &[u32]) -> Result<Vec<MessageRecord>> {
        let conn = self.reader();
        let mut messages = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT m.uid, m.internal_date, m.modseq, {BLOB_COLUMNS} FROM messages m
                 JOIN blobs b ON b.id = m.blob_id WHERE m.folder_id = ? AND m.uid IN ({marks})"
            ))?;
            let params = std::iter::once(folder_id).chain(chunk.iter().map(|&u| i64::from(u)));
            let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
                Ok(MessageRecord {
                    uid: r.get(0)?,
                    internal_date: r.get(1)?,
                    modseq: r.get(2)?,
                    blob: blob_from_row(r, 3)?,
                })
            })?;
            messages.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
        }
        messages.sort_by_key(|m| m.uid);
        Ok(messages)
    }

    fn blob_headers(&self, blob_ids: &[i64]) -> Result<Vec<(i64, Vec<u8>)>> {
        let conn = self.reader();
        let mut headers = Vec::with_capacity(blob_ids.len());
        // One query per chunk, not per blob: a first sync asks for all of them.
        for chunk in blob_ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT blob_id, header FROM blob_texts WHERE blob_id IN ({marks}) AND header IS NOT NULL"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(chunk), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            headers.extend(rows.collect::<rusqlite::Result<Vec<(i64, Vec<u8>)>>>()?);
        }
        Ok(headers)
    }

    fn blob_count(&self) -> Result<u64> {
        Ok(self
            .reader()
            .row("SELECT count(*) FROM blobs", [], |r| r.get(0))?)
    }

    fn blobs_after(&self, after: i64, limit: usize) -> Result<Vec<BlobRecord>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {BLOB_COLUMNS} FROM blobs b WHERE b.id > ?1 ORDER BY b.id LIMIT ?2"
        ))?;
        let blobs = stmt
            .query_map(params![after, limit as i64], |r| blob_from_row(r, 0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(blobs)
    }

    fn commit_batch(
        &self,
        entries: &[BatchEntry],
        packs: &[PackCommit],
        audit: &dyn Fn(&[EntryOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<EntryOutcome>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut outcomes = Vec::with_capacity(entries.len());
        {
            let mut find_blob = tx.prepare_cached("SELECT id FROM blobs WHERE sha256 = ?1")?;
            let mut insert_blob = tx.prepare_cached(&format!(
                "INSERT INTO blobs(id, sha256, store_id, size, crlf_size, pack, offset, length, refcount, parsed)
                 VALUES ({}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
                Table::Blobs.next_id()
            ))?;
            let mut insert_texts = tx.prepare_cached(
                "INSERT INTO blob_texts(blob_id, header, summary) VALUES (?1, ?2, ?3)",
            )?;
            let mut in_folder = tx.prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM messages WHERE folder_id = ?1 AND blob_id = ?2)",
            )?;
            let mut bump_folder = tx.prepare_cached(
                "UPDATE folders SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
                     contents_modseq = highestmodseq + 1
                 WHERE id = ?1 RETURNING uidnext - 1, highestmodseq",
            )?;
            let mut insert_message = tx.prepare_cached(
                "INSERT INTO messages(folder_id, uid, blob_id, internal_date, modseq) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut bump_refcount =
                tx.prepare_cached("UPDATE blobs SET refcount = refcount + 1 WHERE id = ?1")?;
            let mut insert_flags = tx.prepare_cached(
                "INSERT OR REPLACE INTO user_flags(user_id, folder_id, uid, flags, keywords)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;

            for entry in entries {
                let sha = &entry.sha256[..];
                let blob_id: i64 = match find_blob.query_row([sha], |r| r.get(0)).optional()? {
                    Some(id) => id,
                    None => {
                        // Stored when the caller looked, since gone.
                        let new = entry
                            .new_blob
                            .as_ref()
                            .ok_or_else(|| Error::Expunged(hex::encode(sha)))?;
                        insert_blob.execute(params![
                            sha,
                            new.store_id,
                            new.size,
                            new.crlf_size,
                            new.location.pack,
                            new.location.offset,
                            new.location.length,
                            new.summary.is_some(),
                        ])?;
                        let id = tx.last_insert_rowid();
                        insert_texts.execute(params![id, new.header, new.summary])?;
                        id
                    }
                };
                if entry.skip_if_held
                    && in_folder
                        .query_row(params![entry.folder_id, blob_id], |r| r.get::<_, bool>(0))?
                {
                    outcomes.push(EntryOutcome::Duplicate);
                    continue;
                }
                let (uid, modseq): (u32, i64) =
                    bump_folder.query_row([entry.folder_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                insert_message.execute(params![
                    entry.folder_id,
                    uid,
                    blob_id,
                    entry.internal_date,
                    modseq
                ])?;
                bump_refcount.execute([blob_id])?;
                if let Some((user_id, flags)) = &entry.flags
                    && *flags != FlagState::default()
                {
                    let keywords = flags.keywords.join(" ");
                    insert_flags.execute(params![
                        user_id,
                        entry.folder_id,
                        uid,
                        flags.bits,
                        keywords
                    ])?;
                }
                outcomes.push(EntryOutcome::Added { uid });
            }
            let mut set_pack = tx.prepare_cached(
                "INSERT INTO packs(store_id, pack, length) VALUES (?1, ?2, ?3)
                 ON CONFLICT(store_id, pack) DO UPDATE SET length = excluded.length",
            )?;
            for pack in packs {
                set_pack.execute(params![pack.store_id, pack.pack, pack.length])?;
            }
        }
        audit::insert(&tx, &audit(&outcomes))?;
        tx.commit()?;
        Ok(outcomes)
    }

    fn recreate_folder(&self, folder_id: i64) -> Result<Folder> {
        self.in_transaction(|tx| {
            let uidvalidity = next_uidvalidity(tx)?;
            // A new folder to every session: one that still holds the old
            // one (its UIDVALIDITY) reads it again.
            tx.run(
                "UPDATE folders SET noselect = 0, uidvalidity = ?2,
                     highestmodseq = highestmodseq + 1, contents_modseq = highestmodseq + 1
                 WHERE id = ?1",
                params![folder_id, uidvalidity],
            )?;
            let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders f WHERE f.id = ?1");
            Ok(tx.row(&sql, [folder_id], folder_from_row)?)
        })
    }

    fn folder_by_uidvalidity(&self, uidvalidity: u32) -> Result<Option<Folder>> {
        folder_admin::folder_by_uidvalidity(&self.reader(), uidvalidity)
    }

    fn message_summaries(&self, folder_id: i64) -> Result<Vec<(MessageRecord, Option<String>)>> {
        folder_admin::message_summaries(&self.reader(), folder_id)
    }

    fn archive_statistics(&self) -> Result<Vec<ArchiveStatistics>> {
        folder_admin::archive_statistics(&self.reader())
    }

    fn delete_empty_folders(&self, folder_ids: &[i64], audit: &[AuditRecord]) -> Result<()> {
        self.in_transaction(|tx| {
            refuse_under_legal_hold(tx)?;
            folder_admin::delete_empty_folders(tx, folder_ids)?;
            Ok(audit::insert(tx, audit)?)
        })
    }

    fn folders_in_stores(&self, store_ids: &[i64]) -> Result<Vec<i64>> {
        let conn = self.reader();
        let marks = vec!["?"; store_ids.len()].join(",");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT DISTINCT m.folder_id FROM messages m JOIN blobs b ON b.id = m.blob_id
             WHERE b.store_id IN ({marks})"
        ))?;
        let folders = stmt
            .query_map(rusqlite::params_from_iter(store_ids), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(folders)
    }

    fn folder(&self, id: i64) -> Result<Option<Folder>> {
        let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders f WHERE f.id = ?1");
        Ok(self.reader().row(&sql, [id], folder_from_row).optional()?)
    }

    fn message_counts(&self, archive_id: i64) -> Result<std::collections::HashMap<i64, u64>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT f.id, {HELD} FROM folders f WHERE f.archive_id = ?1"
        ))?;
        let counts = stmt
            .query_map([archive_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(counts)
    }

    fn folder_uids(&self, folder_id: i64, uidnext: u32) -> Result<Vec<u32>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT first_uid, last_uid FROM vanished WHERE folder_id = ?1 AND first_uid < ?2
             ORDER BY first_uid",
        )?;
        let gaps = stmt.query_map(params![folder_id, uidnext], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?))
        })?;
        let mut uids = Vec::new();
        let mut next = 1;
        for gap in gaps {
            let (first, last) = gap?;
            uids.extend(next..first);
            next = last.saturating_add(1);
        }
        uids.extend(next..uidnext);
        Ok(uids)
    }

    fn folder_version(&self, id: i64) -> Result<Option<FolderVersion>> {
        Ok(self
            .reader()
            .prepare_cached(
                "SELECT uidvalidity, uidnext, contents_modseq FROM folders WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    fn highest_modseq(&self, id: i64) -> Result<Option<u64>> {
        Ok(self
            .reader()
            .prepare_cached("SELECT highestmodseq FROM folders WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn vanished_since(&self, folder_id: i64, after: u64) -> Result<Vec<(u32, u32)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT first_uid, last_uid FROM vanished WHERE folder_id = ?1 AND modseq > ?2
             ORDER BY first_uid",
        )?;
        let ranges = stmt
            .query_map(params![folder_id, after], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ranges)
    }

    fn copy_messages(
        &self,
        from: i64,
        uids: &[u32],
        to: i64,
        remove_source: bool,
        audit: &[AuditRecord],
    ) -> Result<Vec<(u32, u32)>> {
        self.in_transaction(|tx| {
            if remove_source {
                refuse_under_legal_hold(tx)?;
            }
            let pairs = changes::copy(tx, from, uids, to, remove_source)?;
            audit::insert(tx, audit)?;
            Ok(pairs)
        })
    }

    fn expunge(&self, folder_id: i64, uids: &[u32], audit: &[AuditRecord]) -> Result<Vec<Removed>> {
        self.in_transaction(|tx| {
            refuse_under_legal_hold(tx)?;
            let removed = changes::expunge(tx, folder_id, uids)?;
            audit::insert(tx, audit)?;
            Ok(removed)
        })
    }

    fn rename_folder(&self, folder_id: i64, new_path: &str, audit: &[AuditRecord]) -> Result<()> {
        self.in_transaction(|tx| {
            refuse_under_legal_hold(tx)?;
            changes::rename_folder(tx, folder_id, new_path)?;
            Ok(audit::insert(tx, audit)?)
        })
    }

    fn delete_folder(
        &self,
        folder_id: i64,
        keep_name: bool,
        audit: &[AuditRecord],
    ) -> Result<Vec<Removed>> {
        self.in_transaction(|tx| {
            refuse_under_legal_hold(tx)?;
            let removed = changes::delete_folder(tx, folder_id, keep_name)?;
            audit::insert(tx, audit)?;
            Ok(removed)
        })
    }
}

impl UserStateCatalog for SqliteCatalog {
    fn flags(
        &self,
        user_id: i64,
        folder_id: i64,
        from_uid: u32,
    ) -> Result<Vec<(u32, FlagState, u64)>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT uid, flags, keywords, modseq FROM user_flags
             WHERE user_id = ?1 AND folder_id = ?2 AND uid >= ?3
               AND (flags <> 0 OR keywords <> '' OR modseq <> 0)",
        )?;
        let flags = stmt
            .query_map(params![user_id, folder_id, from_uid], |r| {
                Ok((r.get(0)?, flag_state(r.get(1)?, r.get(2)?), r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(flags)
    }

    fn change_flags(
        &self,
        user_id: i64,
        folder_id: i64,
        uid: u32,
        change: &FlagChange,
    ) -> Result<ChangedFlags> {
        self.in_light_transaction(|tx| {
            let came: u64 = tx
                .prepare_cached("SELECT modseq FROM messages WHERE folder_id = ?1 AND uid = ?2")?
                .query_row(params![folder_id, uid], |r| r.get(0))
                .optional()?
                .ok_or_else(|| Error::Expunged(format!("message UID {uid}")))?;
            let (current, changed) = tx
                .row(
                    "SELECT flags, keywords, modseq FROM user_flags
                     WHERE user_id = ?1 AND folder_id = ?2 AND uid = ?3",
                    params![user_id, folder_id, uid],
                    |r| Ok((flag_state(r.get(0)?, r.get(1)?), r.get::<_, u64>(2)?)),
                )
                .optional()?
                .unwrap_or_default();
            if change
                .unchanged_since
                .is_some_and(|limit| came.max(changed) > limit)
            {
                return Ok(ChangedFlags {
                    flags: current,
                    altered: false,
                    modseq: 0,
                    refused: true,
                });
            }
            let flags = change.apply(&current)?;
            let altered = flags != current;
            let mut modseq = 0;
            if altered {
                modseq = tx
                    .prepare_cached(
                        "UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = ?1
                         RETURNING highestmodseq",
                    )?
                    .query_row([folder_id], |r| r.get(0))?;
                write_flags(tx, user_id, folder_id, uid, &flags, modseq)?;
            }
            Ok(ChangedFlags {
                flags,
                altered,
                modseq,
                refused: false,
            })
        })
    }

    fn subscriptions(&self, user_id: i64) -> Result<Vec<(i64, String)>> {
        user_state::subscriptions(&self.reader(), user_id)
    }

    fn set_subscribed(
        &self,
        user_id: i64,
        archive_id: i64,
        path: &str,
        subscribed: bool,
    ) -> Result<()> {
        user_state::set_subscribed(&self.conn(), user_id, archive_id, path, subscribed)
    }

    fn subscribe_archive(&self, user_id: i64, archive_id: i64) -> Result<()> {
        user_state::subscribe_archive(&self.conn(), user_id, archive_id)
    }

    fn first_recent(&self, user_id: i64, folder_id: i64) -> Result<u32> {
        user_state::first_recent(&self.reader(), user_id, folder_id)
    }

    fn claim_recent(&self, user_id: i64, folder_id: i64, up_to: u32) -> Result<u32> {
        self.in_light_transaction(|tx| user_state::claim_recent(tx, user_id, folder_id, up_to))
    }
}

impl RecordCatalog for SqliteCatalog {
    fn record_audit(&self, records: &[AuditRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        audit::insert(&tx, records)?;
        tx.commit()?;
        Ok(())
    }

    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        Ok(audit::query(&self.reader(), filter)?)
    }

    fn compliance(&self) -> Result<ComplianceSettings> {
        Ok(audit::compliance(&self.reader())?)
    }

    fn set_compliance(&self, settings: &ComplianceSettings, records: &[AuditRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        audit::set_compliance(&tx, settings)?;
        audit::insert(&tx, records)?;
        tx.commit()?;
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .reader()
            .row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_setting(&self, key: &str, value: &str, records: &[AuditRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.run(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        audit::insert(&tx, records)?;
        tx.commit()?;
        Ok(())
    }

    fn check_consistency(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut problems = Vec::new();
        let integrity: Vec<String> = conn
            .prepare_cached("PRAGMA integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        problems.extend(
            integrity
                .into_iter()
                .filter(|line| line != "ok")
                .map(|l| format!("database: {l}")),
        );
        let checks: [(&str, &str); 10] = [
            (
                "SELECT 'blob ' || hex(b.sha256) || ' is stored but no message refers to it'
                 FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)",
                "orphans",
            ),
            (
                "SELECT 'blob ' || hex(b.sha256) || ' has reference count ' || b.refcount ||
                        ' but ' || count(m.id) || ' message(s) refer to it'
                 FROM blobs b LEFT JOIN messages m ON m.blob_id = b.id
                 GROUP BY b.id HAVING b.refcount <> count(m.id) AND count(m.id) > 0",
                "reference count",
            ),
            (
                "SELECT 'folder #' || f.id || ' (' || f.path || ') has UIDNEXT ' || f.uidnext ||
                        ' but holds UID ' || max(m.uid)
                 FROM folders f JOIN messages m ON m.folder_id = f.id
                 GROUP BY f.id HAVING max(m.uid) >= f.uidnext",
                "UIDNEXT",
            ),
            (
                "SELECT 'folder #' || f.id || ' (' || f.path || ') has HIGHESTMODSEQ ' || f.highestmodseq ||
                        ' below a message modseq ' || max(m.modseq)
                 FROM folders f JOIN messages m ON m.folder_id = f.id
                 GROUP BY f.id HAVING max(m.modseq) > f.highestmodseq",
                "HIGHESTMODSEQ",
            ),
            (
                "SELECT 'folder #' || f.id || ' (' || f.path || ') has HIGHESTMODSEQ ' || f.highestmodseq ||
                        ' below a flag change at ' || max(u.modseq) || ', or its messages last changed at ' ||
                        f.contents_modseq
                 FROM folders f LEFT JOIN user_flags u ON u.folder_id = f.id
                 GROUP BY f.id
                 HAVING coalesce(max(u.modseq), 0) > f.highestmodseq
                     OR f.contents_modseq > f.highestmodseq",
                "flag mod-sequences",
            ),
            (
                "SELECT 'blob ' || hex(b.sha256) || ' lies beyond the committed length of pack ' || b.pack
                 FROM blobs b LEFT JOIN packs p ON p.store_id = b.store_id AND p.pack = b.pack
                 WHERE p.length IS NULL OR b.offset + b.length > p.length",
                "pack bounds",
            ),
            (
                "SELECT 'folder #' || f.id || ' (' || f.path || ') has no parent folder'
                 FROM folders f WHERE instr(f.path, '/') > 0 AND NOT EXISTS (
                     SELECT 1 FROM folders p WHERE p.archive_id = f.archive_id
                     AND f.path LIKE p.path || '/%' AND instr(substr(f.path, length(p.path) + 2), '/') = 0)",
                "folder tree",
            ),
            (
                "SELECT 'folder #' || f.id || ' (' || f.path || ') holds UID ' || m.uid ||
                        ' recorded as gone'
                 FROM vanished v JOIN messages m ON m.folder_id = v.folder_id
                     AND m.uid BETWEEN v.first_uid AND v.last_uid
                 JOIN folders f ON f.id = v.folder_id",
                "vanished UIDs",
            ),
            (
                &format!(
                    "SELECT 'folder #' || id || ' (' || path || ') holds ' || held ||
                            ' messages but its UIDs less those gone leave ' || left
                     FROM (SELECT f.id, f.path, {HELD} AS left,
                                  (SELECT count(*) FROM messages m WHERE m.folder_id = f.id) AS held
                           FROM folders f)
                     WHERE held <> left"
                ),
                "message count",
            ),
            ("SELECT 'foreign key violation in ' || \"table\" FROM pragma_foreign_key_check", "foreign keys"),
        ];
        for (sql, what) in checks {
            let found: Vec<String> = conn
                .prepare_cached(sql)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| Error::Storage(format!("{what} check: {e}").into()))?;
            problems.extend(found);
        }
        Ok(problems)
    }
}

/// Fails with `Expunged` unless the folder holds a message with this UID.
/// A row of `user_flags`: the bits, and the keywords separated by spaces.
fn flag_state(bits: u32, keywords: Option<String>) -> FlagState {
    FlagState {
        bits,
        keywords: keywords
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    }
}

/// Stores a user's flags on a message, replacing what was there.
fn write_flags(
    conn: &Connection,
    user_id: i64,
    folder_id: i64,
    uid: u32,
    flags: &FlagState,
    modseq: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO user_flags(user_id, folder_id, uid, flags, keywords, modseq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(user_id, folder_id, uid)
         DO UPDATE SET flags = excluded.flags, keywords = excluded.keywords,
             modseq = excluded.modseq",
    )?
    .execute(params![
        user_id,
        folder_id,
        uid,
        flags.bits,
        flags.keywords.join(" "),
        modseq
    ])?;
    Ok(())
}

impl JournalCatalog for SqliteCatalog {
    fn add_journal_counts(&self, delta: &JournalCounts) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (key, value) in journal_fields(delta) {
            tx.run(
                "INSERT INTO journal_counts(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                params![key, value],
            )?;
        }
        if let Some(last) = delta.last_filed {
            tx.run(
                "INSERT INTO journal_counts(key, value) VALUES ('last_filed', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
                [last],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn journal_counts(&self) -> Result<JournalCounts> {
        let reader = self.reader();
        let mut statement = reader.prepare_cached("SELECT key, value FROM journal_counts")?;
        let mut counts = JournalCounts::default();
        let rows =
            statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (key, value) = row?;
            match key.as_str() {
                "filed" => counts.filed = value as u64,
                "places" => counts.places = value as u64,
                "again" => counts.again = value as u64,
                "catch_all" => counts.catch_all = value as u64,
                "refused" => counts.refused = value as u64,
                "failed" => counts.failed = value as u64,
                "last_filed" => counts.last_filed = Some(value),
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// The counts of `counts` by the names they are stored under.
fn journal_fields(counts: &JournalCounts) -> [(&'static str, i64); 6] {
    [
        ("filed", counts.filed as i64),
        ("places", counts.places as i64),
        ("again", counts.again as i64),
        ("catch_all", counts.catch_all as i64),
        ("refused", counts.refused as i64),
        ("failed", counts.failed as i64),
    ]
}
