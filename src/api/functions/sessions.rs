//! Who is signed in now.

use serde_json::json;

use super::{Call, Function, Outcome, done};
use crate::error::Result;

pub(super) const FUNCTIONS: &[Function] = &[Function {
    name: "GetActiveSessions",
    args: &[],
    run: get_active_sessions,
}];

fn get_active_sessions(call: &Call) -> Result<Outcome> {
    let sessions = call.context.auth.sessions().list();
    done(
        sessions
            .iter()
            .map(|session| {
                json!({
                    "sessionId": session.id.to_string(),
                    "userName": session.user,
                    "clientAddress": session.ip.to_string(),
                    "protocol": session.protocol,
                    "startTime": session.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })
            })
            .collect::<Vec<_>>(),
    )
}
