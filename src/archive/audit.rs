//! The audit log (product spec §1, Compliance): recording and reading it.
//!
//! Changes made through this module's siblings (users, privileges, stores,
//! compliance settings) are recorded by them, under the actor of the
//! [`Archives`]. `auth` records logins; the IMAP side records what users
//! do, either with [`Archives::audit`] or in the catalog transaction of the
//! change itself.

use serde_json::Value;

use super::Archives;
use crate::error::Result;
use crate::store::{AuditAction, AuditFilter, AuditRecord};

/// The actor of changes the server makes by itself.
pub const SYSTEM: &str = "system";

/// The actor of changes made on the command line. It has no sign-in, so
/// the OS user is not recorded: `$USER` or `$SUDO_USER` say whatever the
/// caller's environment says, and would look like evidence without being it.
pub const ADMIN: &str = "admin";

/// The target naming a user.
pub fn user_target(name: &str) -> String {
    format!("user:{name}")
}

/// The target naming an archive store.
pub fn store_target(name: &str) -> String {
    format!("store:{name}")
}

/// The target naming a folder (`path` inside `archive`).
pub fn folder_target(archive: &str, path: &str) -> String {
    format!("folder:{archive}/{path}")
}

impl Archives {
    /// Appends records to the audit log, all or none: a FETCH passes every
    /// retrieval of the command at once, in one transaction.
    pub fn audit(&self, records: &[AuditRecord]) -> Result<()> {
        self.catalog().record_audit(records)
    }

    /// The records `filter` selects, oldest first.
    pub fn audit_query(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        self.catalog().audit(filter)
    }

    /// A record of a change made now by this `Archives`' actor.
    pub fn change_record(
        &self,
        action: AuditAction,
        target: String,
        details: Value,
    ) -> AuditRecord {
        AuditRecord {
            ip: self.actor.ip,
            ..AuditRecord::now(&self.actor.name, action, target, details)
        }
    }

    /// Records a change just made. It commits apart from the change: a
    /// crash between the two loses the record, never the change.
    pub(super) fn audit_change(
        &self,
        action: AuditAction,
        target: String,
        details: Value,
    ) -> Result<()> {
        self.audit(&[self.change_record(action, target, details)])
    }
}
