//! The TOML configuration. Every field has a default, so archimap runs with
//! no configuration file at all; a file only overrides what it names.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// The namespace other users' archives appear under.
    pub other_users: String,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            other_users: "Other Users".into(),
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
    pub max_command_line: usize,
    pub max_literal_size: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub idle_timeout_unauthenticated_secs: u64,
    pub idle_timeout_authenticated_secs: u64,
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
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 512 * 1024 * 1024,
            max_command_line: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            max_connections: 10_000,
            max_connections_per_ip: 100,
            idle_timeout_unauthenticated_secs: 60,
            idle_timeout_authenticated_secs: 30 * 60,
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
        Ok(config)
    }
}
