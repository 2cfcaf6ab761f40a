//! The catalog's SQLite schema.

/// Bumped when the schema changes; `open` refuses a newer database.
/// 2: the audit log and the compliance settings, which a version-1
/// archimap would ignore. 3: `\Noselect` folders. 4: settings made
/// through the admin API (directory services), which a version-3
/// archimap would ignore. 5: a folder may hold the same bytes twice (IMAP
/// APPEND, COPY and MOVE always add a message), subscriptions are names
/// (archive and path) rather than folders, and each user's `\Recent`
/// high-water mark per folder.
/// 6: the access generation and the triggers that keep it, which a
/// version-5 archimap's sessions would not read. 7: the compliance
/// setting for a record per imported message, which a version-6
/// archimap would not honour. 8: headers and summaries in `blob_texts`,
/// out of `blobs`, which a version-7 archimap would not find. 9: the
/// record of the UIDs each folder no longer holds (`vanished`), which a
/// version-8 archimap would not keep, and flags by folder and UID
/// (`user_flags`, was `flags` by message row), which it would not find.
/// 10: each folder's `contents_modseq` and the mod-sequence of each user's
/// last flag change (`user_flags.modseq`, CONDSTORE): flag changes take
/// mod-sequences from the folder's HIGHESTMODSEQ, which a version-9
/// archimap would take as messages that came or went.
pub const VERSION: i64 = 10;

/// The columns of `blobs`, apart from [`SCHEMA`] because the version-8
/// upgrade builds the table anew from them.
pub const BLOB_TABLE: &str = "
    id       INTEGER PRIMARY KEY,
    sha256   BLOB NOT NULL UNIQUE,
    store_id INTEGER NOT NULL REFERENCES stores(id),
    size     INTEGER NOT NULL,
    crlf_size INTEGER NOT NULL,
    pack     INTEGER NOT NULL,
    offset   INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    refcount INTEGER NOT NULL,
    -- Whether the message could be parsed (it has a summary).
    parsed   INTEGER NOT NULL
";

