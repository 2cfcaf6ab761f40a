//! The storage engine, behind two traits: a [`Catalog`] of metadata and a
//! [`BlobStore`] per archive store holding the compressed message bytes.
//! The catalog is split by capability (users, access, stores, folders and
//! messages, each user's own state, records), so a backend can be read and
//! written one capability at a time.
//!
//! The embedded implementation (`embedded`) is SQLite plus append-only pack
//! files. Nothing here is SQL-specific, so a PostgreSQL + object-storage
//! backend can implement the same traits later.
//!
//! Records here are plain data: privileges travel as bit sets, and the
//! `archive` module gives them meaning. The domain's own values (a folder,
//! flags and changes to them) come from `archive`; a backend keeps them
//! as they are.

mod audit;
pub mod embedded;

pub use audit::{AuditAction, AuditFilter, AuditRecord, ComplianceSettings};

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

use crate::archive::Folder;
use crate::archive::flags::{ChangedFlags, FlagChange, FlagState};
use crate::error::{Error, Result};

pub type Sha256 = [u8; 32];

/// What tells whether a folder's messages changed: its UIDVALIDITY (a
/// folder made after a deleted one may get the same id, never the same
/// UIDVALIDITY), UIDNEXT and the mod-sequence of the last message to come
/// or go.
pub type FolderVersion = (u32, u32, u64);

/// How a user's password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// archimap keeps an argon2id hash.
    Integrated,
    /// The directory (LDAP / Active Directory) checks it; nothing is kept.
    DirectoryServices,
}

impl Authentication {
    pub fn as_str(self) -> &'static str {
        match self {
            Authentication::Integrated => "integrated",
            Authentication::DirectoryServices => "directoryServices",
        }
    }
}

impl FromStr for Authentication {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            _ if s.eq_ignore_ascii_case("integrated") => Ok(Authentication::Integrated),
            _ if s.eq_ignore_ascii_case("directoryServices") => {
                Ok(Authentication::DirectoryServices)
            }
            _ => Err(Error::Invalid(format!(
                "unknown authentication {s:?} (expected integrated or directoryServices)"
            ))),
        }
    }
}

/// The state of an archive store (MailStore's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    /// New messages go here; exactly one store is current.
    Current,
    Normal,
    /// Readable; nothing in it may change.
    WriteProtected,
    /// Known, but its content is not available.
    Disabled,
}

impl StoreState {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreState::Current => "current",
            StoreState::Normal => "normal",
            StoreState::WriteProtected => "writeProtected",
            StoreState::Disabled => "disabled",
        }
    }
}

impl fmt::Display for StoreState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StoreState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [
            StoreState::Current,
            StoreState::Normal,
            StoreState::WriteProtected,
            StoreState::Disabled,
        ]
        .into_iter()
        .find(|state| state.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "unknown store state {s:?} (expected current, normal, writeProtected or disabled)"
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    /// Lower-case.
    pub name: String,
    pub full_name: String,
    pub authentication: Authentication,
    /// PHC string (argon2id) for integrated users.
    pub password_hash: Option<String>,
    pub distinguished_name: Option<String>,
    /// Bits of `archive::GlobalPrivileges`.
    pub privileges: u32,
    /// Lower-case addresses.
    pub emails: Vec<String>,
}

/// A user to create, with the privileges to hold on the own archive, which
/// is created with the user unless it already exists.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub full_name: String,
    pub authentication: Authentication,
    pub password_hash: Option<String>,
    pub distinguished_name: Option<String>,
    pub privileges: u32,
    pub emails: Vec<String>,
    pub own_archive_privileges: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveRecord {
    pub id: i64,
    pub name: String,
}

/// How much one archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveStatistics {
    pub archive: ArchiveRecord,
    /// Messages in all its folders.
    pub messages: u64,
    /// Their sizes added up (bytes as archived; a message in two folders
    /// counts twice, though its bytes are stored once).
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRecord {
    pub id: i64,
    pub name: String,
    pub state: StoreState,
    /// Where the store's blobs live.
    pub path: PathBuf,
}

