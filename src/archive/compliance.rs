//! Compliance settings: legal hold and the audit of message retrieval.
//!
//! The IMAP server asks about them for every command, so it reads a cached
//! copy. A change made through this `Archives` updates the copy at once;
//! one made by another process (`archimap compliance` while the server
//! runs) is read from the catalog within [`REFRESH`]. An operation that
//! legal hold forbids must not rely on the copy alone: the catalog checks
//! the stored setting again in the transaction that deletes.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::Archives;
use crate::error::Result;
use crate::store::{AuditAction, ComplianceSettings};

/// How old the cached settings may be.
const REFRESH: Duration = Duration::from_secs(1);

/// The settings and when they were read.
#[derive(Default)]
pub(super) struct Cached(Mutex<Option<(Instant, ComplianceSettings)>>);

impl Cached {
    fn put(&self, settings: ComplianceSettings) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), settings));
    }
}

impl Archives {
    /// The stored settings, read now (not cached).
    pub fn compliance_settings(&self) -> Result<ComplianceSettings> {
        let settings = self.catalog().compliance()?;
        self.compliance.put(settings);
        Ok(settings)
    }

    /// Stores `settings`, recording what changed. Returns false, recording
    /// nothing, if they were so already.
    pub fn set_compliance(&self, settings: ComplianceSettings) -> Result<bool> {
        let old = self.compliance_settings()?;
        let mut changed = Map::new();
        let fields = [
            (
                "legal_hold_enabled",
                old.legal_hold_enabled,
                settings.legal_hold_enabled,
            ),
            (
                "audit_message_retrieval",
                old.audit_message_retrieval,
                settings.audit_message_retrieval,
            ),
            (
                "audit_message_archiving",
                old.audit_message_archiving,
                settings.audit_message_archiving,
            ),
        ];
        for (name, from, to) in fields.into_iter().filter(|(_, from, to)| from != to) {
            changed.insert(name.into(), json!({ "from": from, "to": to }));
        }
        if changed.is_empty() {
            return Ok(false);
        }
        let record = self.change_record(
            AuditAction::ComplianceChanged,
            "compliance".into(),
            Value::Object(changed),
        );
        self.catalog().set_compliance(&settings, &[record])?;
        self.compliance.put(settings);
        tracing::info!(?settings, "compliance settings changed");
        Ok(true)
    }

    /// Whether legal hold is on: nothing may be deleted. Cached (see the
    /// module documentation); cheap enough for every IMAP command.
    pub fn legal_hold(&self) -> Result<bool> {
        Ok(self.cached_compliance()?.legal_hold_enabled)
    }

    /// Whether each message retrieval is to be audited. Cached like
    /// [`Archives::legal_hold`]; when the setting cannot be read, the
    /// answer is yes, so that nothing goes unrecorded unnoticed.
    pub fn audit_retrievals(&self) -> bool {
        self.cached_compliance()
            .map(|settings| settings.audit_message_retrieval)
            .unwrap_or_else(|error| {
                tracing::error!(%error, "reading the compliance settings failed");
                true
            })
    }

    fn cached_compliance(&self) -> Result<ComplianceSettings> {
        let mut cached = self
            .compliance
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((read, settings)) = *cached
            && read.elapsed() < REFRESH
        {
            return Ok(settings);
        }
        let settings = self.catalog().compliance()?;
        *cached = Some((Instant::now(), settings));
        Ok(settings)
    }
}
