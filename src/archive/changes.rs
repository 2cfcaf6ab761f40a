//! Changing what is archived once it is there: copying and moving
//! messages between folders of one archive, expunging them, creating,
//! renaming and deleting folders. Every change checks the user's rights
//! (from [`Archives::access`], the same source as the IMAP rights) and is
//! one catalog transaction; sessions watching a folder hear of it at once.
//!
//! The rules (product.md, sections 1 and 2): `write` moves messages and
//! folders inside its archive and creates folders; `delete` removes
//! messages and folders; nothing crosses archives; a frozen folder (bytes
//! in a write-protected store) or legal hold allows no change at all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Folder;
use super::audit::folder_target;
use super::flags::FlagState;
use super::{ArchiveAccess, Archives, FilingOutcome, FolderPath, Rights, UserRecord};
use crate::error::{Error, Result};
use crate::store::{AuditAction, AuditRecord, MessageRecord, Removed};

/// Serialises this process's changes and tells watchers of a folder that
/// it changed, sessions that watch every folder (NOTIFY) that one did,
/// and idling sessions that someone's access changed.
#[derive(Default)]
pub struct Changes {
    lock: Mutex<()>,
    watchers: Mutex<HashMap<i64, watch::Sender<u64>>>,
    any: watch::Sender<u64>,
    access: watch::Sender<u64>,
}

impl Changes {
    /// A receiver that sees a new value whenever this process changes a
    /// user or their folder privileges (other processes' changes are seen
    /// in the catalog's access generation).
    pub fn watch_access(&self) -> watch::Receiver<u64> {
        self.access.subscribe()
    }

    pub fn access_changed(&self) {
        self.access.send_modify(|version| *version += 1);
    }

    /// A receiver that sees a new value whenever the folder changes.
    pub fn watch(&self, folder_id: i64) -> watch::Receiver<u64> {
        let mut watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        watchers.retain(|_, sender| sender.receiver_count() > 0);
        watchers
            .entry(folder_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// A receiver that sees a new value whenever any folder changes (or is
    /// made, renamed or deleted).
    pub fn watch_any(&self) -> watch::Receiver<u64> {
        self.any.subscribe()
    }

    pub fn changed(&self, folder_id: i64) {
        self.any.send_modify(|version| *version += 1);
        let watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = watchers.get(&folder_id) {
            sender.send_modify(|version| *version += 1);
        }
    }
}

/// A right a change needs, with the reason a refusal gives.
#[derive(Clone, Copy)]
enum Need {
    /// `i`: messages may be put here (COPY, MOVE, APPEND).
    Insert,
    /// `x` (from `write`): messages and folders may be moved out or renamed.
    MoveOut,
    /// `k`: folders may be created here.
    Create,
    /// `e`: messages may be expunged.
    Expunge,
    /// `x` and `e` (from `delete`): the folder may be deleted.
    DeleteFolder,
}

impl Need {
    fn letters(self) -> &'static str {
        match self {
            Need::Insert => "i",
            Need::MoveOut => "x",
            Need::Create => "k",
            Need::Expunge => "e",
            Need::DeleteFolder => "xe",
        }
    }

    fn refusal(self, archive: &str) -> String {
        let what = match self {
            Need::Insert => "put messages into",
            Need::MoveOut => "move messages or folders out of",
            Need::Create => "create folders in",
            Need::Expunge => "delete messages in",
            Need::DeleteFolder => "delete folders in",
        };
        format!("You may not {what} archive {archive}")
    }
}

/// Who asks for a change, from where and, when they said, why (for the
/// audit log).
/// A message for [`Archives::append`] to archive.
pub struct NewMessage {
    pub bytes: Vec<u8>,
    pub flags: FlagState,
    /// The INTERNALDATE (Unix seconds); now if `None`.
    pub internal_date: Option<i64>,
}

#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub who: Who<'a>,
    pub ip: Option<IpAddr>,
    /// Why, in the caller's words; recorded with each change.
    pub reason: Option<&'a str>,
}

