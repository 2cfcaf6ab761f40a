//! The TOML configuration. Every field has a default, so archimap runs with
//! no configuration file at all; a file only overrides what it names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the master database and the archive stores live.
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub listeners: ListenerConfig,
    pub tls: TlsConfig,
    pub limits: Limits,
    pub import: ImportConfig,
    pub imap: ImapConfig,
    pub index: IndexConfig,
    pub smtp: SmtpConfig,
    /// LDAP or Active Directory; absent: every user is integrated.
    pub directory: Option<DirectoryConfig>,
}

/// The full-text index (one per archive store).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Memory for the index writer (imports, rebuilds), in MiB.
    pub writer_memory_mb: usize,
    /// Attachments larger than this (MiB) are not read for text.
    pub attachment_max_mb: usize,
    /// Time one attachment's text may take, in seconds (wall clock; the
    /// worker process reading it is killed then).
    pub attachment_seconds: u64,
    /// Memory (address space) of a worker process reading an attachment,
    /// in MiB.
    pub attachment_memory_mb: u64,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            writer_memory_mb: 256,
            attachment_max_mb: 32,
            attachment_seconds: 10,
            attachment_memory_mb: 512,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// The namespace other users' archives appear under.
    pub other_users: String,
    /// Memory for the sort keys SORT and THREAD made, kept for the next
    /// ones (about 100-400 bytes per message sorted; 0: none kept).
    pub sort_cache_mb: usize,
}

/// The `[smtp]` section: the journal receiver (off unless it listens).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Listener addresses (25 or 2525 in production); `serve --smtp`
    /// replaces them. None: no SMTP receiver.
    pub listen: Vec<String>,
    /// Client networks (CIDR, e.g. `10.0.0.0/8`, `192.0.2.7/32`) that may
    /// deliver without authenticating. Others must AUTH PLAIN as a user
    /// with the `archive` privilege.
    pub allowed_clients: Vec<String>,
    /// Let `allowed_clients` deliver without STARTTLS; everyone else
    /// must use TLS first.
    pub plaintext_from_allowed: bool,
    /// The largest message, in bytes (announced as SIZE).
    pub max_message_size: u64,
    pub max_recipients: usize,
    /// How long a client may take for one command or data chunk, in
    /// seconds (RFC 5321 4.5.3.2 asks for at least 5 minutes).
    pub timeout_secs: u64,
    /// Per-user journal addresses: `<user>@<archive_domain>` or
    /// `<anything>+<user>@<archive_domain>` route to that user's archive.
    pub archive_domain: Option<String>,
    /// The archive for messages whose addresses no user has (its folder
    /// `catchall`); unset, such messages are refused (550) and bounce to
    /// the journaling MTA's postmaster rather than vanish.
    pub catch_all: Option<String>,
    /// The name the receiver greets with.
    pub hostname: String,
    /// When a message names an address no user has, synchronise the
    /// users with the directory first (a new employee's first mail goes
    /// to their archive), at most once per `directory_sync_secs`.
    pub sync_directory_before_routing: bool,
    pub directory_sync_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            listen: Vec::new(),
            allowed_clients: Vec::new(),
            plaintext_from_allowed: false,
            max_message_size: 64 * 1024 * 1024,
            max_recipients: 1000,
            timeout_secs: 300,
            archive_domain: None,
            catch_all: None,
            hostname: "archimap".into(),
            sync_directory_before_routing: false,
            directory_sync_secs: 300,
        }
    }
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            other_users: "Other Users".into(),
            sort_cache_mb: 128,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `archimap=debug`; `RUST_LOG` wins.
    pub level: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerConfig {
    /// Implicit-TLS IMAP (993 in production).
    pub imaps: Vec<String>,
    /// Plain IMAP that must be upgraded with STARTTLS (143 in production).
    pub starttls: Vec<String>,
    /// The HTTPS administration API (MailStore's port is 8463).
    pub api: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; a self-signed one is generated when unset.
    pub certificate: Option<PathBuf>,
    /// PEM private key matching `certificate`.
    pub private_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest message the importer accepts, in bytes.
    pub max_message_size: u64,
    /// Longest command, not counting literal data (a hard limit).
    pub max_command_line: usize,
    /// Largest literal, and the most literal data one command may carry.
    pub max_literal_size: u64,
    /// Search keys in one SEARCH, counting those inside NOT, OR and
    /// parentheses: each is evaluated for every message of the mailbox.
    pub max_search_keys: usize,
    /// Words in the text keys of one SEARCH: each becomes an index query.
    pub max_search_words: usize,
    /// Words in the FUZZY keys of one SEARCH: each builds an automaton that
    /// takes memory and time while the index is searched.
    pub max_fuzzy_words: usize,
    /// Time one SEARCH may take going through the mailbox's messages.
    pub search_timeout_secs: u64,
    pub max_connections: usize,
    /// Connections from one address, counted from accept (before the TLS
    /// handshake) until closed.
    pub max_connections_per_ip: usize,
    /// Time a client has to finish the TLS handshake, in seconds.
    pub handshake_timeout_secs: u64,
    /// Time a client has from the greeting to logging in, whatever it
    /// sends meanwhile (also the admin API's patience for a request).
    pub idle_timeout_unauthenticated_secs: u64,
    pub idle_timeout_authenticated_secs: u64,
    /// Password checks (argon2: 19 MiB and tens of milliseconds each) run
    /// at the same time; default: one per core.
    pub password_checks_at_once: usize,
    /// Client addresses that may wait for a password check; further logins
    /// are answered `NO [UNAVAILABLE]` at once.
    pub password_checks_waiting: usize,
    /// The wait before answering a failed login (IMAP or admin API), in
    /// milliseconds; it doubles with each further failure from the same
    /// address or for the same name, up to 7.5 times this.
    pub failed_login_delay_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// zstd level for new message blobs (1 fastest .. 19 smallest).
    pub compression_level: i32,
    /// Messages committed per transaction.
    pub batch_messages: usize,
    /// Raw bytes held in memory per batch.
    pub batch_bytes: usize,
}

