//! Commands valid in any state: CAPABILITY, STARTTLS, ID (once TLS is on).

use tokio::io::{AsyncRead, AsyncWrite};

use super::response::send;
use super::{Ended, Session};

pub async fn capability<S: AsyncWrite + Unpin>(
    session: &Session,
    stream: &mut S,
    tag: &str,
) -> std::io::Result<()> {
    send(
        stream,
        &format!(
            "* CAPABILITY {}\r\n{tag} OK CAPABILITY completed\r\n",
            session.capabilities()
        ),
    )
    .await
}

pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
) -> std::io::Result<Option<Ended>> {
    if session.tls {
        send(stream, &format!("{tag} BAD TLS is already active\r\n")).await?;
        return Ok(None);
    }
    send(stream, &format!("{tag} OK Begin TLS negotiation now\r\n")).await?;
    Ok(Some(Ended::StartTls))
}

/// ID (RFC 2971): the version only to a logged-in user; before that it
/// would tell anyone which weaknesses to try.
pub async fn id<S: AsyncWrite + Unpin>(
    session: &Session,
    stream: &mut S,
    tag: &str,
) -> std::io::Result<()> {
    let version = match session.user() {
        Some(_) => concat!(" \"version\" \"", env!("CARGO_PKG_VERSION"), "\""),
        None => "",
    };
    send(
        stream,
        &format!("* ID (\"name\" \"archimap\"{version})\r\n{tag} OK ID completed\r\n"),
    )
    .await
}
