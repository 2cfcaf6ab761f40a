//! The command line, as clap types. `archimap --help` and each
//! subcommand's `--help` are generated from the comments here.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::archive::AuditAction;
use crate::import::MboxFormat;

/// archimap: your organisation's e-mail archive in the mail client you
/// already use, over TLS-only IMAP.
///
/// Import mail with `archimap import`, manage users with `archimap user`
/// and `archimap grant`, and check the archive with `archimap verify`.
#[derive(Debug, Parser)]
#[command(name = "archimap", version, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file (defaults apply without one).
    #[arg(long, global = true, env = "ARCHIMAP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory; overrides the configuration's `data_dir`.
    #[arg(long, global = true, env = "ARCHIMAP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty archive in the data directory (`serve` refuses a
    /// directory that holds none, so that a mistyped path is not served).
    Init,
    /// Run the IMAP server (implicit TLS and STARTTLS listeners) and the
    /// HTTPS administration API. The data directory must hold an archive
    /// (`archimap init`, an import or a user added), unless `--create`.
    Serve {
        /// Create a new archive if the data directory holds none.
        #[arg(long)]
        create: bool,
        /// Implicit-TLS listener address (repeatable); replaces the configured ones.
        #[arg(long, value_name = "ADDR")]
        imaps: Vec<String>,
        /// STARTTLS listener address (repeatable); replaces the configured ones.
        #[arg(long, value_name = "ADDR")]
        starttls: Vec<String>,
        /// Admin API (HTTPS) listener address (repeatable); replaces the configured ones.
        #[arg(long, value_name = "ADDR")]
        api: Vec<String>,
        /// SMTP journal receiver address (repeatable); replaces `[smtp] listen`.
        #[arg(long, value_name = "ADDR")]
        smtp: Vec<String>,
    },
    /// Archive mbox files, .eml files or trees, and Maildirs.
    Import(ImportArgs),
    /// Create, list, change and delete users.
    #[command(subcommand)]
    User(UserCommand),
    /// Set a user's privileges on an archive: none, or any of read, write, delete.
    Grant {
        user: String,
        /// The archive (named after its owner).
        archive: String,
        /// `none` or a comma-separated set such as `read,write`.
        privileges: String,
    },
    /// Show archives as folder trees with message counts.
    Folders {
        /// Only the archives this user holds privileges on.
        #[arg(long)]
        user: Option<String>,
    },
    /// Move or prune folders of any archive. Folders are named
    /// `archive/path` (`alice/Inbox/2019`); legal hold and write-protected
    /// stores forbid changes here too, and each change is audited.
    #[command(subcommand)]
    Folder(FolderCommand),
    /// List a folder's messages with their ids, or delete one message.
    #[command(subcommand)]
    Message(MessageCommand),
    /// Manage archive stores (where message bytes live).
    #[command(subcommand)]
    Store(StoreCommand),
    /// Write an archive's messages out as .eml files, byte for byte.
    Export {
        /// The archive to export (named after its owner).
        #[arg(long)]
        archive: String,
        /// Only this folder (and not its sub-folders).
        #[arg(long)]
        folder: Option<String>,
        /// Directory to write `<folder>/<uid>.eml` files into.
        out: PathBuf,
    },
    /// Re-hash every message and check the archive's consistency; exits
    /// non-zero if anything is wrong.
    Verify {
        /// Only the messages of this archive store (the catalog is checked whole).
        #[arg(long)]
        store: Option<String>,
        /// Compare the full-text indexes with the catalog too.
        #[arg(long)]
        include_indexes: bool,
    },
    /// The full-text index of each archive store.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Directory services (LDAP, Active Directory), configured in the
    /// `[directory]` section of the configuration file.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Read the audit log: logins and failed logins, changes of users,
    /// privileges, stores and compliance settings, moves, deletions and
    /// (when enabled) message retrievals. Oldest first.
    Audit(AuditArgs),
    /// Compliance settings: legal hold, the audit of message retrieval and
    /// of each imported message.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// The SMTP journal receiver (`serve --smtp`).
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Internal: a worker process that reads attachments' text for the
    /// index, started by archimap itself with resource limits.
    #[command(hide = true)]
    ExtractWorker {
        /// Exit after the reply once this much CPU time is used.
        #[arg(long)]
        retire_after_cpu_seconds: u64,
    },
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["user", "bulk"]))]
pub struct ImportArgs {
    /// The user whose archive receives the messages.
    #[arg(long, requires = "paths")]
    pub user: Option<String>,
    /// Folder to import into (default: from the layout; see the README).
    #[arg(long, requires = "user")]
    pub folder: Option<String>,
    /// Import ROOT/<user>/... for every user directory in ROOT.
    #[arg(long, value_name = "ROOT", conflicts_with_all = ["user", "paths"])]
    pub bulk: Option<PathBuf>,
    /// With --bulk: create users that do not exist yet.
    #[arg(long, requires = "bulk")]
    pub create_users: bool,
    /// Archive store to write to (default: the current one).
    #[arg(long)]
    pub store: Option<String>,
    /// How `>From ` lines in mbox files were quoted.
    #[arg(long, value_enum, default_value = "mboxrd")]
    pub mbox_format: MboxFormat,
    /// Files and directories to import.
    pub paths: Vec<PathBuf>,
}

