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

use super::audit::folder_target;
use super::view::INBOX_NAMES;
use super::{Archives, Authentication, Caller, FolderPath, GlobalPrivileges, Summary, UserRecord};
use crate::error::{Error, Result};
use crate::store::{ArchiveRecord, ArchiveStatistics, AuditAction, FolderRecord};

/// A folder by its full name: the archive, then the path inside it; no
/// path names the archive itself (its root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderName {
    pub archive: String,
    pub path: Option<FolderPath>,
}

impl FolderName {
    fn of(archive: &str, path: &str) -> FolderName {
        FolderName {
            archive: archive.to_string(),
            path: Some(FolderPath::new(path).expect("stored folder paths are valid")),
        }
    }
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
    pub name: FolderName,
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

impl Archives {
    /// The folders below `parent` (everything, archives included, without
    /// one), parents first, down to `max_levels` below it (1: children only).
    pub fn child_folders(
        &self,
        parent: Option<&FolderName>,
        max_levels: Option<u32>,
    ) -> Result<Vec<FolderEntry>> {
        if max_levels == Some(0) {
            return Err(Error::Invalid("maxLevels must be 1 or more".into()));
        }
        let within = |level: usize| max_levels.is_none_or(|max| level <= max as usize);
        let depth = |path: &str| path.split('/').count();
        let archives = match parent {
            Some(parent) => vec![self.archive(&parent.archive)?],
            None => self.catalog().archives()?,
        };
        let mut entries = Vec::new();
        for archive in archives {
            let folders = self.catalog().folders(archive.id)?;
            // The level of a folder below `parent`, and its prefix there.
            let (base, prefix) = match parent.and_then(|p| p.path.as_ref()) {
                Some(path) => {
                    if !folders.iter().any(|f| f.path == path.as_str()) {
                        return Err(Error::NotFound(format!("folder {}", parent.unwrap())));
                    }
                    (depth(path.as_str()), format!("{path}/"))
                }
                None if parent.is_some() => (0, String::new()),
                None => {
                    entries.push(FolderEntry {
                        name: FolderName {
                            archive: archive.name.clone(),
                            path: None,
                        },
                        messages: 0,
                    });
                    (-1isize as usize, String::new()).0.wrapping_add(0).min(0).max(0);
                    (0, String::new())
                }
            };
            let offset = usize::from(parent.is_none());
            entries.extend(
                folders
                    .iter()
                    .filter(|f| f.path.starts_with(&prefix))
                    .filter(|f| within(depth(&f.path) - base + offset))
                    .map(|f| FolderEntry {
                        name: FolderName::of(&archive.name, &f.path),
                        messages: f.messages,
                    }),
            );
        }
        Ok(entries)
    }
}
