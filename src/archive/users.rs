//! Users, their passwords and their privileges.

use serde_json::json;

use super::audit::user_target;
use super::{Archives, FolderPrivileges, GlobalPrivileges, names, passwords};
use crate::error::{Error, Result};
use crate::store::{AuditAction, Authentication, NewUser, UserRecord};

/// What `archimap user add` and the admin API's CreateUser supply.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub name: String,
    pub full_name: String,
    pub emails: Vec<String>,
    pub authentication: Authentication,
    /// Required for integrated users; refused for directory users.
    pub password: Option<String>,
    pub distinguished_name: Option<String>,
    pub privileges: GlobalPrivileges,
}

/// A user with the archives they hold privileges on.
#[derive(Debug, Clone)]
pub struct UserDetails {
    pub user: UserRecord,
    pub privileges: GlobalPrivileges,
    pub archives: Vec<(String, FolderPrivileges)>,
}

impl Archives {
    /// Creates a user and, unless it exists already (from a deleted user of
    /// the same name), their archive. The user holds `read` on it: archived
    /// mail is not for changing until an administrator grants more.
    pub fn add_user(&self, request: NewUserRequest) -> Result<UserRecord> {
        let name = names::user_name(&request.name)?;
        let emails = request
            .emails
            .iter()
            .map(|e| names::email(e))
            .collect::<Result<Vec<_>>>()?;
        let password_hash = match (request.authentication, &request.password) {
            (Authentication::Integrated, Some(password)) => {
                Some(passwords::hash_password(password)?)
            }
            (Authentication::Integrated, None) => {
                return Err(Error::Invalid(format!(
                    "integrated user {name} needs a password"
                )));
            }
            (Authentication::DirectoryServices, Some(_)) => {
                return Err(Error::Invalid(
                    "directory users have no password here: the directory checks it".into(),
                ));
            }
            (Authentication::DirectoryServices, None) => None,
        };
        let user = self.catalog().create_user(&NewUser {
            name,
            full_name: request.full_name.trim().to_string(),
            authentication: request.authentication,
            password_hash,
            distinguished_name: request.distinguished_name,
            privileges: request.privileges.bits(),
            emails,
            own_archive_privileges: FolderPrivileges::READ.bits(),
        })?;
        self.audit_change(
            AuditAction::UserCreated,
            user_target(&user.name),
            json!({
                "full_name": user.full_name,
                "emails": user.emails,
                "authentication": user.authentication.as_str(),
                "distinguished_name": user.distinguished_name,
                "privileges": GlobalPrivileges::from_bits(user.privileges).to_string(),
            }),
        )?;
        tracing::info!(user = %user.name, "user created");
        Ok(user)
    }

    pub fn user(&self, name: &str) -> Result<UserRecord> {
        self.catalog()
            .user_by_name(name)?
            .ok_or_else(|| Error::NotFound(format!("user {name}")))
    }

