//! Commands valid in any state: CAPABILITY, STARTTLS, ID (once TLS is on),
//! and COMPRESS (once logged in), which changes the stream like STARTTLS.

use super::reply::{Code, Reply};
use super::{Ended, Session};

pub fn capability(session: &Session) -> Reply {
    let data = format!("* CAPABILITY {}\r\n", session.capabilities());
    Reply::completed("CAPABILITY").after(data)
}

/// The reply, and whether the stream is to switch to TLS after it.
pub fn starttls(session: &Session) -> (Reply, Option<Ended>) {
    if session.tls {
        return (Reply::bad("TLS is already active"), None);
    }
    (
        Reply::ok("Begin TLS negotiation now"),
        Some(Ended::StartTls),
    )
}

/// COMPRESS DEFLATE (RFC 4978), once TLS is on (the dispatcher sees to
/// it): after the OK, both directions are deflated.
pub fn compress(session: &Session) -> (Reply, Option<Ended>) {
    if session.compressed {
        let refusal = Reply::no(Code::CompressionActive, "Compression is already on");
        return (refusal, None);
    }
    if session.reader.has_buffered() {
        // They would be read as compressed data they are not.
        let refusal = Reply::bad("Nothing may follow COMPRESS before its answer");
        return (refusal.with_code(Code::ClientBug), None);
    }
    (Reply::ok("Begin compression"), Some(Ended::Compress))
}

/// ID (RFC 2971): the version only to a logged-in user; before that it
/// would tell anyone which weaknesses to try.
pub fn id(session: &Session) -> Reply {
    let version = match session.user() {
        Some(_) => concat!(" \"version\" \"", env!("CARGO_PKG_VERSION"), "\""),
        None => "",
    };
    Reply::completed("ID").after(format!("* ID (\"name\" \"archimap\"{version})\r\n"))
}
