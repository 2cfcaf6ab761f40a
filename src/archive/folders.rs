//! Folder paths inside an archive and the folder tree.

use std::fmt;

use super::{Archives, FolderPrivileges, UserRecord};
use crate::error::{Error, Result};
use crate::store::ArchiveRecord;

/// A folder of an archive, as it stands: its IMAP identity (UIDVALIDITY,
/// the next UID, the highest mod-sequence) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: i64,
    pub archive_id: i64,
    /// `/`-separated path inside the archive; never empty.
    pub path: String,
    pub uidvalidity: u32,
    pub uidnext: u32,
    /// The last mod-sequence given out, to a message that came or went
    /// or to any user's flag change (RFC 7162 HIGHESTMODSEQ).
    pub highestmodseq: u64,
    /// The mod-sequence of the last message to come or go: the folder's
    /// messages are the same while it and UIDNEXT are.
    pub contents_modseq: u64,
    /// Deleted while it had sub-folders: a name that holds no messages and
    /// cannot be selected (RFC 3501 `\Noselect`) until created again.
    pub noselect: bool,
}

/// A validated `/`-separated folder path inside an archive: at least one
/// segment, none empty, `.` or `..`, none with control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FolderPath(String);

const MAX_DEPTH: usize = 64;
const MAX_SEGMENT: usize = 255;

impl FolderPath {
    pub fn new(path: &str) -> Result<FolderPath> {
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() > MAX_DEPTH {
            return Err(Error::Invalid(format!(
                "folder path {path:?} is deeper than {MAX_DEPTH} levels"
            )));
        }
        for segment in &segments {
            let bad = segment.trim().is_empty()
                || *segment == "."
                || *segment == ".."
                || segment.len() > MAX_SEGMENT
                || segment.chars().any(char::is_control);
            if bad {
                return Err(Error::Invalid(format!(
                    "folder path {path:?}: each '/'-separated name must be 1 to {MAX_SEGMENT} bytes, \
                     not '.' or '..', without control characters"
                )));
            }
        }
        Ok(FolderPath(path.to_string()))
    }

    /// `self/child`, validated.
    pub fn join(&self, child: &str) -> Result<FolderPath> {
        FolderPath::new(&format!("{}/{child}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path of the folder above; `None` at the top.
    pub fn parent(&self) -> Option<FolderPath> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| FolderPath(parent.to_string()))
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One archive's folders, in path order (parents before children).
#[derive(Debug, Clone)]
pub struct FolderNode {
    pub archive: String,
    pub folders: Vec<Folder>,
    /// Messages per folder id.
    counts: std::collections::HashMap<i64, u64>,
}

impl FolderNode {
    /// The number of messages in `folder`, one of `folders`.
    pub fn messages(&self, folder: &Folder) -> u64 {
        self.counts.get(&folder.id).copied().unwrap_or(0)
    }
}

impl Archives {
    pub(super) fn archive(&self, name: &str) -> Result<ArchiveRecord> {
        self.catalog()
            .archive_by_name(name)?
            .ok_or_else(|| Error::NotFound(format!("archive {name}")))
    }

    /// The folders of every archive, or of those `user` holds privileges on.
    pub fn folder_trees(&self, user: Option<&UserRecord>) -> Result<Vec<FolderNode>> {
        let archives = match user {
            Some(user) => self
                .catalog()
                .folder_privileges(user.id)?
                .into_iter()
                .map(|(a, _)| a)
                .collect(),
            None => self.catalog().archives()?,
        };
        archives
            .into_iter()
            .map(|archive| {
                Ok(FolderNode {
                    folders: self.catalog().folders(archive.id)?,
                    counts: self.catalog().message_counts(archive.id)?,
                    archive: archive.name,
                })
            })
            .collect()
    }

    /// The folder at `path` in `archive`, created with its parents if needed
    /// (for mail that comes from the archive: imports). Folders it
    /// creates are subscribed for every user who can see the archive, so
    /// clients that show only subscribed folders show them (product.md 2).
    pub fn ensure_folder(&self, archive: &str, path: &FolderPath) -> Result<Folder> {
        let archive = self.archive(archive)?;
        self.catalog().ensure_folder(
            archive.id,
            path.as_str(),
            Some(FolderPrivileges::READ.bits()),
        )
    }

    /// The messages of a folder, in UID order.
    pub fn folder_messages(
        &self,
        archive: &str,
        path: &FolderPath,
    ) -> Result<Vec<super::FolderMessage>> {
        let archive = self.archive(archive)?;
        let folder = self
            .catalog()
            .folders(archive.id)?
            .into_iter()
            .find(|f| f.path == path.as_str())
            .ok_or_else(|| Error::NotFound(format!("folder {path} in archive {}", archive.name)))?;
        Ok(self
            .catalog()
            .messages(folder.id)?
            .into_iter()
            .map(|m| super::FolderMessage {
                uid: m.uid,
                content: super::Content(m.blob),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::FolderPath;

    #[test]
    fn folder_paths_are_checked() {
        for ok in [
            "Inbox",
            "Projects/Acme",
            "Archive/2019/Q1",
            "Gesendete Elemente",
            "a\\b",
        ] {
            assert!(FolderPath::new(ok).is_ok(), "{ok:?} refused");
        }
        for bad in [
            "", "/Inbox", "Inbox/", "a//b", "..", "a/../b", "./a", "a\u{0}b", " ",
        ] {
            assert!(FolderPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