/// Where a blob's compressed bytes are in its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLocation {
    pub pack: u32,
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    pub id: i64,
    pub sha256: Sha256,
    pub store_id: i64,
    /// Uncompressed size.
    pub size: u64,
    /// The size with every bare LF counted as CRLF: what IMAP serves.
    pub crlf_size: u64,
    pub location: BlobLocation,
    pub refcount: u64,
    /// Whether the message could be parsed (it has a summary).
    pub parsed: bool,
}

/// A message of a folder, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub uid: u32,
    pub internal_date: i64,
    pub modseq: u64,
    pub blob: BlobRecord,
}

/// A message taken out of a folder by an expunge, a move or a folder
/// deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub uid: u32,
    pub blob: BlobRecord,
    /// No folder refers to the bytes any more: the blob is gone.
    pub freed: bool,
}

/// A blob written to a store's packs but not yet known to the catalog.
#[derive(Debug, Clone)]
pub struct NewBlob {
    pub store_id: i64,
    pub size: u64,
    pub crlf_size: u64,
    pub location: BlobLocation,
    /// JSON summary (`archive::Summary`), `None` for an unparsed message.
    pub summary: Option<String>,
    /// The header block, kept so that header-only answers (IMAP ENVELOPE)
    /// need not read the message.
    pub header: Vec<u8>,
}

/// One message to file into a folder.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    pub folder_id: i64,
    pub sha256: Sha256,
    pub internal_date: i64,
    /// Present when this batch wrote the bytes.
    pub new_blob: Option<NewBlob>,
    /// Flags and keywords of the importing user.
    pub flags: Option<(i64, FlagState)>,
    /// The import rule: bytes the folder holds already are not filed again
    /// (`EntryOutcome::Duplicate`). IMAP APPEND always adds a message.
    pub skip_if_held: bool,
}

/// The committed length of a pack after a batch's appends were made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackCommit {
    pub store_id: i64,
    pub pack: u32,
    pub length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryOutcome {
    Added {
        uid: u32,
    },
    /// The folder already holds these bytes (only with `skip_if_held`).
    Duplicate,
}

/// Users: accounts, their sign-in data and the access generation.
pub trait UserCatalog {
    fn create_user(&self, user: &NewUser) -> Result<UserRecord>;
    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>>;
    fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>>;
    /// A number that goes up with every change to a user (privileges,
    /// password, e-mail addresses, name, deletion) or to their folder
    /// privileges, by any process: an open session that saw the same
    /// number last time knows that its access is as it was.
    fn access_generation(&self) -> Result<u64>;
    /// By user name or any e-mail address, case-insensitively.
    fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>>;
    fn users(&self) -> Result<Vec<UserRecord>>;
    /// Writes every mutable field of `user` (all but id and name).
    fn update_user(&self, user: &UserRecord) -> Result<()>;
    /// Renames the user, and the archive of the same name with it.
    fn rename_user(&self, id: i64, new_name: &str) -> Result<()>;
    /// Deletes the user and their privileges and flags; never an archive.
    fn delete_user(&self, id: i64) -> Result<()>;
}

/// Archives and who may do what in them (folder privileges).
pub trait AccessCatalog {
    fn archive_by_name(&self, name: &str) -> Result<Option<ArchiveRecord>>;
    fn archives(&self) -> Result<Vec<ArchiveRecord>>;
    /// `0` removes the grant.
    fn set_folder_privileges(&self, user_id: i64, archive_id: i64, bits: u8) -> Result<()>;
    fn folder_privileges(&self, user_id: i64) -> Result<Vec<(ArchiveRecord, u8)>>;
    /// Removes every grant of the user, on every archive.
    fn clear_folder_privileges(&self, user_id: i64) -> Result<()>;
}

/// Archive stores: where blobs are kept, their states and packs.
pub trait StoreCatalog {
    fn stores(&self) -> Result<Vec<StoreRecord>>;
    /// The first store created becomes current; later ones are normal.
    fn create_store(&self, name: &str, path: &std::path::Path) -> Result<StoreRecord>;
    /// Making a store current demotes the previous current store to normal.
    fn set_store_state(&self, id: i64, state: StoreState) -> Result<()>;
    fn pack_lengths(&self, store_id: i64) -> Result<Vec<(u32, u64)>>;
    /// Adds a store in `state`; a current one demotes the current store.
    fn add_store(
        &self,
        name: &str,
        path: &std::path::Path,
        state: StoreState,
    ) -> Result<StoreRecord>;
    /// Renames a store; the name must be free (case-insensitively).
    fn rename_store(&self, id: i64, name: &str) -> Result<()>;
    /// Forgets a store and its pack lengths; refused while it is current or
    /// any blob lies in it. Its directory is left as it is.
    fn remove_store(&self, id: i64) -> Result<()>;
    /// How many blobs lie in a store.
    fn store_blob_count(&self, store_id: i64) -> Result<u64>;
}

