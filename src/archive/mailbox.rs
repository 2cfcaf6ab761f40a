//! A user's per-message and per-folder state: what a mailbox holds for
//! them (messages with their own flags) and their subscriptions.

use std::collections::{HashMap, HashSet};

use super::{Archives, UserRecord};
use crate::error::Result;
use crate::store::{BlobRecord, FlagState, FolderRecord};

/// One message of a folder, as one user sees it.
#[derive(Debug, Clone)]
pub struct MailboxMessage {
    pub uid: u32,
    pub internal_date: i64,
    pub blob: BlobRecord,
    /// This user's flags (bits of `archive::flags`).
    pub flags: u32,
    /// This user's keywords.
    pub keywords: Vec<String>,
}

impl Archives {
    /// The messages of `folder` in UID order, with `user`'s flags.
    pub fn mailbox_messages(
        &self,
        user: &UserRecord,
        folder: &FolderRecord,
    ) -> Result<Vec<MailboxMessage>> {
        let mut flags: HashMap<u32, FlagState> = self
            .catalog()
            .flags(user.id, folder.id)?
            .into_iter()
            .collect();
        Ok(self
            .catalog()
            .messages(folder.id)?
            .into_iter()
            .map(|m| {
                let state = flags.remove(&m.uid).unwrap_or_default();
                MailboxMessage {
                    uid: m.uid,
                    internal_date: m.internal_date,
                    flags: state.bits,
                    keywords: state.keywords,
                    blob: m.blob,
                }
            })
            .collect())
    }

    /// A folder as it is now; `None` once deleted.
    pub fn folder(&self, id: i64) -> Result<Option<FolderRecord>> {
        self.catalog().folder(id)
    }

    /// `user`'s flags on the messages of `folder` that have any, by UID.
    pub fn user_flags(
        &self,
        user: &UserRecord,
        folder: &FolderRecord,
    ) -> Result<HashMap<u32, FlagState>> {
        Ok(self
            .catalog()
            .flags(user.id, folder.id)?
            .into_iter()
            .collect())
    }

    /// Sets `user`'s flags and keywords on one message. Flags are private
    /// to each user: they never change the archive itself.
    pub fn set_flags(
        &self,
        user: &UserRecord,
        folder: &FolderRecord,
        message: &MailboxMessage,
    ) -> Result<()> {
        let state = FlagState {
            bits: message.flags,
            keywords: message.keywords.clone(),
        };
        self.catalog()
            .set_flags(user.id, folder.id, message.uid, &state)?;
        self.changes.changed(folder.id);
        Ok(())
    }

    /// The stored header blocks of these messages, by blob id.
    pub fn message_headers(&self, messages: &[&MailboxMessage]) -> Result<HashMap<i64, Vec<u8>>> {
        let ids: Vec<i64> = messages.iter().map(|m| m.blob.id).collect();
        Ok(self.catalog().blob_headers(&ids)?.into_iter().collect())
    }

    /// Folders `user` unsubscribed; every other folder counts as subscribed,
    /// so a new user sees the whole archive in clients that list only
    /// subscribed folders.
    pub fn unsubscribed(&self, user: &UserRecord) -> Result<HashSet<i64>> {
        Ok(self.catalog().unsubscribed(user.id)?.into_iter().collect())
    }

    pub fn set_subscribed(
        &self,
        user: &UserRecord,
        folder: &FolderRecord,
        subscribed: bool,
    ) -> Result<()> {
        self.catalog()
            .set_subscribed(user.id, folder.id, subscribed)
    }
}
