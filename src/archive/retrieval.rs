//! What handing out a message's content does in the archive: it is
//! recorded (one `message_retrieved` record per message, before anything
//! is handed out) when the compliance settings ask for it, and it sets
//! the reader's `\Seen` unless they only peek or the mailbox is open
//! read-only (RFC 3501 6.4.5).

use super::Folder;
use super::flags::{self, FlagChange};
use super::{
    Archives, AuditAction, AuditRecord, Caller, MailboxMessage, UserRecord, folder_target,
};
use crate::error::Result;

impl Archives {
    /// Records, if the compliance settings ask for it, that `caller` is
    /// about to be handed the content of `messages` of the mailbox
    /// `path` of `archive`.
    pub fn record_retrievals(
        &self,
        caller: Caller,
        archive: &str,
        path: &str,
        messages: impl IntoIterator<Item = MailboxMessage>,
    ) -> Result<()> {
        if !self.audit_retrievals() {
            return Ok(());
        }
        let target = folder_target(archive, path);
        // A message without its detail left the folder and is not handed out.
        let records: Vec<AuditRecord> = messages
            .into_iter()
            .filter_map(|message| {
                Some(caller.record(
                    AuditAction::MessageRetrieved,
                    target.clone(),
                    serde_json::json!({
                        "uid": message.uid,
                        "sha256": hex::encode(message.detail?.content.sha256()),
                    }),
                ))
            })
            .collect();
        self.audit(&records)
    }

    /// The bytes of message `uid` of `folder` (of `archive`), handed to
    /// `caller` to build a new message from (CATENATE's URL parts): the
    /// retrieval is recorded as a FETCH's is; `\Seen` is left alone (RFC
    /// 4469 5). `None` if the folder holds no such message. The caller
    /// checked that `caller` may read the folder.
    pub fn read_for_catenate(
        &self,
        caller: Caller,
        archive: &str,
        folder: &Folder,
        uid: u32,
    ) -> Result<Option<Vec<u8>>> {
        let Some(message) = self
            .catalog()
            .messages_with_uids(folder.id, &[uid])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let content = super::Content(message.blob);
        if self.audit_retrievals() {
            self.audit(&[caller.record(
                AuditAction::MessageRetrieved,
                folder_target(archive, &folder.path),
                serde_json::json!({ "uid": uid, "sha256": hex::encode(content.sha256()) }),
            )])?;
        }
        self.read_message(&content).map(Some)
    }

    /// Sets `\Seen` on `message` for `user`, who is reading its content
    /// (not peeking, the mailbox open read-write): on the flags as stored,
    /// which another session may have changed. Returns the change's number
    /// (as [`Archives::change_flags`]) and mod-sequence (both 0 if it was
    /// seen already); `Error::Expunged` if the message left the folder.
    pub fn mark_read(
        &self,
        user: &UserRecord,
        folder: &Folder,
        message: &MailboxMessage,
    ) -> Result<(u64, u64)> {
        if message.flags & flags::SEEN != 0 {
            return Ok((0, 0));
        }
        let seen = FlagChange {
            set: flags::SEEN,
            ..FlagChange::default()
        };
        let (changed, number) = self.change_flags(user, folder, message.uid, &seen)?;
        Ok((number, changed.modseq))
    }
}