/// Folders, the messages they hold and the blobs behind them.
pub trait FolderCatalog {
    fn folders(&self, archive_id: i64) -> Result<Vec<Folder>>;
    /// Returns the folder, creating it and its parents if needed. With
    /// `subscribe_holders_of`, each folder it creates becomes a
    /// subscription of every user whose privileges on the archive include
    /// all of these bits, in the same transaction.
    fn ensure_folder(
        &self,
        archive_id: i64,
        path: &str,
        subscribe_holders_of: Option<u8>,
    ) -> Result<Folder>;
    fn messages(&self, folder_id: i64) -> Result<Vec<MessageRecord>>;
    /// The folder's messages with these UIDs (UIDs it lacks are left out):
    /// what a change to a few messages reads, not the whole folder.
    fn messages_with_uids(&self, folder_id: i64, uids: &[u32]) -> Result<Vec<MessageRecord>>;
    fn blob_by_sha(&self, sha256: &Sha256) -> Result<Option<BlobRecord>>;
    fn blob_count(&self) -> Result<u64>;
    /// The stored header blocks of these blobs (blobs without one are left out).
    fn blob_headers(&self, blob_ids: &[i64]) -> Result<Vec<(i64, Vec<u8>)>>;
    /// Blobs with `id > after`, in id order, at most `limit`.
    fn blobs_after(&self, after: i64, limit: usize) -> Result<Vec<BlobRecord>>;
    /// Files a batch: new blobs, messages (skipping bytes a folder holds
    /// already where an entry says so), reference counts, UIDs and pack
    /// lengths, and the audit records `audit` makes of the outcomes (one
    /// per entry, in order), all or nothing: no message is filed without
    /// its record. `Error::Expunged(sha256 in hex)` when an entry without
    /// new bytes names a blob that is not stored (any more): the caller
    /// supplies them and commits again.
    fn commit_batch(
        &self,
        entries: &[BatchEntry],
        packs: &[PackCommit],
        audit: &dyn Fn(&[EntryOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<EntryOutcome>>;
    /// Folders holding messages whose bytes lie in one of these stores.
    fn folders_in_stores(&self, store_ids: &[i64]) -> Result<Vec<i64>>;
    // Changes to what is archived; each is one transaction.
    fn folder(&self, id: i64) -> Result<Option<Folder>>;
    /// The number of messages of each folder of an archive, by folder id.
    fn message_counts(&self, archive_id: i64) -> Result<std::collections::HashMap<i64, u64>>;
    /// The UIDs of the folder's messages below `uidnext` (its UIDNEXT as
    /// the caller read it), ascending. Reads no message rows: UIDs are
    /// given out in order and the catalog keeps those that went.
    fn folder_uids(&self, folder_id: i64, uidnext: u32) -> Result<Vec<u32>>;
    /// The folder's UIDVALIDITY, UIDNEXT and the mod-sequence of the last
    /// message to come or go (`Folder::contents_modseq`); `None` once it is
    /// deleted. Read before every command of a session that has it open,
    /// so it reads no messages.
    fn folder_version(&self, id: i64) -> Result<Option<FolderVersion>>;
    /// The folder's HIGHESTMODSEQ now (flag changes move it too); `None`
    /// once it is deleted.
    fn highest_modseq(&self, id: i64) -> Result<Option<u64>>;
    /// The UIDs the folder no longer holds that went (or whose range was
    /// last extended) at a mod-sequence above `after`, as inclusive ranges
    /// in UID order.
    fn vanished_since(&self, folder_id: i64, after: u64) -> Result<Vec<(u32, u32)>>;
    /// Copies (with `remove_source`: moves) messages between folders,
    /// keeping internal dates and every user's flags; returns (source UID,
    /// target UID) pairs, each target message new (bytes the target holds
    /// already are added again). UIDs the source lacks are skipped. Each change below writes its
    /// `audit` records in its own transaction, and those that take messages
    /// out of a folder refuse under legal hold.
    fn copy_messages(
        &self,
        from: i64,
        uids: &[u32],
        to: i64,
        remove_source: bool,
        audit: &[AuditRecord],
    ) -> Result<Vec<(u32, u32)>>;
    /// Removes messages from a folder; UIDs it lacks are skipped.
    fn expunge(&self, folder_id: i64, uids: &[u32], audit: &[AuditRecord]) -> Result<Vec<Removed>>;
    /// Renames a folder and its sub-folders inside its archive; the new
    /// parents must exist and the new name must be free.
    fn rename_folder(&self, folder_id: i64, new_path: &str, audit: &[AuditRecord]) -> Result<()>;
    /// Deletes a folder and its messages; `keep_name` (it has sub-folders)
    /// keeps the name as a `\Noselect` folder.
    fn delete_folder(
        &self,
        folder_id: i64,
        keep_name: bool,
        audit: &[AuditRecord],
    ) -> Result<Vec<Removed>>;
    /// Makes a `\Noselect` folder an ordinary one again, with a new
    /// UIDVALIDITY.
    fn recreate_folder(&self, folder_id: i64) -> Result<Folder>;
    // Administration of folders and messages (admin API, command line).
    /// The folder with this UIDVALIDITY, which no two folders ever share.
    fn folder_by_uidvalidity(&self, uidvalidity: u32) -> Result<Option<Folder>>;
    /// The folder's messages in UID order, each with its stored summary
    /// (JSON, `None` when unparsed): a listing that reads no message bytes.
    fn message_summaries(&self, folder_id: i64) -> Result<Vec<(MessageRecord, Option<String>)>>;
    /// Every archive, by name, with what its folders hold.
    fn archive_statistics(&self) -> Result<Vec<ArchiveStatistics>>;
    /// Deletes folders that hold no messages, in the order given
    /// (sub-folders first), all or none: refused under legal hold, and if
    /// one holds a message or a sub-folder left out when its turn comes.
    fn delete_empty_folders(&self, folder_ids: &[i64], audit: &[AuditRecord]) -> Result<()>;
}

/// Each user's own state on folders and messages: flags, subscriptions, \Recent.
pub trait UserStateCatalog {
    // Per-user state.
    /// The user's flags on the messages of a folder with UIDs from
    /// `from_uid` on, by UID, each with the mod-sequence of the user's last
    /// change to them (0: none since the message came); only messages with
    /// a flag set or changed.
    fn flags(
        &self,
        user_id: i64,
        folder_id: i64,
        from_uid: u32,
    ) -> Result<Vec<(u32, FlagState, u64)>>;
    /// Applies `change` to the user's flags on one message as they are
    /// stored, atomically (another session's change in between is kept),
    /// and returns the result; a change that alters them takes the
    /// folder's next mod-sequence.
    fn change_flags(
        &self,
        user_id: i64,
        folder_id: i64,
        uid: u32,
        change: &FlagChange,
    ) -> Result<ChangedFlags>;
    /// The user's subscribed names, as (archive id, folder path); such a
    /// folder need not exist (a subscription survives its deletion).
    fn subscriptions(&self, user_id: i64) -> Result<Vec<(i64, String)>>;
    /// Adds or removes one subscribed name.
    fn set_subscribed(
        &self,
        user_id: i64,
        archive_id: i64,
        path: &str,
        subscribed: bool,
    ) -> Result<()>;
    /// Subscribes the user to every folder of the archive (one that a grant
    /// has just made visible).
    fn subscribe_archive(&self, user_id: i64, archive_id: i64) -> Result<()>;
    /// The lowest UID of the folder still `\Recent` for the user (no
    /// session of theirs has claimed it); 1 while none has claimed any.
    fn first_recent(&self, user_id: i64, folder_id: i64) -> Result<u32>;
    /// Claims the UIDs below `up_to` for one session: raises the user's mark
    /// to `up_to` (never lowers it) and returns the mark as it was, so the
    /// UIDs from there to `up_to` are `\Recent` for that session alone.
    fn claim_recent(&self, user_id: i64, folder_id: i64, up_to: u32) -> Result<u32>;
}

/// Counts of what the SMTP journal receiver did, since the archive began.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JournalCounts {
    /// Messages filed (each in one place or more).
    pub filed: u64,
    /// Places they were filed in.
    pub places: u64,
    /// Places that held a message already (an MTA's retry).
    pub again: u64,
    /// Messages filed in the catch-all archive.
    pub catch_all: u64,
    /// Messages refused: no archive for their addresses (550).
    pub refused: u64,
    /// Messages that could not be filed (451: the MTA retries).
    pub failed: u64,
    /// When the last message was filed (seconds since 1970).
    pub last_filed: Option<i64>,
}

/// The journal receiver's counts.
pub trait JournalCatalog {
    /// Adds `delta` to the stored counts (`last_filed` replaces).
    fn add_journal_counts(&self, delta: &JournalCounts) -> Result<()>;
    fn journal_counts(&self) -> Result<JournalCounts>;
}

/// The audit log, settings, compliance settings and the consistency check.
pub trait RecordCatalog {
    /// Appends to the audit log, all records or none.
    fn record_audit(&self, records: &[AuditRecord]) -> Result<()>;
    /// Audit records matching `filter`, oldest first.
    fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;
    /// The stored settings (all off until first set).
    fn compliance(&self) -> Result<ComplianceSettings>;
    /// Stores the settings and their audit records in one transaction.
    fn set_compliance(&self, settings: &ComplianceSettings, audit: &[AuditRecord]) -> Result<()>;
    /// A setting made at run time (JSON), if any.
    fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores a setting and its audit records in one transaction.
    fn set_setting(&self, key: &str, value: &str, audit: &[AuditRecord]) -> Result<()>;
    /// Checks that the stored metadata agrees with itself (reference counts,
    /// UID counters, integrity); one line per problem.
    fn check_consistency(&self) -> Result<Vec<String>>;
}

/// Metadata of everything archived, by capability. Every method is atomic.
pub trait Catalog:
    UserCatalog
    + AccessCatalog
    + StoreCatalog
    + FolderCatalog
    + UserStateCatalog
    + RecordCatalog
    + JournalCatalog
    + Send
    + Sync
{
}

impl<T> Catalog for T where
    T: UserCatalog
        + AccessCatalog
        + StoreCatalog
        + FolderCatalog
        + UserStateCatalog
        + RecordCatalog
        + JournalCatalog
        + Send
        + Sync
{
}

/// The compressed bytes of one archive store.
pub trait BlobStore: Send + Sync {
    /// Opens a writer; it holds the store's write lock until dropped and
    /// first discards whatever an interrupted writer left uncommitted.
    /// `committed` reads the committed pack lengths; it is called once the
    /// lock is held, since another writer may have committed while this one
    /// waited (lengths read before would make it cut off that writer's bytes).
    fn writer(
        &self,
        committed: &dyn Fn() -> Result<Vec<(u32, u64)>>,
    ) -> Result<Box<dyn BlobWriter>>;
    /// The uncompressed bytes, streamed.
    fn open(&self, location: &BlobLocation) -> Result<Box<dyn Read + Send>>;
    /// The uncompressed bytes, whole; `size` is their length. For blobs
    /// small enough to hold in memory: cheaper than `open` per byte.
    fn read(&self, location: &BlobLocation, size: u64) -> Result<Vec<u8>>;
    /// Every pack and its length on disk, for verify.
    fn pack_files(&self) -> Result<Vec<(u32, u64)>>;
}

pub trait BlobWriter: Send {
    /// Appends already-compressed bytes; not durable until `sync`.
    fn append(&mut self, compressed: &[u8]) -> Result<BlobLocation>;
    /// Makes every append durable and says how long each written pack is now.
    fn sync(&mut self) -> Result<Vec<(u32, u64)>>;
}

/// A storage backend: one catalog and the blob stores it describes.
pub trait Backend: Send + Sync {
    fn catalog(&self) -> &dyn Catalog;
    /// The bytes of an archive store (opening its directory or bucket).
    fn blobs(&self, store: &StoreRecord) -> Result<std::sync::Arc<dyn BlobStore>>;
    /// What others than the server's own account could read (a file or
    /// directory open to its group or everyone), one line each: archived
    /// mail and password hashes are private.
    fn exposed(&self) -> Result<Vec<String>>;
}
