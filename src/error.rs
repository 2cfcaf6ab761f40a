//! The library's error type. Each variant says what kind of failure it is,
//! so the CLI, the admin API and IMAP can each answer it in their own terms
//! (exit status, JSON error, `NO [CODE]`).

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The storage backend failed (database error, unreadable pack, ...).
    #[error("storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The caller asked for something malformed (bad privilege string, bad name, ...).
    #[error("{0}")]
    Invalid(String),
    /// The user lacks the privilege for it.
    #[error("{0}")]
    NotPermitted(String),
    /// A rule of the domain forbids it (store state, legal hold, a rule of
    /// the archive such as "moves stay inside one archive").
    #[error("{0}")]
    Refused(String),
    /// It would exceed a limit the server sets (keywords per message, ...).
    #[error("{0}")]
    Limit(String),
    /// A service archimap depends on (the directory) could not be reached
    /// or answered with an error; trying again later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Stored data does not match what it should be.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
