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
    /// The message has left its folder (expunged or moved by another
    /// session or process) since the caller looked: RFC 5530's EXPUNGEISSUED.
    #[error("{0} is no longer in its folder")]
    Expunged(String),
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
    /// It would exceed a limit the server sets (keywords per message,
    /// search keys, ...; the text says which); a smaller request may work.
    #[error("{0}")]
    Limit(String),
    /// A service archimap depends on (the directory) could not be reached
    /// or answered with an error; trying again later may work.
    #[error("{0}")]
    Unavailable(String),
    /// Stored data does not match what it should be.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// The storage has no room left (a full disk, a file size limit, a
    /// quota): the change was not made, and may be once space is freed.
    #[error("no space left: {0}")]
    NoSpace(String),
}

impl Error {
    /// A failed file operation; one that failed for want of space is
    /// [`Error::NoSpace`].
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        use io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
        let context = context.into();
        if matches!(source.kind(), StorageFull | FileTooLarge | QuotaExceeded) {
            return Error::NoSpace(format!("{context}: {source}"));
        }
        Error::Io { context, source }
    }
}
