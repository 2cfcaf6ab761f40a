//! The server itself.

use serde_json::json;

use super::{Call, Function, Outcome, done};
use crate::error::Result;

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetServerInfo",
        args: &[],
        run: get_server_info,
    },
    Function {
        name: "GetJournalStatus",
        args: &[],
        run: get_journal_status,
    },
];

fn get_server_info(_call: &Call) -> Result<Outcome> {
    done(json!({
        "version": concat!("archimap ", env!("CARGO_PKG_VERSION")),
        "machineName": machine_name(),
    }))
}

/// The SMTP journal receiver: whether it listens, and its counts since
/// the archive began (archimap's own function; MailStore has none).
fn get_journal_status(call: &Call) -> Result<Outcome> {
    let counts = call.archives.journal_status()?;
    done(json!({
        "listening": call.context.config.smtp.listen,
        "filed": counts.filed,
        "places": counts.places,
        "again": counts.again,
        "catchAll": counts.catch_all,
        "refused": counts.refused,
        "failed": counts.failed,
        "lastFiled": counts
            .last_filed
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.to_rfc3339()),
    }))
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}
