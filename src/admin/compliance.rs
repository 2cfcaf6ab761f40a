//! `archimap compliance show | legal-hold | audit-retrievals | audit-imports`.

use anyhow::Result;

use super::cli::{ComplianceCommand, Switch};
use crate::archive::{Archives, ComplianceSettings};

pub(super) fn run(archives: &Archives, command: ComplianceCommand) -> Result<()> {
    let mut settings = archives.compliance_settings()?;
    let (what, state) = match command {
        ComplianceCommand::Show => {
            print(&settings);
            return Ok(());
        }
        ComplianceCommand::LegalHold { state } => {
            settings.legal_hold_enabled = state == Switch::On;
            ("legal hold", state)
        }
        ComplianceCommand::AuditRetrievals { state } => {
            settings.audit_message_retrieval = state == Switch::On;
            ("the audit of message retrieval", state)
        }
        ComplianceCommand::AuditImports { state } => {
            settings.audit_message_archiving = state == Switch::On;
            ("the audit of each imported message", state)
        }
    };
    let state = word(state == Switch::On);
    if archives.set_compliance(settings)? {
        println!("{what} is now {state}");
    } else {
        println!("{what} was {state} already");
    }
    Ok(())
}

fn print(settings: &ComplianceSettings) {
    println!(
        "legal hold:                 {}",
        word(settings.legal_hold_enabled)
    );
    println!(
        "audit of message retrieval: {}",
        word(settings.audit_message_retrieval)
    );
    println!(
        "audit of imported messages: {}",
        word(settings.audit_message_archiving)
    );
}

fn word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}
