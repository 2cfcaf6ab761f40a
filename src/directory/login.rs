//! Checking a directory user's password: the service account finds the
//! user's entry (within the filter and groups, so that leaving a group
//! takes effect at once), then archimap binds as that entry with the
//! password. Nothing is remembered: every login asks the directory.

use super::Directory;
use super::connection::Connection;
use super::{filter, query};
use crate::error::Result;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Why, for the log only.
    Refused(String),
}

/// Ask for no attribute: only the DN is needed (RFC 4511, 4.5.1.8).
const NO_ATTRIBUTES: &str = "1.1";

impl Directory {
    /// Checks the password of archimap user `name`. An error means the
    /// directory could not be asked, which is never an acceptance.
    pub async fn verify(&self, name: &str, password: &str) -> Result<Verdict> {
        if password.is_empty() {
            return Ok(Verdict::Refused("empty password".into()));
        }
        let settings = &self.settings;
        let mut connection = Connection::open(settings).await?;
        let entries = query::user_entries(
            &mut connection,
            settings,
            &filter::user(settings, name),
            &[NO_ATTRIBUTES.into()],
        )
        .await?;
        let verdict = match entries.as_slice() {
            [] => Verdict::Refused(format!(
                "no entry for {name} in the directory within the user filter and groups"
            )),
            [entry] if connection.bind(&entry.dn, password).await? => Verdict::Accepted,
            [entry] => Verdict::Refused(format!(
                "the directory refused the password of {}",
                entry.dn
            )),
            more => Verdict::Refused(format!(
                "{} directory entries have the login name {name}",
                more.len()
            )),
        };
        connection.close().await;
        Ok(verdict)
    }
}
