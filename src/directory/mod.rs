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

use crate::config::Config;
use crate::error::Result;
use settings::Settings;

/// The configured directory.
pub struct Directory {
    settings: Settings,
}

impl Directory {
    /// The `[directory]` section, checked (URLs, filter, password, CA
    /// file, privileges); `None` when there is none.
    pub fn from_config(config: &Config) -> Result<Option<Directory>> {
        let Some(section) = &config.directory else {
            return Ok(None);
        };
        Ok(Some(Directory {
            settings: Settings::new(section)?,
        }))
    }
}
