//! LOGIN and AUTHENTICATE PLAIN (with SASL-IR).

use imap_codec::AuthenticateDataCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use tokio::io::{AsyncRead, AsyncWrite};

use super::reply::{Code, Failure, Handled, Reply};
use super::response::send;
use super::{Authenticated, Session, State};
use crate::auth::{LoginError, Service};

/// The longest AUTHENTICATE continuation line accepted.
const MAX_SASL_LINE: usize = 8 * 1024;

fn refuse_state(session: &Session) -> Result<(), Failure> {
    if !session.tls {
        // The password has crossed the wire in clear already; it is not
        // looked at, let alone checked.
        return Err(Reply::no(Code::PrivacyRequired, "Use STARTTLS before logging in").into());
    }
    if !matches!(session.state, State::NotAuthenticated) {
        return Err(Reply::bad("Already logged in").into());
    }
    Ok(())
}

fn invalid_credentials() -> Reply {
    Reply::no(Code::AuthenticationFailed, "Invalid credentials")
}

pub async fn login(session: &mut Session, username: &[u8], password: &[u8]) -> Handled {
    refuse_state(session)?;
    check(session, username, password).await
}

pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    mechanism: &AuthMechanism<'_>,
    initial: Option<Vec<u8>>,
) -> Handled {
    refuse_state(session)?;
    if *mechanism != AuthMechanism::Plain {
        return Ok(Reply::no(
            Code::Cannot,
            "Only AUTHENTICATE PLAIN is supported",
        ));
    }
    let response = match initial {
        Some(response) => response,
        None => {
            send(stream, "+ \r\n").await?;
            let Some(mut line) = session.reader.line(stream, MAX_SASL_LINE).await? else {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            };
            line.extend_from_slice(b"\r\n");
            match AuthenticateDataCodec::default().decode(&line) {
                Ok((_, AuthenticateData::Continue(data))) => data.declassify().to_vec(),
                Ok((_, AuthenticateData::Cancel)) => {
                    return Ok(Reply::bad("Authentication cancelled"));
                }
                Err(_) => return Ok(Reply::bad("Invalid base64 data")),
            }
        }
    };
    // authzid NUL authcid NUL password; acting as someone else is not offered.
    let parts: Vec<&[u8]> = response.split(|&b| b == 0).collect();
    match parts.as_slice() {
        [authzid, authcid, password] if authzid.is_empty() || authzid == authcid => {
            check(session, authcid, password).await
        }
        [_, _, _] => Ok(Reply::no(
            Code::AuthorizationFailed,
            "Cannot act as another user",
        )),
        _ => Ok(Reply::bad("Malformed PLAIN response")),
    }
}

async fn check(session: &mut Session, username: &[u8], password: &[u8]) -> Handled {
    let (Ok(username), Ok(password)) =
        (std::str::from_utf8(username), std::str::from_utf8(password))
    else {
        return Ok(invalid_credentials());
    };
    // Read before the user is: a change made meanwhile is then noticed
    // at the next command.
    let generation = session.shared.archives.access_generation()?;
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
                modseqs: Default::default(),
                names: Default::default(),
                notify: None,
                rev2: false,
                _registration: registration,
            }));
            Ok(Reply::ok("Logged in").with_code(Code::Capability(session.capabilities())))
        }
        Err(LoginError::Failed) => Ok(invalid_credentials()),
        Err(LoginError::Unavailable) => Ok(Reply::no(
            Code::Unavailable,
            "Login is not possible right now; try again later",
        )),
    }
}