    /// By user name or any of the user's e-mail addresses, case-insensitively.
    pub fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
        self.catalog().user_by_login(login)
    }

    pub fn users(&self) -> Result<Vec<UserRecord>> {
        self.catalog().users()
    }

    pub fn user_details(&self, name: &str) -> Result<UserDetails> {
        let user = self.user(name)?;
        let archives = self
            .catalog()
            .folder_privileges(user.id)?
            .into_iter()
            .map(|(archive, bits)| (archive.name, FolderPrivileges::from_bits(bits)))
            .collect();
        Ok(UserDetails {
            privileges: GlobalPrivileges::from_bits(user.privileges),
            user,
            archives,
        })
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<()> {
        let mut user = self.user(name)?;
        if user.authentication != Authentication::Integrated {
            return Err(Error::Refused(format!(
                "user {name} signs in through the directory; change the password there"
            )));
        }
        user.password_hash = Some(passwords::hash_password(password)?);
        self.catalog().update_user(&user)?;
        self.audit_change(
            AuditAction::UserChanged,
            user_target(&user.name),
            json!({ "password": "changed" }),
        )?;
        tracing::info!(user = %user.name, "password changed");
        Ok(())
    }

    /// Sets what a directory says about a user: full name, e-mail addresses
    /// (any of which works as login name) and distinguished name.
    pub fn set_identity(
        &self,
        name: &str,
        full_name: &str,
        emails: &[String],
        distinguished_name: Option<&str>,
    ) -> Result<()> {
        let mut user = self.user(name)?;
        user.full_name = full_name.trim().to_string();
        user.emails = emails
            .iter()
            .map(|e| names::email(e))
            .collect::<Result<_>>()?;
        user.distinguished_name = distinguished_name.map(str::to_string);
        self.catalog().update_user(&user)?;
        self.audit_change(
            AuditAction::UserChanged,
            user_target(&user.name),
            json!({
                "full_name": user.full_name,
                "emails": user.emails,
                "distinguished_name": user.distinguished_name,
            }),
        )?;
        tracing::info!(user = %user.name, "full name, e-mail addresses and DN set");
        Ok(())
    }

    pub fn set_privileges(&self, name: &str, privileges: GlobalPrivileges) -> Result<()> {
        let mut user = self.user(name)?;
        let old = GlobalPrivileges::from_bits(user.privileges);
        user.privileges = privileges.bits();
        self.catalog().update_user(&user)?;
        self.audit_change(
            AuditAction::PrivilegesChanged,
            user_target(&user.name),
            json!({ "privileges": { "from": old.to_string(), "to": privileges.to_string() } }),
        )?;
        tracing::info!(user = %user.name, %privileges, "global privileges set");
        Ok(())
    }

    pub fn rename_user(&self, name: &str, new_name: &str) -> Result<()> {
        let user = self.user(name)?;
        let new_name = names::user_name(new_name)?;
        self.catalog().rename_user(user.id, &new_name)?;
        self.audit_change(
            AuditAction::UserChanged,
            user_target(&user.name),
            json!({ "new_name": new_name }),
        )?;
        tracing::info!(from = %user.name, to = %new_name, "user renamed");
        Ok(())
    }

    /// Deletes the user; their archive and its messages stay.
    pub fn delete_user(&self, name: &str) -> Result<()> {
        let user = self.user(name)?;
        self.catalog().delete_user(user.id)?;
        self.audit_change(AuditAction::UserDeleted, user_target(&user.name), json!({}))?;
        tracing::info!(user = %user.name, "user deleted (archive kept)");
        Ok(())
    }

    /// Sets `user`'s privileges on `archive` (`none` removes them).
    pub fn grant(&self, user: &str, archive: &str, privileges: FolderPrivileges) -> Result<()> {
        let user = self.user(user)?;
        let target = self
            .catalog()
            .archive_by_name(archive)?
            .ok_or_else(|| Error::NotFound(format!("archive {archive}")))?;
        let old = self.folder_privileges(&user, &target.name)?;
        self.catalog()
            .set_folder_privileges(user.id, target.id, privileges.bits())?;
        self.audit_change(
            AuditAction::PrivilegesChanged,
            user_target(&user.name),
            json!({
                "archive": target.name,
                "folder_privileges": { "from": old.to_string(), "to": privileges.to_string() },
            }),
        )?;
        tracing::info!(user = %user.name, archive = %target.name, %privileges, "folder privileges set");
        Ok(())
    }

    /// What `user` may do in `archive`: `none` when nothing was granted.
    pub fn folder_privileges(&self, user: &UserRecord, archive: &str) -> Result<FolderPrivileges> {
        Ok(self
            .catalog()
            .folder_privileges(user.id)?
            .into_iter()
            .find(|(a, _)| a.name.eq_ignore_ascii_case(archive))
            .map_or(FolderPrivileges::NONE, |(_, bits)| {
                FolderPrivileges::from_bits(bits)
            }))
    }
}
