//! LOGIN and AUTHENTICATE PLAIN (with SASL-IR).

use imap_codec::AuthenticateDataCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use tokio::io::{AsyncRead, AsyncWrite};

use super::response::send;
use super::{Authenticated, Session, State};
use crate::auth::{LoginError, Service};

/// The longest AUTHENTICATE continuation line accepted.
const MAX_SASL_LINE: usize = 8 * 1024;

fn refuse_state(session: &Session, tag: &str) -> Option<String> {
    if !session.tls {
        // The password has crossed the wire in clear already; it is not
        // looked at, let alone checked.
        return Some(format!(
            "{tag} NO [PRIVACYREQUIRED] Use STARTTLS before logging in\r\n"
        ));
    }
    if !matches!(session.state, State::NotAuthenticated) {
        return Some(format!("{tag} BAD Already logged in\r\n"));
    }
    None
}

pub async fn login<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    username: &[u8],
    password: &[u8],
) -> std::io::Result<()> {
    if let Some(refusal) = refuse_state(session, tag) {
        return send(stream, &refusal).await;
    }
    check(session, stream, tag, username, password).await
}

pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    mechanism: &AuthMechanism<'_>,
    initial: Option<Vec<u8>>,
) -> std::io::Result<()> {
    if let Some(refusal) = refuse_state(session, tag) {
        return send(stream, &refusal).await;
    }
    if *mechanism != AuthMechanism::Plain {
        return send(
            stream,
            &format!("{tag} NO [CANNOT] Only AUTHENTICATE PLAIN is supported\r\n"),
        )
        .await;
    }
    let response = match initial {
        Some(response) => response,
        None => {
            send(stream, "+ \r\n").await?;
            let Some(mut line) = session.reader.line(stream, MAX_SASL_LINE).await? else {
                return Ok(());
            };
            line.extend_from_slice(b"\r\n");
            match AuthenticateDataCodec::default().decode(&line) {
                Ok((_, AuthenticateData::Continue(data))) => data.declassify().to_vec(),
                Ok((_, AuthenticateData::Cancel)) => {
                    return send(stream, &format!("{tag} BAD Authentication cancelled\r\n")).await;
                }
                Err(_) => return send(stream, &format!("{tag} BAD Invalid base64 data\r\n")).await,
            }
        }
    };
    // authzid NUL authcid NUL password; acting as someone else is not offered.
    let parts: Vec<&[u8]> = response.split(|&b| b == 0).collect();
    match parts.as_slice() {
        [authzid, authcid, password] if authzid.is_empty() || authzid == authcid => {
            check(session, stream, tag, authcid, password).await
        }
        [_, _, _] => {
            send(
                stream,
                &format!("{tag} NO [AUTHORIZATIONFAILED] Cannot act as another user\r\n"),
            )
            .await
        }
        _ => send(stream, &format!("{tag} BAD Malformed PLAIN response\r\n")).await,
    }
}

async fn check<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    username: &[u8],
    password: &[u8],
) -> std::io::Result<()> {
    let (Ok(username), Ok(password)) =
        (std::str::from_utf8(username), std::str::from_utf8(password))
    else {
        return send(
            stream,
            &format!("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
        )
        .await;
    };
    // Read before the user is: a change made meanwhile is then noticed
    // at the next command.
    let generation = match session.shared.archives.access_generation() {
        Ok(generation) => generation,
        Err(e) => return session.storage_error(stream, tag, e).await,
    };
    match session
        .shared
        .auth
        .login(Service::Imap, session.peer.ip(), username, password)
        .await
    {
        Ok(user) => {
            let registration =
                session
                    .shared
                    .auth
                    .sessions()
                    .register(&user.name, session.peer.ip(), "IMAP");
            session.state = State::Authenticated(Box::new(Authenticated {
                user,
                generation,
                selected: None,
                _registration: registration,
            }));
            send(
                stream,
                &format!(
                    "{tag} OK [CAPABILITY {}] Logged in\r\n",
                    session.capabilities()
                ),
            )
            .await
        }
        Err(LoginError::Failed) => {
            send(
                stream,
                &format!("{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
            )
            .await
        }
        Err(LoginError::Unavailable) => {
            send(
                stream,
                &format!(
                    "{tag} NO [UNAVAILABLE] Login is not possible right now; try again later\r\n"
                ),
            )
            .await
        }
    }
}
