//! Logins and failed logins in the audit log.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use super::{Refusal, Service};
use crate::archive::{Archives, AuditAction, AuditRecord, UserRecord, user_target};

/// The longest login name recorded: a client may send kilobytes of one.
const MAX_LOGIN_CHARS: usize = 256;

/// Records the outcome of a login, and waits for it to be written, so that
/// the record exists before the client has its answer. Failing to write
/// it is logged and changes nothing about the login.
pub(super) async fn record(
    archives: &Arc<Archives>,
    service: Service,
    ip: IpAddr,
    login: &str,
    outcome: &Result<UserRecord, Refusal>,
) {
    let login: String = login.chars().take(MAX_LOGIN_CHARS).collect();
    let archives = archives.clone();
    let outcome = outcome
        .as_ref()
        .map(|user| user.name.clone())
        .map_err(|(_, reason)| reason.clone());
    let written = tokio::task::spawn_blocking(move || {
        let (action, actor, details) = match outcome {
            Ok(name) => (
                AuditAction::Login,
                name,
                json!({ "login": login, "service": service.as_str() }),
            ),
            Err(reason) => {
                // Under the user's name when the login name is one of theirs
                // (an e-mail address, other case), so `--user` finds it.
                let actor = match archives.user_by_login(&login) {
                    Ok(Some(user)) => user.name,
                    _ => login.to_lowercase(),
                };
                let details =
                    json!({ "login": login, "service": service.as_str(), "reason": reason });
                (AuditAction::LoginFailed, actor, details)
            }
        };
        let target = user_target(&actor);
        archives.audit(&[AuditRecord {
            ip: Some(ip),
            ..AuditRecord::now(actor, action, target, details)
        }])
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%ip, %error, "recording a login in the audit log failed"),
        Err(error) => tracing::error!(%ip, %error, "recording a login in the audit log panicked"),
    }
}
