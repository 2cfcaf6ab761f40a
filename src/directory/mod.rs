//! Directory services (generic LDAP and Active Directory): the users a
//! directory lists, synchronised into archimap (`sync_users`), and their
//! passwords checked by binding to the directory as them (`verify`).
//! archimap only reads the directory, always over TLS.

mod connection;
mod entry;
mod filter;
mod login;
mod plan;
mod query;
mod settings;
mod sync;

pub use entry::DirectoryUser;
pub use login::Verdict;
pub use plan::{Action, Change, Problem, SyncReport};
pub use sync::sync_users;

use crate::archive::Archives;
use crate::config::{Config, DirectoryConfig};
use crate::error::Result;
use settings::Settings;

/// The configured directory.
pub struct Directory {
    settings: Settings,
}

impl Directory {
    /// `config` checked (URLs, filter, password, CA file, privileges).
    pub fn new(config: &DirectoryConfig) -> Result<Directory> {
        Ok(Directory {
            settings: Settings::new(config)?,
        })
    }

    /// The settings in effect: those set through the admin API, else the
    /// configuration file's `[directory]` section; `None`: no directory.
    pub fn effective_config(
        config: &Config,
        archives: &Archives,
    ) -> Result<Option<DirectoryConfig>> {
        Ok(archives
            .directory_setting()?
            .unwrap_or_else(|| config.directory.clone()))
    }

    /// The directory in effect (see [`Directory::effective_config`]).
    pub fn effective(config: &Config, archives: &Archives) -> Result<Option<Directory>> {
        Directory::effective_config(config, archives)?
            .as_ref()
            .map(Directory::new)
            .transpose()
    }

    /// Checks and stores new settings (`None` switches directory services
    /// off) and returns the directory to use from now on. Settings that
    /// name no password keep the current one while the service account
    /// stays the same, so that what GetDirectoryServicesConfiguration
    /// shows (never the password) can be changed and set again.
    pub fn configure(
        config: &Config,
        archives: &Archives,
        new: Option<DirectoryConfig>,
    ) -> Result<Option<Directory>> {
        let new = match (new, Directory::effective_config(config, archives)?) {
            (Some(mut new), Some(current))
                if new.bind_password.is_none()
                    && new.bind_password_file.is_none()
                    && new.bind_dn == current.bind_dn =>
            {
                new.bind_password = current.bind_password;
                new.bind_password_file = current.bind_password_file;
                Some(new)
            }
            (new, _) => new,
        };
        let directory = new.as_ref().map(Directory::new).transpose()?;
        archives.set_directory_setting(new.as_ref())?;
        Ok(directory)
    }
}
