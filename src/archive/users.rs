//! Users, their passwords and their privileges.

use serde_json::{Map, Value, json};

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
        let full_name = full_name(&request.full_name)?;
        let emails = email_list(&request.emails)?;
        let distinguished_name = distinguished_name(request.distinguished_name.as_deref())?;
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
            full_name,
            authentication: request.authentication,
            password_hash,
            distinguished_name,
            privileges: request.privileges.bits(),
            emails,
            own_archive_privileges: FolderPrivileges::READ.bits(),
        })?;
        // An archive kept from a deleted user of that name already has
        // folders: they are subscribed like folders imported from now on.
        if let Some(own) = self.catalog().archive_by_name(&user.name)? {
            self.catalog().subscribe_archive(user.id, own.id)?;
        }
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
        self.change_user(name, AuditAction::UserChanged, |user| {
            if user.authentication != Authentication::Integrated {
                return Err(Error::Refused(format!(
                    "user {name} signs in through the directory; change the password there"
                )));
            }
            user.password_hash = Some(passwords::hash_password(password)?);
            Ok(())
        })
        .map(drop)
    }

    /// Switches how the user signs in. To the directory: the stored password
    /// hash is dropped (the directory checks passwords). To integrated: the
    /// user has no password, and cannot sign in, until one is set.
    /// Returns the user as changed.
    pub fn set_authentication(
        &self,
        name: &str,
        authentication: Authentication,
    ) -> Result<UserRecord> {
        let user = self.change_user(name, AuditAction::UserChanged, |user| {
            if user.authentication != authentication {
                user.authentication = authentication;
                user.password_hash = None;
            }
            Ok(())
        })?;
        if user.authentication == Authentication::Integrated && user.password_hash.is_none() {
            tracing::warn!(user = %user.name, "integrated user without a password: they cannot sign in until one is set");
        }
        Ok(user)
    }

    /// Sets the full name (empty clears it).
    pub fn set_full_name(&self, name: &str, new_full_name: &str) -> Result<()> {
        let new_full_name = full_name(new_full_name)?;
        self.change_user(name, AuditAction::UserChanged, |user| {
            user.full_name = new_full_name;
            Ok(())
        })
        .map(drop)
    }

    /// Sets the e-mail addresses, any of which works as login name (none
    /// clears them).
    pub fn set_emails(&self, name: &str, emails: &[String]) -> Result<()> {
        let emails = email_list(emails)?;
        self.change_user(name, AuditAction::UserChanged, |user| {
            user.emails = emails;
            Ok(())
        })
        .map(drop)
    }

    /// Sets the LDAP distinguished name (`None` or empty clears it).
    pub fn set_distinguished_name(&self, name: &str, dn: Option<&str>) -> Result<()> {
        let dn = distinguished_name(dn)?;
        self.change_user(name, AuditAction::UserChanged, |user| {
            user.distinguished_name = dn;
            Ok(())
        })
        .map(drop)
    }

    /// Sets what a directory says about a user: full name, e-mail addresses
    /// and distinguished name, in one change.
    pub fn set_identity(
        &self,
        name: &str,
        new_full_name: &str,
        emails: &[String],
        dn: Option<&str>,
    ) -> Result<()> {
        let new_full_name = full_name(new_full_name)?;
        let emails = email_list(emails)?;
        let dn = distinguished_name(dn)?;
        self.change_user(name, AuditAction::UserChanged, |user| {
            user.full_name = new_full_name;
            user.emails = emails;
            user.distinguished_name = dn;
            Ok(())
        })
        .map(drop)
    }

    /// Sets the global privileges; refuses to take `admin` from the last
    /// user holding it.
    pub fn set_privileges(&self, name: &str, privileges: GlobalPrivileges) -> Result<()> {
        self.change_user(name, AuditAction::PrivilegesChanged, |user| {
            user.privileges = privileges.bits();
            Ok(())
        })
        .map(drop)
    }

    /// Renames the user and their archive, in one transaction.
    pub fn rename_user(&self, name: &str, new_name: &str) -> Result<()> {
        let user = self.user(name)?;
        let new_name = names::user_name(new_name)?;
        self.catalog().rename_user(user.id, &new_name)?;
        self.changes.access_changed();
        self.audit_change(
            AuditAction::UserChanged,
            user_target(&user.name),
            json!({ "new_name": new_name }),
        )?;
        tracing::info!(from = %user.name, to = %new_name, "user renamed");
        Ok(())
    }

    /// Deletes the user; their archive and its messages stay. The last user
    /// holding `admin` cannot be deleted.
    pub fn delete_user(&self, name: &str) -> Result<()> {
        // Held from the check to the change, so that two calls deleting
        // the last two administrators cannot both pass it. (Another process
        // can still race this one; the CLI, which needs no sign-in, can
        // always give admin back.)
        let _guard = self.change_lock();
        let user = self.user(name)?;
        if is_admin(&user) {
            self.keep_an_administrator(&user, "delete")?;
        }
        self.catalog().delete_user(user.id)?;
        self.changes.access_changed();
        self.audit_change(AuditAction::UserDeleted, user_target(&user.name), json!({}))?;
        tracing::info!(user = %user.name, "user deleted (archive kept)");
        Ok(())
    }

    /// Sets `user`'s privileges on `archive` (`none` removes them).
    /// Privileges apply to whole archives: a folder path is refused.
    pub fn grant(&self, user: &str, archive: &str, privileges: FolderPrivileges) -> Result<()> {
        if let Some((top, _)) = archive.split_once('/') {
            return Err(Error::Refused(format!(
                "privileges apply to whole archives, not to folders inside them: \
                 give the archive {top:?} instead of {archive:?}"
            )));
        }
        let user = self.user(user)?;
        let target = self
            .catalog()
            .archive_by_name(archive)?
            .ok_or_else(|| Error::NotFound(format!("archive {archive}")))?;
        let old = self.folder_privileges(&user, &target.name)?;
        self.catalog()
            .set_folder_privileges(user.id, target.id, privileges.bits())?;
        self.changes.access_changed();
        // The archive's folders come from the archive: once visible, they
        // are subscribed until the user unsubscribes them (product.md 2).
        if privileges.contains(FolderPrivileges::READ) && !old.contains(FolderPrivileges::READ) {
            self.catalog().subscribe_archive(user.id, target.id)?;
        }
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

    /// Removes all of the user's privileges on archives, their own archive's
    /// included. Returns how many archives they held privileges on.
    pub fn clear_grants(&self, name: &str) -> Result<usize> {
        let user = self.user(name)?;
        let old = self.catalog().folder_privileges(user.id)?;
        if old.is_empty() {
            return Ok(0);
        }
        self.catalog().clear_folder_privileges(user.id)?;
        self.changes.access_changed();
        let from: Map<String, Value> = old
            .iter()
            .map(|(archive, bits)| {
                let privileges = FolderPrivileges::from_bits(*bits).to_string();
                (archive.name.clone(), Value::String(privileges))
            })
            .collect();
        self.audit_change(
            AuditAction::PrivilegesChanged,
            user_target(&user.name),
            json!({ "folder_privileges": { "from": from, "to": "none" } }),
        )?;
        tracing::info!(user = %user.name, archives = old.len(), "all folder privileges removed");
        Ok(old.len())
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

    /// Applies `change` to the user called `name`; if that changed anything,
    /// writes the user and records what changed under `action`. A setting
    /// left as it was is no change: nothing is written or recorded.
    fn change_user(
        &self,
        name: &str,
        action: AuditAction,
        change: impl FnOnce(&mut UserRecord) -> Result<()>,
    ) -> Result<UserRecord> {
        // Held from reading the user to writing them: no change is lost to
        // a concurrent one, and the last-administrator check still holds.
        let _guard = self.change_lock();
        let old = self.user(name)?;
        let mut user = old.clone();
        change(&mut user)?;
        let changed = differences(&old, &user);
        if changed.is_empty() {
            return Ok(user);
        }
        if is_admin(&old) && !is_admin(&user) {
            self.keep_an_administrator(&old, "take admin from")?;
        }
        self.catalog().update_user(&user)?;
        self.changes.access_changed();
        let details = Value::Object(changed);
        self.audit_change(action, user_target(&user.name), details.clone())?;
        tracing::info!(user = %user.name, %details, "user changed");
        Ok(user)
    }

    /// Refuses a change that would leave no user holding `admin`, so that
    /// no script can lock every administrator out.
    fn keep_an_administrator(&self, user: &UserRecord, change: &str) -> Result<()> {
        if self
            .users()?
            .iter()
            .any(|other| other.id != user.id && is_admin(other))
        {
            return Ok(());
        }
        Err(Error::Refused(format!(
            "cannot {change} {}: they are the last user holding admin; \
             give admin to another user first",
            user.name
        )))
    }
}

fn is_admin(user: &UserRecord) -> bool {
    GlobalPrivileges::from_bits(user.privileges).has(GlobalPrivileges::ADMIN)
}

/// What differs between two states of a user, as audit details: each
/// changed field `{from, to}`, and the password only as `changed` or
/// `removed`.
fn differences(old: &UserRecord, new: &UserRecord) -> Map<String, Value> {
    let privileges = |user: &UserRecord| GlobalPrivileges::from_bits(user.privileges).to_string();
    let fields = [
        ("full_name", json!(old.full_name), json!(new.full_name)),
        ("emails", json!(old.emails), json!(new.emails)),
        (
            "distinguished_name",
            json!(old.distinguished_name),
            json!(new.distinguished_name),
        ),
        (
            "authentication",
            json!(old.authentication.as_str()),
            json!(new.authentication.as_str()),
        ),
        ("privileges", json!(privileges(old)), json!(privileges(new))),
    ];
    let mut changed: Map<String, Value> = fields
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field.to_string(), json!({ "from": from, "to": to })))
        .collect();
    if old.password_hash != new.password_hash {
        let what = if new.password_hash.is_some() {
            "changed"
        } else {
            "removed"
        };
        changed.insert("password".into(), json!(what));
    }
    if old.authentication != new.authentication
        && new.authentication == Authentication::Integrated
        && new.password_hash.is_none()
    {
        changed.insert(
            "password".into(),
            json!("none: no sign-in until one is set"),
        );
    }
    changed
}

