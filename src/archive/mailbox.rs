//! A user's per-message and per-folder state: what a mailbox holds for
//! them (messages with their own flags), which messages are new to them
//! (IMAP `\Recent`) and their subscriptions.

use std::collections::HashMap;

use super::Folder;
use super::flags::{ChangedFlags, FlagChange, FlagState};
use super::{Archives, Content, UserRecord};
use crate::error::Result;

/// One message of a folder, as one user sees it.
#[derive(Debug, Clone)]
pub struct MailboxMessage {
    pub uid: u32,
    pub internal_date: i64,
    pub content: Content,
    /// This user's flags (bits of `archive::flags`).
    pub flags: u32,
    /// This user's keywords.
    pub keywords: Vec<String>,
    /// `\Recent`: the session holding this copy is the first of the
    /// user's to see the message (set by the session, from
    /// [`Archives::claim_recent`] or [`Archives::first_recent`]).
    pub recent: bool,
}

impl Archives {
    /// The messages of `folder` in UID order, with `user`'s flags.
    pub fn mailbox_messages(
        &self,
        user: &UserRecord,
        folder: &Folder,
    ) -> Result<Vec<MailboxMessage>> {
        self.with_flags(user, folder, || self.catalog().messages(folder.id))
    }

    /// The messages of `folder` with these UIDs (those it holds), in UID
    /// order, with `user`'s flags: what a session reads of messages just
    /// added, instead of the whole folder.
    pub fn mailbox_messages_with_uids(
        &self,
        user: &UserRecord,
        folder: &Folder,
        uids: &[u32],
    ) -> Result<Vec<MailboxMessage>> {
        self.with_flags(user, folder, || {
            self.catalog().messages_with_uids(folder.id, uids)
        })
    }

    /// Messages (`read`) with `user`'s flags, read again until no message
    /// came or went between the two reads (HIGHESTMODSEQ the same before
    /// and after): a message expunged in between would otherwise show
    /// without its flags. After a few tries the last read is taken.
    fn with_flags(
        &self,
        user: &UserRecord,
        folder: &Folder,
        read: impl Fn() -> Result<Vec<crate::store::MessageRecord>>,
    ) -> Result<Vec<MailboxMessage>> {
        const TRIES: usize = 5;
        for tried in 1.. {
            let before = self.highest_modseq(folder)?;
            let messages = read()?;
            let mut flags: HashMap<u32, FlagState> = self
                .catalog()
                .flags(user.id, folder.id)?
                .into_iter()
                .collect();
            if before != self.highest_modseq(folder)? && tried < TRIES {
                continue;
            }
            return Ok(messages
                .into_iter()
                .map(|m| {
                    let state = flags.remove(&m.uid).unwrap_or_default();
                    MailboxMessage {
                        uid: m.uid,
                        internal_date: m.internal_date,
                        flags: state.bits,
                        keywords: state.keywords,
                        content: Content(m.blob),
                        recent: false,
                    }
                })
                .collect());
        }
        unreachable!("the loop returns by its last try")
    }

    /// HIGHESTMODSEQ of `folder` as it is now (`None`: deleted); it moves
    /// with every message added or removed.
    fn highest_modseq(&self, folder: &Folder) -> Result<Option<u64>> {
        Ok(self.catalog().folder(folder.id)?.map(|f| f.highestmodseq))
    }

    /// A folder as it is now; `None` once deleted.
    pub fn folder(&self, id: i64) -> Result<Option<Folder>> {
        self.catalog().folder(id)
    }

    /// `user`'s flags on the messages of `folder` that have any, by UID;
    /// `None` when a message came or went since `folder` was read (its
    /// HIGHESTMODSEQ moved): the flags may then not be those of the
    /// messages the caller knows (an expunged message has none left).
    pub fn user_flags(
        &self,
        user: &UserRecord,
        folder: &Folder,
    ) -> Result<Option<HashMap<u32, FlagState>>> {
        let flags = self
            .catalog()
            .flags(user.id, folder.id)?
            .into_iter()
            .collect();
        let unchanged = self.highest_modseq(folder)? == Some(folder.highestmodseq);
        Ok(unchanged.then_some(flags))
    }

    /// Changes `user`'s flags and keywords on one message as they are
    /// stored now (another session's change since this one read them is
    /// kept). Flags are private to each user: they never change the
    /// archive itself.
    pub fn change_flags(
        &self,
        user: &UserRecord,
        folder: &Folder,
        uid: u32,
        change: &FlagChange,
    ) -> Result<ChangedFlags> {
        let changed = self
            .catalog()
            .change_flags(user.id, folder.id, uid, change)?;
        if changed.altered {
            self.changes.changed(folder.id);
        }
        Ok(changed)
    }

    /// The stored header blocks of these messages, by blob id.
    pub fn message_headers(&self, messages: &[&MailboxMessage]) -> Result<HashMap<i64, Vec<u8>>> {
        let ids: Vec<i64> = messages.iter().map(|m| m.content.id()).collect();
        Ok(self.catalog().blob_headers(&ids)?.into_iter().collect())
    }

    /// `user`'s subscribed names, as (archive, folder path); the folders
    /// need not exist. Folders that come from the archive (imports)
    /// are subscribed for every user who can see them when they
    /// are made, and a whole archive when a grant makes it visible; a
    /// folder a client creates only when it subscribes.
    pub fn subscriptions(&self, user: &UserRecord) -> Result<Vec<(String, String)>> {
        let names: HashMap<i64, String> = self
            .catalog()
            .archives()?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect();
        Ok(self
            .catalog()
            .subscriptions(user.id)?
            .into_iter()
            .filter_map(|(archive, path)| Some((names.get(&archive)?.clone(), path)))
            .collect())
    }

    /// Subscribes `user` to (or unsubscribes them from) the name of folder
    /// `path` in `archive`, which need not exist.
    pub fn set_subscribed(
        &self,
        user: &UserRecord,
        archive: &str,
        path: &str,
        subscribed: bool,
    ) -> Result<()> {
        let archive = self.archive(archive)?;
        self.catalog()
            .set_subscribed(user.id, archive.id, path, subscribed)
    }

    /// The lowest UID of `folder` that is `\Recent` for `user`, claimed by
    /// none of their sessions yet; read-only sessions look without claiming.
    pub fn first_recent(&self, user: &UserRecord, folder: &Folder) -> Result<u32> {
        self.catalog().first_recent(user.id, folder.id)
    }

    /// Claims the UIDs of `folder` below `up_to` for one session of `user`:
    /// those from the returned UID on are `\Recent` in that session and in
    /// no other (RFC 3501 2.3.2; `\Recent` is per user, as flags are).
    pub fn claim_recent(&self, user: &UserRecord, folder: &Folder, up_to: u32) -> Result<u32> {
        self.catalog().claim_recent(user.id, folder.id, up_to)
    }
}