/// How a command receives a password.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password itself. It shows in process lists and shell history:
    /// meant for tests and throw-away setups only.
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and their (empty) archive.
    Add {
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// An e-mail address; repeat for several. Any of them works as login name.
        #[arg(long = "email", value_name = "ADDR")]
        emails: Vec<String>,
        #[arg(long, default_value = "")]
        full_name: String,
        /// Global privileges: none, admin, or a comma-separated set of login,
        /// changePassword, archive, modifyArchiveProfiles, export,
        /// modifyExportProfiles, delete.
        #[arg(long, default_value = "login,changePassword")]
        privileges: String,
        /// integrated (archimap checks the password) or directoryServices.
        #[arg(long, default_value = "integrated")]
        authentication: String,
        /// The user's LDAP distinguished name.
        #[arg(long, value_name = "DN")]
        distinguished_name: Option<String>,
    },
    /// List users.
    List,
    /// Show a user with their privileges.
    Show { name: String },
    /// Set an integrated user's password.
    Passwd {
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Rename a user (and their archive).
    Rename { name: String, new_name: String },
    /// Delete a user. Their archive stays.
    Delete { name: String },
    /// Set a user's global privileges.
    SetPrivileges { name: String, privileges: String },
    /// Remove all of a user's privileges on archives, their own included.
    ClearGrants { name: String },
    /// Set how a user signs in: integrated (archimap checks the password)
    /// or directoryServices (the directory does; the stored password is
    /// dropped). Switched to integrated, the user has no password until
    /// `user passwd` sets one.
    SetAuthentication {
        name: String,
        authentication: String,
    },
    /// Set a user's full name (none given clears it).
    SetFullName {
        name: String,
        full_name: Option<String>,
    },
    /// Set a user's e-mail addresses, any of which works as login name
    /// (none given clears them).
    SetEmails { name: String, emails: Vec<String> },
    /// Set a user's LDAP distinguished name (none given clears it).
    SetDistinguishedName { name: String, dn: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum FolderCommand {
    /// Rename or move a folder, with its sub-folders, inside its archive:
    /// `archimap folder move alice/Old alice/Archive/Old`.
    Move { from: String, to: String },
    /// Delete the folders that hold no messages (nor sub-folders that do)
    /// below FOLDER (an archive, or a folder that itself stays), or in
    /// every archive. Inbox folders stay.
    Prune { folder: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum MessageCommand {
    /// List a folder's messages: id, date, sender and subject.
    List { folder: String },
    /// Delete one message from its folder (the id from `message list`).
    Delete {
        id: String,
        /// Why: recorded in the audit log.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// List archive stores with their states.
    List,
    /// Create an archive store.
    Create {
        name: String,
        /// Directory for its data (default: stores/<name> in the data directory).
        #[arg(long)]
        path: Option<PathBuf>,
        /// current, normal, writeProtected or disabled.
        #[arg(long, default_value = "normal")]
        state: String,
    },
    /// Set a store's state: current, normal, writeProtected or disabled.
    SetState { name: String, state: String },
    /// Rename a store (its directory stays where it is).
    Rename { name: String, new_name: String },
    /// Forget a store that is not current and holds no messages; its
    /// directory stays. (A store with messages can be disabled instead.)
    Detach { name: String },
    /// Attach an existing store directory that holds no messages (one
    /// detached before, here or from another archimap).
    Attach {
        name: String,
        /// The store's directory (relative: from the data directory).
        #[arg(long)]
        path: PathBuf,
        /// current, normal, writeProtected or disabled.
        #[arg(long, default_value = "normal")]
        state: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Create and update users from the directory.
    ///
    /// New users sign in with their directory password and get the
    /// configured default privileges; full names, e-mail addresses and DNs
    /// follow the directory. Users gone from the directory lose `login` (see
    /// `gone_users`); nothing is deleted. Prints one line per change and a
    /// summary; exits non-zero if a change failed.
    Sync {
        /// Print what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Index every message anew (the server need not be stopped; imports
    /// wait for the rebuild to finish).
    Rebuild {
        /// Only this archive store (default: all).
        #[arg(long)]
        store: Option<String>,
        /// Only the messages of this folder of the store: an archive
        /// (`alice`) or a folder in it (`alice/Inbox`), with sub-folders.
        #[arg(long, requires = "store")]
        folder: Option<String>,
    },
    /// Compare each index with the catalog: messages pending (not indexed
    /// yet; the server and the next import add them), documents of messages
    /// it should not have, attachments not extracted. Exits non-zero on
    /// documents it should not have (the server repairs those; so does
    /// `rebuild`).
    Verify {
        /// Only this archive store (default: all).
        #[arg(long)]
        store: Option<String>,
    },
    /// List the indexes: documents, messages of their store, size.
    List {
        /// Only this archive store (default: all).
        #[arg(long)]
        store: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Records from this time on: RFC 3339 (`2025-03-01T08:00:00Z`), a
    /// date (`2025-03-01`, midnight UTC) or an age (`90s`, `30m`, `12h`, `7d`).
    #[arg(long, value_name = "TIME", value_parser = super::audit::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Records before this time (the same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = super::audit::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only what this actor did: a user name, `admin` (the command line)
    /// or `system`.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only this action; repeat for several.
    #[arg(long = "action", value_name = "ACTION", value_enum, ignore_case = true)]
    pub actions: Vec<AuditAction>,
    /// Only the latest N records.
    #[arg(long, value_name = "N")]
    pub limit: Option<std::num::NonZeroUsize>,
    /// Print JSON lines (one object per record: time, actor, ip, action,
    /// target, details) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// What the receiver filed, refused and failed to file since the
    /// archive began (a running server stores its counts every 5 s).
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Show the compliance settings.
    Show,
    /// While legal hold is on, nothing can be deleted by anyone, whatever
    /// their privileges.
    LegalHold {
        #[arg(value_enum)]
        state: Switch,
    },
    /// Record every retrieval of a message's content in the audit log.
    AuditRetrievals {
        #[arg(value_enum)]
        state: Switch,
    },
    /// Record every message an import files in the audit log, besides the
    /// count per folder that is always recorded.
    AuditImports {
        #[arg(value_enum)]
        state: Switch,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}
