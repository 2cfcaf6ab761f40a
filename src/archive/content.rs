//! A message's archived bytes as readers name them: which bytes, how
//! large, and how to have them read ([`Archives::open_message`]). Where a
//! store keeps them stays with the store.

use crate::store::{BlobRecord, Sha256};

/// The archived bytes of one message; the same for every folder (and
/// every user) holding the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content(pub(super) BlobRecord);

impl Content {
    /// Names the bytes: equal for equal bytes, whatever the folder.
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn sha256(&self) -> &Sha256 {
        &self.0.sha256
    }

    /// The size as archived.
    pub fn size(&self) -> u64 {
        self.0.size
    }

    /// The size as IMAP serves it: every bare LF counted as CRLF
    /// (RFC822.SIZE, SEARCH LARGER and SMALLER).
    pub fn served_size(&self) -> u64 {
        self.0.crlf_size
    }
}

/// A message of a folder with its content, for reading the folder back
/// (`archimap export`).
#[derive(Debug, Clone)]
pub struct FolderMessage {
    pub uid: u32,
    pub content: Content,
}
