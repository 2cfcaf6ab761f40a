//! What a user may do in an archive right now: their folder privileges,
//! less what legal hold and store states forbid. The view (IMAP rights) and the checks
//! of every change read it from here, so they cannot disagree.

use std::collections::HashSet;

use super::changes::Who;
use super::{ArchiveAccess, Archives, Caller, FolderPrivileges, UserRecord};
use crate::error::Result;
use crate::store::StoreState;

impl Archives {
    /// A number that goes up with every change to a user or their folder
    /// privileges, made by any process: a session compares it with the
    /// one it saw, so that it reads the user and their view again only
    /// when something changed.
    pub fn access_generation(&self) -> Result<u64> {
        self.catalog().access_generation()
    }

    /// A receiver woken when this process changes a user or their folder
    /// privileges (idling sessions wait on it; changes made by other
    /// processes show in [`Archives::access_generation`]).
    pub fn watch_access(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.watch_access()
    }

    /// The user as stored now; `None` once deleted.
    pub fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>> {
        self.catalog().user_by_id(id)
    }

    /// `user`'s access to every archive they may read.
    pub(super) fn accesses(&self, user: &UserRecord) -> Result<Vec<ArchiveAccess>> {
        self.accesses_where(user, |_| true)
    }

    /// `user`'s access to one archive; `None` without `read` there.
    pub(super) fn access(
        &self,
        user: &UserRecord,
        archive_id: i64,
    ) -> Result<Option<ArchiveAccess>> {
        Ok(self.accesses_where(user, |id| id == archive_id)?.pop())
    }

    /// The access a change by `caller` is checked against: their own, or
    /// for an administrator read, write and delete on any archive. Legal
    /// hold and store states bind administrators all the same.
    pub(super) fn caller_access(
        &self,
        caller: Caller,
        archive_id: i64,
    ) -> Result<Option<ArchiveAccess>> {
        if let Who::User(user) = caller.who {
            return self.access(user, archive_id);
        }
        let Some(archive) = self
            .catalog()
            .archives()?
            .into_iter()
            .find(|a| a.id == archive_id)
        else {
            return Ok(None);
        };
        Ok(Some(ArchiveAccess {
            folders: self.catalog().folders(archive.id)?,
            archive: archive.name,
            privileges: FolderPrivileges::from_bits(
                FolderPrivileges::READ.bits()
                    | FolderPrivileges::WRITE.bits()
                    | FolderPrivileges::DELETE.bits(),
            ),
            changes_allowed: !self.legal_hold()?,
            frozen: self.frozen_folders()?,
        }))
    }

    fn accesses_where(
        &self,
        user: &UserRecord,
        wanted: impl Fn(i64) -> bool,
    ) -> Result<Vec<ArchiveAccess>> {
        let frozen = self.frozen_folders()?;
        let changes_allowed = !self.legal_hold()?;
        self.catalog()
            .folder_privileges(user.id)?
            .into_iter()
            .filter(|(archive, _)| wanted(archive.id))
            .map(|(archive, bits)| (archive, FolderPrivileges::from_bits(bits)))
            .filter(|(_, privileges)| privileges.contains(FolderPrivileges::READ))
            .map(|(archive, privileges)| {
                Ok(ArchiveAccess {
                    folders: self.catalog().folders(archive.id)?,
                    archive: archive.name,
                    privileges,
                    changes_allowed,
                    frozen: frozen.clone(),
                })
            })
            .collect()
    }

    /// Folders holding messages whose bytes lie in a store where nothing
    /// may change (write-protected) or that cannot be read (disabled).
    fn frozen_folders(&self) -> Result<HashSet<i64>> {
        let stores: Vec<i64> = self
            .stores()?
            .into_iter()
            .filter(|s| matches!(s.state, StoreState::WriteProtected | StoreState::Disabled))
            .map(|s| s.id)
            .collect();
        if stores.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(self
            .catalog()
            .folders_in_stores(&stores)?
            .into_iter()
            .collect())
    }
}