/// The `[directory]` section. Attribute names, the user filter and the
/// group membership default per `kind`; see `directory::Settings`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub kind: DirectoryKind,
    /// Tried in order until one answers. `ldaps://` is implicit TLS;
    /// `ldap://` is always upgraded with StartTLS (no clear-text LDAP).
    pub urls: Vec<String>,
    /// PEM CA certificates the servers' certificates must chain to
    /// (default: the system's trusted roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches the directory (unset: anonymous).
    #[serde(default)]
    pub bind_dn: Option<String>,
    #[serde(default)]
    pub bind_password: Option<String>,
    /// A file holding the service account's password (first line).
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    /// Where users are searched (the whole subtree).
    pub base_dn: String,
    /// An LDAP filter every user entry must match.
    #[serde(default)]
    pub user_filter: Option<String>,
    /// Only members of one of these groups (DNs) are users.
    #[serde(default)]
    pub groups: Vec<String>,
    /// How membership is read: the group's `member` or the user's `memberOf`.
    #[serde(default)]
    pub group_membership: Option<GroupMembership>,
    /// The attribute holding the login (= user) name.
    #[serde(default)]
    pub login_attribute: Option<String>,
    /// Attributes holding e-mail addresses (`proxyAddresses` values are
    /// read as `smtp:` / `SMTP:` addresses, other types ignored).
    #[serde(default)]
    pub email_attributes: Option<Vec<String>>,
    /// Attributes for the full name; the first present wins.
    #[serde(default)]
    pub full_name_attributes: Option<Vec<String>>,
    /// Seconds allowed for connecting to a server (then the next URL is
    /// tried) and for each request.
    #[serde(default = "default_directory_timeout")]
    pub timeout_secs: u64,
    /// Global privileges every synchronised user holds at least.
    #[serde(default = "default_directory_privileges")]
    pub default_privileges: String,
    /// What every synchronised user holds at least on their own archive.
    #[serde(default = "default_directory_archive_privileges")]
    pub default_archive_privileges: String,
    /// What a sync does to users gone from the directory.
    #[serde(default)]
    pub gone_users: GoneUsers,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DirectoryKind {
    Ldap,
    ActiveDirectory,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum GroupMembership {
    Member,
    MemberOf,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum GoneUsers {
    /// They keep their archive and everything else, but cannot log in.
    #[default]
    RemoveLogin,
    /// Only reported.
    Keep,
}

fn default_directory_timeout() -> u64 {
    3
}

fn default_directory_privileges() -> String {
    "login".into()
}

fn default_directory_archive_privileges() -> String {
    "read".into()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("archimap-data"),
            log: LogConfig::default(),
            listeners: ListenerConfig::default(),
            tls: TlsConfig::default(),
            limits: Limits::default(),
            import: ImportConfig::default(),
            imap: ImapConfig::default(),
            index: IndexConfig::default(),
            smtp: SmtpConfig::default(),
            directory: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            imaps: vec!["127.0.0.1:10993".into()],
            starttls: vec!["127.0.0.1:10143".into()],
            api: vec!["127.0.0.1:8463".into()],
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 512 * 1024 * 1024,
            max_command_line: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            max_search_keys: 1000,
            max_search_words: 1000,
            max_fuzzy_words: 32,
            search_timeout_secs: 60,
            max_connections: 10_000,
            max_connections_per_ip: 100,
            handshake_timeout_secs: 30,
            idle_timeout_unauthenticated_secs: 60,
            idle_timeout_authenticated_secs: 30 * 60,
            failed_login_delay_ms: 2000,
            password_checks_at_once: std::thread::available_parallelism().map_or(1, |n| n.get()),
            password_checks_waiting: 100,
        }
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            compression_level: 3,
            batch_messages: 2000,
            batch_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Config {
    /// Reads `path` if given, else the defaults; `data_dir` then overrides
    /// the file's data directory (the `--data-dir` option).
    pub fn load(path: Option<&Path>, data_dir: Option<&Path>) -> Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::io(format!("reading configuration {}", path.display()), e)
                })?;
                toml::from_str(&text)
                    .map_err(|e| Error::Invalid(format!("configuration {}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        if let Some(dir) = data_dir {
            config.data_dir = dir.to_path_buf();
        }
        config.check_limits().map_err(|e| match path {
            Some(path) => Error::Invalid(format!("configuration {}: {e}", path.display())),
            None => e,
        })?;
        Ok(config)
    }

    /// Refuses limits of 0: each would make archimap refuse everything or
    /// give up its protection (no failed-login delay, sessions timing out
    /// at once), and none of them means "unlimited".
    fn check_limits(&self) -> Result<()> {
        let limits = &self.limits;
        let import = &self.import;
        let index = &self.index;
        let positive: [(&str, u64); 13] = [
            ("limits.max_message_size", limits.max_message_size),
            ("limits.max_command_line", limits.max_command_line as u64),
            ("limits.max_literal_size", limits.max_literal_size),
            ("limits.max_connections", limits.max_connections as u64),
            (
                "limits.max_connections_per_ip",
                limits.max_connections_per_ip as u64,
            ),
            (
                "limits.idle_timeout_unauthenticated_secs",
                limits.idle_timeout_unauthenticated_secs,
            ),
            (
                "limits.idle_timeout_authenticated_secs",
                limits.idle_timeout_authenticated_secs,
            ),
            ("limits.failed_login_delay_ms", limits.failed_login_delay_ms),
            ("import.batch_messages", import.batch_messages as u64),
            ("import.batch_bytes", import.batch_bytes as u64),
            ("index.writer_memory_mb", index.writer_memory_mb as u64),
            ("index.attachment_max_mb", index.attachment_max_mb as u64),
            ("index.attachment_seconds", index.attachment_seconds),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(Error::Invalid(format!(
                "{key} is 0; it must be at least 1 (leave it out for the default)"
            ))),
            None => Ok(()),
        }
    }
}