/// A full name: trimmed, without control characters (empty is allowed).
fn full_name(text: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "full name {text:?} may not contain control characters"
        )));
    }
    Ok(text.to_string())
}

/// E-mail addresses, checked, lower-cased and sorted as the catalog keeps
/// them (so an unchanged set compares equal); one given twice counts once.
fn email_list(addresses: &[String]) -> Result<Vec<String>> {
    let mut list = addresses
        .iter()
        .map(|address| names::email(address))
        .collect::<Result<Vec<_>>>()?;
    list.sort();
    list.dedup();
    Ok(list)
}

/// An LDAP distinguished name (`uid=carl,dc=example,dc=com`), trimmed;
/// empty means none. Only its shape `attribute=value,...` is checked.
fn distinguished_name(dn: Option<&str>) -> Result<Option<String>> {
    let Some(dn) = dn.map(str::trim).filter(|dn| !dn.is_empty()) else {
        return Ok(None);
    };
    let first = dn.split(',').next().unwrap_or_default();
    let valid = first
        .split_once('=')
        .is_some_and(|(attribute, _)| !attribute.trim().is_empty())
        && !dn.chars().any(char::is_control);
    if !valid {
        return Err(Error::Invalid(format!(
            "{dn:?} is not a distinguished name (such as uid=carl,dc=example,dc=com)"
        )));
    }
    Ok(Some(dn.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_fields_are_checked() {
        assert_eq!(full_name("  Carol  ").unwrap(), "Carol");
        assert!(full_name("Carol\nX").is_err());
        let list = email_list(&["b@x.org".into(), "A@x.org".into(), "a@x.org".into()]);
        assert_eq!(list.unwrap(), ["a@x.org", "b@x.org"]);
        assert!(email_list(&["not-an-address".into()]).is_err());
        assert_eq!(distinguished_name(Some("  ")).unwrap(), None);
        assert_eq!(
            distinguished_name(Some(" uid=carl,dc=example ")).unwrap(),
            Some("uid=carl,dc=example".into())
        );
        for bad in ["carl", "=carl", "uid=ca\u{7}rl"] {
            assert!(distinguished_name(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