#[derive(Clone, Copy)]
pub enum Who<'a> {
    /// A user, with their own privileges.
    User(&'a UserRecord),
    /// An administrator (admin API, command line), by the name changes are
    /// recorded under: read, write and delete on every archive.
    Administrator(&'a str),
}

impl<'a> Caller<'a> {
    /// A user acting with their own privileges.
    pub fn new(user: &'a UserRecord, ip: Option<IpAddr>) -> Caller<'a> {
        Caller {
            who: Who::User(user),
            ip,
            reason: None,
        }
    }

    fn name(&self) -> &str {
        match self.who {
            Who::User(user) => &user.name,
            Who::Administrator(name) => name,
        }
    }

    pub(super) fn record(
        &self,
        action: AuditAction,
        target: String,
        mut details: Value,
    ) -> AuditRecord {
        if let (Some(reason), Some(details)) = (self.reason, details.as_object_mut()) {
            details.insert("reason".into(), reason.into());
        }
        AuditRecord {
            ip: self.ip,
            ..AuditRecord::now(self.name(), action, target, details)
        }
    }
}

impl Archives {
    /// Tells sessions with `folder` open to look again.
    pub fn watch_folder(&self, folder_id: i64) -> watch::Receiver<u64> {
        self.changes.watch(folder_id)
    }

    /// Tells sessions watching many folders (NOTIFY) to look again.
    pub fn watch_changes(&self) -> watch::Receiver<u64> {
        self.changes.watch_any()
    }

    /// Copies (`remove_source`: moves) messages into a folder of the same
    /// archive; returns (source UID, target UID) pairs in source UID order.
    pub fn copy_messages(
        &self,
        caller: Caller,
        from: &Folder,
        uids: &[u32],
        to: &Folder,
        remove_source: bool,
    ) -> Result<Vec<(u32, u32)>> {
        if from.archive_id != to.archive_id {
            return Err(Error::Refused(
                "Messages can only be copied or moved within one archive".into(),
            ));
        }
        let _guard = self.change_lock();
        let access = self.checked(caller, to, Need::Insert)?;
        if remove_source {
            // Moving out needs `write` only: the messages stay in the archive.
            check(&access, from, Need::MoveOut)?;
        }
        // One record per message that is there (changes in this process
        // are serialised, and other processes only add messages).
        let present = self.catalog().messages_with_uids(from.id, uids)?;
        let action = if remove_source {
            AuditAction::MessageMoved
        } else {
            AuditAction::MessageCopied
        };
        let records: Vec<AuditRecord> = present
            .iter()
            .map(|m| {
                caller.record(
                    action,
                    folder_target(&access.archive, &from.path),
                    json!({
                        "uid": m.uid,
                        "to": folder_target(&access.archive, &to.path),
                        "sha256": hex::encode(m.blob.sha256),
                    }),
                )
            })
            .collect();
        let copy = || {
            self.catalog()
                .copy_messages(from.id, uids, to.id, remove_source, &records)
        };
        let pairs = match remove_source {
            true => self.removing_messages(from.id, copy)?,
            false => copy()?,
        };
        self.changes.changed(to.id);
        if remove_source {
            self.changes.changed(from.id);
        }
        Ok(pairs)
    }

    /// Archives messages into a folder (IMAP APPEND, MULTIAPPEND), with
    /// `caller`'s flags and keywords, all or none: one commit files them
    /// all. Returns the folder's UIDVALIDITY and the new messages' UIDs, in
    /// order. Each is a new message even when the folder holds its bytes
    /// already (bytes are stored once all the same).
    pub fn append(
        &self,
        caller: Caller,
        folder: &Folder,
        messages: &[NewMessage],
    ) -> Result<(u32, Vec<u32>)> {
        // Messages are filed with a user's flags; administrators import.
        let Who::User(user) = caller.who else {
            return Err(Error::Refused(
                "an administrator archives messages by importing them".into(),
            ));
        };
        let access = {
            let _guard = self.change_lock();
            self.checked(caller, folder, Need::Insert)?
        };
        let now = chrono::Utc::now().timestamp();
        // Keywords checked as a STORE checks them, before anything is filed.
        let flags = messages
            .iter()
            .map(|m| {
                let keywords = super::flags::FlagChange {
                    set: m.flags.bits,
                    keywords: super::flags::KeywordChange::Add(m.flags.keywords.clone()),
                    ..Default::default()
                };
                keywords.apply(&FlagState::default())
            })
            .collect::<Result<Vec<_>>>()?;
        // Bytes stored already are not prepared again; should another
        // session expunge their last copy before the commit, the messages
        // are prepared with their bytes and filed again.
        let file = || -> Result<Vec<u32>> {
            let mut prepared = Vec::with_capacity(messages.len());
            let mut sha256s = Vec::with_capacity(messages.len());
            for (message, flags) in messages.iter().zip(&flags) {
                let (message, _) = self.prepare_message(
                    &message.bytes,
                    folder.id,
                    message.internal_date.unwrap_or(now),
                    flags.clone(),
                    self.compression_level,
                )?;
                sha256s.push(message.sha256);
                prepared.push(message);
            }
            let mut filer = self.single_filer(&user.name)?;
            // Recorded in the transaction that files the messages.
            let record = |outcomes: &[FilingOutcome]| {
                outcomes
                    .iter()
                    .zip(&sha256s)
                    .map(|(outcome, sha256)| {
                        let uid = match outcome {
                            FilingOutcome::Added { uid } => Some(*uid),
                            _ => None,
                        };
                        caller.record(
                            AuditAction::MessageAppended,
                            folder_target(&access.archive, &folder.path),
                            json!({ "uid": uid, "sha256": hex::encode(sha256) }),
                        )
                    })
                    .collect()
            };
            let outcomes = filer.file(prepared, &record)?;
            filer.finish()?;
            outcomes
                .iter()
                .map(|outcome| match outcome {
                    FilingOutcome::Added { uid } => Ok(*uid),
                    _ => Err(Error::Corrupt(
                        "an appended message was not added to its folder".into(),
                    )),
                })
                .collect()
        };
        const TRIES: usize = 3;
        for tried in 1.. {
            match file() {
                Ok(uids) => {
                    self.changes.changed(folder.id);
                    return Ok((folder.uidvalidity, uids));
                }
                Err(Error::Expunged(_)) if tried < TRIES => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns by its last try")
    }

    /// Expunges messages of a folder; returns the UIDs removed.
    pub fn expunge(&self, caller: Caller, folder: &Folder, uids: &[u32]) -> Result<Vec<u32>> {
        let _guard = self.change_lock();
        let access = self.checked(caller, folder, Need::Expunge)?;
        let records = self.deletion_records(
            caller,
            &access.archive,
            folder,
            &self.catalog().messages_with_uids(folder.id, uids)?,
        )?;
        let removed = self.removing_messages(folder.id, || {
            self.catalog().expunge(folder.id, uids, &records)
        })?;
        self.unindex(&removed);
        self.changes.changed(folder.id);
        Ok(removed.iter().map(|r| r.uid).collect())
    }

    /// Creates a folder (and missing parents) inside an archive.
    pub fn create_folder(&self, caller: Caller, archive: &str, path: &str) -> Result<Folder> {
        let path = FolderPath::new(path)?;
        let archive = self.archive(archive)?;
        let _guard = self.change_lock();
        let access = self
            .caller_access(caller, archive.id)?
            .ok_or_else(|| Error::NotFound(format!("archive {}", archive.name)))?;
        check_create(&access)?;
        let folder = match access.folders.iter().find(|f| f.path == path.as_str()) {
            // A name kept by the deletion of a parent becomes a folder again.
            Some(kept) if kept.noselect => self.catalog().recreate_folder(kept.id)?,
            Some(_) => return Err(Error::AlreadyExists(format!("folder {path}"))),
            // A folder a client creates is subscribed only when it subscribes.
            None => self
                .catalog()
                .ensure_folder(archive.id, path.as_str(), None)?,
        };
        self.audit(&[caller.record(
            AuditAction::FolderCreated,
            folder_target(&archive.name, path.as_str()),
            json!({}),
        )])?;
        self.changes.changed(folder.id);
        Ok(folder)
    }

    /// Renames a folder (with its sub-folders) inside its archive.
    pub fn rename_folder(&self, caller: Caller, folder: &Folder, new_path: &str) -> Result<()> {
        let new_path = FolderPath::new(new_path)?;
        if new_path.as_str().starts_with(&format!("{}/", folder.path)) {
            return Err(Error::Invalid(format!(
                "{} cannot be moved into itself ({new_path})",
                folder.path
            )));
        }
        let _guard = self.change_lock();
        // The new name is a folder made in the archive: `k` as for CREATE
        // (checked first: without `write`, that is the refusal's reason).
        let access = self
            .caller_access(caller, folder.archive_id)?
            .ok_or_else(|| Error::NotFound(format!("folder {}", folder.path)))?;
        check_create(&access)?;
        let access = self.checked(caller, folder, Need::MoveOut)?;
        let record = caller.record(
            AuditAction::FolderRenamed,
            folder_target(&access.archive, &folder.path),
            json!({ "to": folder_target(&access.archive, new_path.as_str()) }),
        );
        self.catalog()
            .rename_folder(folder.id, new_path.as_str(), &[record])?;
        self.changes.changed(folder.id);
        Ok(())
    }

    /// Deletes a folder with its messages. One with sub-folders keeps its
    /// name, not selectable (RFC 3501: DELETE never removes the names
    /// below); deleting such a name again is an error until they are gone.
    pub fn delete_folder(&self, caller: Caller, folder: &Folder) -> Result<Vec<Removed>> {
        let _guard = self.change_lock();
        let access = self.checked(caller, folder, Need::DeleteFolder)?;
        let below = format!("{}/", folder.path);
        let has_children = access.folders.iter().any(|f| f.path.starts_with(&below));
        if has_children && folder.noselect {
            return Err(Error::Refused(format!(
                "{} holds no messages, only sub-folders; delete those first",
                folder.path
            )));
        }
        let messages: Vec<MessageRecord> = self.catalog().messages(folder.id)?;
        let mut records = self.deletion_records(caller, &access.archive, folder, &messages)?;
        records.push(caller.record(
            AuditAction::FolderDeleted,
            folder_target(&access.archive, &folder.path),
            json!({ "messages": messages.len() }),
        ));
        let removed = self
            .catalog()
            .delete_folder(folder.id, has_children, &records)?;
        self.unindex(&removed);
        self.changes.changed(folder.id);
        Ok(removed)
    }

    /// Serialises this process's changes whose checks must still hold when
    /// they are written.
    pub(super) fn change_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changes.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One `message_deleted` record per message: who, folder, UID,
    /// Message-ID, SHA-256.
    fn deletion_records(
        &self,
        caller: Caller,
        archive: &str,
        folder: &Folder,
        messages: &[MessageRecord],
    ) -> Result<Vec<AuditRecord>> {
        let ids: Vec<i64> = messages.iter().map(|m| m.blob.id).collect();
        let headers: HashMap<i64, Vec<u8>> =
            self.catalog().blob_headers(&ids)?.into_iter().collect();
        Ok(messages
            .iter()
            .map(|m| {
                let message_id = headers.get(&m.blob.id).and_then(|h| message_id(h));
                caller.record(
                    AuditAction::MessageDeleted,
                    folder_target(archive, &folder.path),
                    json!({
                        "uid": m.uid,
                        "message_id": message_id,
                        "sha256": hex::encode(m.blob.sha256),
                    }),
                )
            })
            .collect())
    }

    /// `caller`'s access to the folder's archive, if it grants `need` there.
    fn checked(&self, caller: Caller, folder: &Folder, need: Need) -> Result<ArchiveAccess> {
        // Messages go only into folders that can hold them.
        let holds_messages = !(folder.noselect && matches!(need, Need::Insert));
        let access = self
            .caller_access(caller, folder.archive_id)?
            .filter(|a| a.folders.iter().any(|f| f.id == folder.id) && holds_messages)
            .ok_or_else(|| Error::NotFound(format!("folder {}", folder.path)))?;
        check(&access, folder, need)?;
        Ok(access)
    }
}

/// The Message-ID of a header block, without its angle brackets.
fn message_id(header: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::default().parse_headers(header)?;
    parsed.message_id().map(str::to_string)
}

fn check(access: &ArchiveAccess, folder: &Folder, need: Need) -> Result<()> {
    let rights = access.rights(folder);
    if need.letters().chars().all(|r| rights.contains(r)) {
        return Ok(());
    }
    let granted = Rights::for_privileges(access.privileges, true);
    if need.letters().chars().all(|r| granted.contains(r)) {
        // The privilege is there; the archive's state forbids the change.
        return Err(Error::Refused(format!(
            "Nothing in {} may change now (legal hold, or messages in a write-protected archive store)",
            folder.path
        )));
    }
    Err(Error::NotPermitted(need.refusal(&access.archive)))
}

/// `k` on the archive itself (its root): folders may be made in it.
fn check_create(access: &ArchiveAccess) -> Result<()> {
    if Rights::for_privileges(access.privileges, access.changes_allowed).contains('k') {
        Ok(())
    } else if Rights::for_privileges(access.privileges, true).contains('k') {
        Err(Error::Refused(format!(
            "Nothing in archive {} may change now (legal hold)",
            access.archive
        )))
    } else {
        Err(Error::NotPermitted(Need::Create.refusal(&access.archive)))
    }
}
