//! Folders and messages as an administrator handles them (admin API and
//! command line): any archive, named the way MailStore names folders,
//! `archive/path` (`alice`, `alice/Inbox/2019`).
//!
//! Changes take the users' own paths (`changes.rs`) with an administrator's
//! [`Caller`]: the privileges are all there, but legal hold and store
//! states bind an administrator as anyone, and each change is audited
//! under this `Archives`' actor, in the change's transaction.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde_json::json;

use super::Folder;
use super::audit::folder_target;
use super::changes::Who;
use super::view::INBOX_NAMES;
use super::{Archives, Caller, FolderPath, Mailbox, Summary};
use crate::error::{Error, Result};
use crate::store::{ArchiveRecord, ArchiveStatistics, AuditAction};

/// A folder by its full name: the archive, then the path inside it; no
/// path names the archive itself (its root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderName {
    pub archive: String,
    pub path: Option<FolderPath>,
}

impl FromStr for FolderName {
    type Err = Error;

    fn from_str(name: &str) -> Result<FolderName> {
        let (archive, path) = match name.split_once('/') {
            Some((archive, path)) => (archive, Some(path)),
            None => (name, None),
        };
        let invalid = |why: String| {
            Error::Invalid(format!(
                "folder {name:?}: {why} (folders are named archive/path, as in alice/Inbox)"
            ))
        };
        if archive.trim().is_empty() {
            return Err(invalid("no archive name".into()));
        }
        let path = path
            .map(FolderPath::new)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(FolderName {
            archive: archive.to_string(),
            path,
        })
    }
}

impl fmt::Display for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}/{path}", self.archive),
            None => f.write_str(&self.archive),
        }
    }
}

/// One message of one folder, as `<UIDVALIDITY>:<UID>` (MailStore's
/// two-number form). No two folders ever get the same UIDVALIDITY and a
/// folder never reuses a UID, so an id names one message for good: one
/// kept after the message was deleted can never name another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageId {
    pub uidvalidity: u32,
    pub uid: u32,
}

impl FromStr for MessageId {
    type Err = Error;

    fn from_str(id: &str) -> Result<MessageId> {
        id.split_once(':')
            .and_then(|(validity, uid)| {
                Some(MessageId {
                    uidvalidity: validity.parse().ok()?,
                    uid: uid.parse().ok()?,
                })
            })
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "message id {id:?} is malformed: it is two numbers, as in 1700000000:42 \
                     (take it from GetMessages)"
                ))
            })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.uidvalidity, self.uid)
    }
}

/// A folder of a tree listing.
#[derive(Debug, Clone)]
pub struct FolderEntry {
    /// The full name, `archive/path`, or the archive's name for its root.
    pub name: String,
    /// Messages in the folder itself (an archive's root holds none).
    pub messages: u64,
}

/// A message of a folder listing, from what the catalog keeps.
#[derive(Debug, Clone)]
pub struct ListedMessage {
    pub id: MessageId,
    pub uid: u32,
    pub internal_date: i64,
    pub size: u64,
    /// `None` for a message that could not be parsed.
    pub summary: Option<Summary>,
}

impl ListedMessage {
    /// The senders as mail clients show them (`Name <address>, ...`);
    /// `None` for a message that could not be parsed.
    pub fn from_text(&self) -> Option<String> {
        self.summary.as_ref().map(|s| addresses(&s.from))
    }

    /// The recipients (`To:`), shown the same way.
    pub fn to_text(&self) -> Option<String> {
        self.summary.as_ref().map(|s| addresses(&s.to))
    }
}