/// Every table but `blobs` ([`BLOB_TABLE`]), created where missing.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    full_name          TEXT NOT NULL DEFAULT '',
    authentication     TEXT NOT NULL,
    password_hash      TEXT,
    distinguished_name TEXT,
    privileges         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS user_emails (
    address TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS user_emails_user ON user_emails(user_id);

CREATE TABLE IF NOT EXISTS archives (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS folder_privileges (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    archive_id INTEGER NOT NULL REFERENCES archives(id),
    privileges INTEGER NOT NULL,
    PRIMARY KEY (user_id, archive_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stores (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    state TEXT NOT NULL,
    path  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS packs (
    store_id INTEGER NOT NULL REFERENCES stores(id),
    pack     INTEGER NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (store_id, pack)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS folders (
    id            INTEGER PRIMARY KEY,
    archive_id    INTEGER NOT NULL REFERENCES archives(id),
    path          TEXT NOT NULL,
    uidvalidity   INTEGER NOT NULL,
    uidnext       INTEGER NOT NULL,
    -- The last mod-sequence given out (RFC 7162): to a message that came
    -- or went, or to any user's flag change on one.
    highestmodseq INTEGER NOT NULL,
    -- The mod-sequence of the last message to come or go: which messages
    -- the folder holds changed when it moves (flag changes leave it).
    contents_modseq INTEGER NOT NULL DEFAULT 0,
    -- Deleted while it had sub-folders: kept as a \Noselect name (RFC 3501).
    noselect      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (archive_id, path)
);

-- What is kept of a blob beside its location: the header block (ENVELOPE
-- and header fields answered without reading the message) and the summary
-- (JSON, for the admin API). Apart from `blobs`, whose rows every SELECT
-- of a folder joins: with a header in each, a folder of 100,000 messages
-- took a read of hundreds of megabytes when not cached.
CREATE TABLE IF NOT EXISTS blob_texts (
    blob_id INTEGER PRIMARY KEY REFERENCES blobs(id),
    header  BLOB,
    summary TEXT
);

CREATE TABLE IF NOT EXISTS messages (
    id            INTEGER PRIMARY KEY,
    folder_id     INTEGER NOT NULL REFERENCES folders(id),
    uid           INTEGER NOT NULL,
    blob_id       INTEGER NOT NULL REFERENCES blobs(id),
    internal_date INTEGER NOT NULL,
    modseq        INTEGER NOT NULL,
    UNIQUE (folder_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_blob ON messages(blob_id);
-- Not unique: IMAP may file the same bytes into a folder twice; imports
-- look here to skip bytes a folder holds already.
CREATE INDEX IF NOT EXISTS messages_folder_blob ON messages(folder_id, blob_id);

-- The UIDs below UIDNEXT a folder does not hold (expunged, moved out), as
-- ranges, each with the HIGHESTMODSEQ of the change that last extended it.
-- A folder's messages are the UIDs from 1 to UIDNEXT - 1 outside these
-- ranges: opening a folder reads these few rows rather than an index
-- entry per message (a 100,000-message folder read cold took hundreds of
-- scattered page reads). Adjacent ranges are merged, so a folder has at
-- most one range more than messages.
CREATE TABLE IF NOT EXISTS vanished (
    folder_id INTEGER NOT NULL REFERENCES folders(id),
    first_uid INTEGER NOT NULL,
    last_uid  INTEGER NOT NULL,
    modseq    INTEGER NOT NULL,
    PRIMARY KEY (folder_id, first_uid)
) WITHOUT ROWID;

-- Each user's flags on the messages they see, by folder and UID: opening a
-- folder reads one range of it, and a message that goes takes its rows
-- with it through `user_flags_message`.
CREATE TABLE IF NOT EXISTS user_flags (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    folder_id INTEGER NOT NULL REFERENCES folders(id),
    uid       INTEGER NOT NULL,
    flags     INTEGER NOT NULL,
    keywords  TEXT,
    -- The folder's mod-sequence of the user's last change to them; 0: none
    -- since the message came (its own `messages.modseq` stands).
    modseq    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, folder_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_flags_message ON user_flags(folder_id, uid);

-- Subscribed names (RFC 3501 6.3.6): an archive and a folder path there,
-- whether or not such a folder exists (a subscription survives DELETE).
CREATE TABLE IF NOT EXISTS subscribed_names (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    archive_id INTEGER NOT NULL REFERENCES archives(id),
    path       TEXT NOT NULL,
    PRIMARY KEY (user_id, archive_id, path)
) WITHOUT ROWID;

-- The lowest UID of a folder that is still \Recent for a user: no session
-- of theirs has claimed it yet (RFC 3501 2.3.2). No row: every UID is.
CREATE TABLE IF NOT EXISTS recent_marks (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    folder_id    INTEGER NOT NULL REFERENCES folders(id),
    first_recent INTEGER NOT NULL,
    PRIMARY KEY (user_id, folder_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL, -- UTC, milliseconds since 1970
    actor   TEXT NOT NULL,
    ip      TEXT,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    details TEXT NOT NULL     -- JSON
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor COLLATE NOCASE, time);

-- Settings changed at run time (admin API), as JSON; they override the
-- configuration file's. No row: the file's setting holds.
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The SMTP journal receiver's counts (`JournalCounts`), by name. An
-- archimap that predates it ignores the table.
CREATE TABLE IF NOT EXISTS journal_counts (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Goes up with every change to users, their e-mail addresses and their
-- folder privileges, whoever makes it (the server, the command line): open
-- sessions compare it with the value they last saw to notice, with one
-- read, that the access they were granted may have changed.
CREATE TABLE IF NOT EXISTS access_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO access_generation(id, value) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS users_inserted AFTER INSERT ON users
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS users_updated AFTER UPDATE ON users
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS users_deleted AFTER DELETE ON users
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS user_emails_inserted AFTER INSERT ON user_emails
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS user_emails_deleted AFTER DELETE ON user_emails
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS folder_privileges_inserted AFTER INSERT ON folder_privileges
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS folder_privileges_updated AFTER UPDATE ON folder_privileges
    BEGIN UPDATE access_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS folder_privileges_deleted AFTER DELETE ON folder_privileges
    BEGIN UPDATE access_generation SET value = value + 1; END;

-- One row, written at the first change; no row means every setting is off.
CREATE TABLE IF NOT EXISTS compliance (
    id                      INTEGER PRIMARY KEY CHECK (id = 1),
    legal_hold_enabled      INTEGER NOT NULL,
    audit_message_retrieval INTEGER NOT NULL,
    audit_message_archiving INTEGER NOT NULL DEFAULT 0
);
"#;