fn addresses(mailboxes: &[Mailbox]) -> String {
    mailboxes
        .iter()
        .map(|m| match (&m.name, &m.address) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (Some(name), None) => name.clone(),
            (None, address) => address.clone().unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Archives {
    /// The folders below `parent` (without one: every archive and its
    /// folders), parents first, down to `max_levels` below it (1: the
    /// children only; none: all).
    pub fn child_folders(
        &self,
        parent: Option<&FolderName>,
        max_levels: Option<u32>,
    ) -> Result<Vec<FolderEntry>> {
        if max_levels == Some(0) {
            return Err(Error::Invalid("maxLevels must be 1 or more".into()));
        }
        let depth = |path: &str| path.split('/').count();
        // Levels count from the top: an archive's root is level 1, and
        // each path segment adds one.
        let top = parent.map_or(0, |p| 1 + p.path.as_ref().map_or(0, |p| depth(p.as_str())));
        let wanted =
            |level: usize| level > top && max_levels.is_none_or(|max| level - top <= max as usize);
        let archives = match parent {
            Some(parent) => vec![self.archive(&parent.archive)?],
            None => self.catalog().archives()?,
        };
        let mut entries = Vec::new();
        for archive in archives {
            let folders = self.catalog().folders(archive.id)?;
            let counts = self.catalog().message_counts(archive.id)?;
            let prefix = match parent.and_then(|p| p.path.as_ref()) {
                Some(path) if !folders.iter().any(|f| f.path == path.as_str()) => {
                    return Err(Error::NotFound(format!("folder {}/{path}", archive.name)));
                }
                Some(path) => format!("{path}/"),
                None => String::new(),
            };
            if wanted(1) {
                entries.push(FolderEntry {
                    name: archive.name.clone(),
                    messages: 0,
                });
            }
            entries.extend(
                folders
                    .iter()
                    .filter(|f| f.path.starts_with(&prefix) && wanted(1 + depth(&f.path)))
                    .map(|f| FolderEntry {
                        name: full_name(&archive.name, &f.path),
                        messages: counts.get(&f.id).copied().unwrap_or(0),
                    }),
            );
        }
        Ok(entries)
    }

    /// Every archive with its number of messages and their total size.
    pub fn archive_statistics(&self) -> Result<Vec<ArchiveStatistics>> {
        self.catalog().archive_statistics()
    }

    /// The messages of one folder in UID order, with the header fields of
    /// their stored summaries; no message is read.
    pub fn list_messages(&self, name: &FolderName) -> Result<Vec<ListedMessage>> {
        let archive = self.archive(&name.archive)?;
        // An archive's root holds sub-folders only.
        let Some(path) = &name.path else {
            return Ok(Vec::new());
        };
        let folder = self.folder_at(&archive, path)?;
        self.catalog()
            .message_summaries(folder.id)?
            .into_iter()
            .map(|(message, summary)| {
                let summary = summary
                    .map(|json| serde_json::from_str(&json))
                    .transpose()
                    .map_err(|e| {
                        Error::Corrupt(format!(
                            "the summary of message {} in {name}: {e}",
                            message.uid
                        ))
                    })?;
                Ok(ListedMessage {
                    id: MessageId {
                        uidvalidity: folder.uidvalidity,
                        uid: message.uid,
                    },
                    uid: message.uid,
                    internal_date: message.internal_date,
                    size: message.blob.size,
                    summary,
                })
            })
            .collect()
    }

    /// Deletes one message from its folder, as an EXPUNGE of it would
    /// (sessions with the folder open are told), with `reason` in its audit
    /// record; returns the folder it was in.
    pub fn delete_message(&self, id: MessageId, reason: &str) -> Result<String> {
        if reason.trim().is_empty() {
            return Err(Error::Invalid(
                "say why the message is deleted: the reason goes into the audit log".into(),
            ));
        }
        let missing = || Error::NotFound(format!("message {id}"));
        let folder = self
            .catalog()
            .folder_by_uidvalidity(id.uidvalidity)?
            .ok_or_else(missing)?;
        if self
            .catalog()
            .messages_with_uids(folder.id, &[id.uid])?
            .is_empty()
        {
            return Err(missing());
        }
        let removed = self.expunge(self.administrator(Some(reason)), &folder, &[id.uid])?;
        if removed.is_empty() {
            // Someone else deleted it in the meantime.
            return Err(missing());
        }
        Ok(full_name(
            &self.archive_name(folder.archive_id)?,
            &folder.path,
        ))
    }

    /// Renames or moves a folder, with its sub-folders, inside its archive.
    pub fn move_folder(&self, from: &FolderName, to: &FolderName) -> Result<()> {
        let (Some(from_path), Some(to_path)) = (&from.path, &to.path) else {
            return Err(Error::Invalid(format!(
                "an archive's root cannot be moved, nor a folder made one ({from} to {to}): \
                 renaming the user renames their archive"
            )));
        };
        let archive = self.archive(&from.archive)?;
        if self.archive(&to.archive)?.id != archive.id {
            return Err(Error::Refused(format!(
                "folders move only inside their archive: {from} is in archive {}, {to} is not",
                archive.name
            )));
        }
        let folder = self.folder_at(&archive, from_path)?;
        self.rename_folder(self.administrator(None), &folder, to_path.as_str())
    }

    /// Deletes the folders below `under` (everywhere without it) that hold
    /// no message and have no sub-folder that does, all or none; returns
    /// their names, sub-folders first. `under` itself stays, and so do the
    /// archives' roots and their inbox folders (the IMAP INBOX: without it
    /// users would get an empty, read-only one).
    pub fn delete_empty_folders(&self, under: Option<&FolderName>) -> Result<Vec<String>> {
        let archives = match under {
            Some(under) => vec![self.archive(&under.archive)?],
            None => self.catalog().archives()?,
        };
        let mut doomed: Vec<(String, Folder)> = Vec::new();
        for archive in archives {
            let folders = self.catalog().folders(archive.id)?;
            let counts = self.catalog().message_counts(archive.id)?;
            let prefix = match under.and_then(|u| u.path.as_ref()) {
                Some(path) => format!("{}/", self.folder_at(&archive, path)?.path),
                None => String::new(),
            };
            // Sub-folders come before their parents in reverse path order.
            let mut keep_parent: HashSet<&str> = HashSet::new();
            for folder in folders.iter().rev().filter(|f| f.path.starts_with(&prefix)) {
                let kept = counts.get(&folder.id).is_some_and(|&n| n > 0)
                    || keep_parent.contains(folder.path.as_str())
                    || is_inbox(&folder.path);
                if kept {
                    if let Some((parent, _)) = folder.path.rsplit_once('/') {
                        keep_parent.insert(parent);
                    }
                } else {
                    doomed.push((archive.name.clone(), folder.clone()));
                }
            }
        }
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<_> = doomed
            .iter()
            .map(|(archive, folder)| {
                self.change_record(
                    AuditAction::FolderDeleted,
                    folder_target(archive, &folder.path),
                    json!({ "messages": 0 }),
                )
            })
            .collect();
        let ids: Vec<i64> = doomed.iter().map(|(_, f)| f.id).collect();
        self.catalog().delete_empty_folders(&ids, &records)?;
        for id in ids {
            self.changes.changed(id);
        }
        Ok(doomed
            .iter()
            .map(|(archive, folder)| full_name(archive, &folder.path))
            .collect())
    }

    /// The folder at `path` in `archive`.
    fn folder_at(&self, archive: &ArchiveRecord, path: &FolderPath) -> Result<Folder> {
        self.catalog()
            .folders(archive.id)?
            .into_iter()
            .find(|f| f.path == path.as_str())
            .ok_or_else(|| Error::NotFound(format!("folder {}/{path}", archive.name)))
    }

    fn archive_name(&self, id: i64) -> Result<String> {
        self.catalog()
            .archives()?
            .into_iter()
            .find(|a| a.id == id)
            .map(|a| a.name)
            .ok_or_else(|| Error::NotFound(format!("archive #{id}")))
    }

    /// This `Archives`' actor as the caller of a change, with an
    /// administrator's rights and `reason` recorded with it.
    fn administrator<'a>(&'a self, reason: Option<&'a str>) -> Caller<'a> {
        Caller {
            who: Who::Administrator(&self.actor.name),
            ip: self.actor.ip,
            reason,
        }
    }
}

/// A folder's name as administrators see it: `archive/path`.
fn full_name(archive: &str, path: &str) -> String {
    format!("{archive}/{path}")
}

/// A top-level folder the IMAP view may take as the INBOX.
fn is_inbox(path: &str) -> bool {
    !path.contains('/') && INBOX_NAMES.contains(&path.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_and_message_ids_parse() {
        let name: FolderName = "alice/Inbox/2019".parse().unwrap();
        assert_eq!(name.archive, "alice");
        assert_eq!(name.path.as_ref().unwrap().as_str(), "Inbox/2019");
        assert_eq!(name.to_string(), "alice/Inbox/2019");
        let root: FolderName = "alice".parse().unwrap();
        assert!(root.path.is_none());
        for bad in ["", "/Inbox", "alice/", "alice//x", "alice/../bob"] {
            assert!(bad.parse::<FolderName>().is_err(), "{bad:?} accepted");
        }

        let id: MessageId = "1700000000:42".parse().unwrap();
        assert_eq!((id.uidvalidity, id.uid), (1700000000, 42));
        assert_eq!(id.to_string(), "1700000000:42");
        for bad in [
            "",
            "42",
            "1:",
            ":2",
            "1:2:3",
            "a:1",
            "-1:2",
            "1:99999999999",
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn inbox_folders_are_recognised() {
        assert!(is_inbox("Inbox") && is_inbox("INBOX") && is_inbox("Posteingang"));
        assert!(!is_inbox("Inbox/Sub") && !is_inbox("Sent Items"));
    }
}
