//! The IMAP session: one state machine per connection (not authenticated
//! -> authenticated -> logout), reading commands through `framing` and
//! answering them through one file per command family.

mod any;
mod framing;
mod login;
mod response;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imap_codec::imap_types::command::{Command, CommandBody};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::archive::{Archives, UserRecord};
use crate::auth::Authenticator;
use crate::config::Limits;
pub use framing::Limits as FrameLimits;
use framing::{Frame, Reader};
use response::send;

/// What every session shares.
pub struct Shared {
    pub archives: Arc<Archives>,
    pub auth: Authenticator,
    pub limits: Limits,
}

pub enum State {
    NotAuthenticated,
    Authenticated(UserRecord),
    Logout,
}

/// How a session's use of a stream ended.
pub enum Ended {
    /// Close the connection.
    Close,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
}

pub struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tls: bool,
    state: State,
    reader: Reader,
}

impl Session {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool) -> Session {
        Session {
            shared,
            peer,
            tls,
            state: State::NotAuthenticated,
            reader: Reader::default(),
        }
    }

    pub async fn greet<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> std::io::Result<()> {
        send(
            stream,
            &format!(
                "* OK [CAPABILITY {}] archimap ready\r\n",
                self.capabilities()
            ),
        )
        .await
    }

    /// The session has moved to TLS: what was buffered in plaintext is
    /// dropped, so nothing sent before the handshake runs as a command.
    pub fn upgraded(&mut self) {
        let dropped = self.reader.discard_buffered();
        if dropped > 0 {
            tracing::warn!(peer = %self.peer, bytes = dropped, "discarded plaintext sent after STARTTLS");
        }
        self.tls = true;
    }

    /// Serves commands until the client leaves, the server shuts down, the
    /// session idles out, or STARTTLS switches the stream.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        shutdown: &mut watch::Receiver<bool>,
    ) -> std::io::Result<Ended> {
        let limits = FrameLimits {
            max_line: self.shared.limits.max_command_line,
            max_literal: self.shared.limits.max_literal_size,
        };
        loop {
            let idle = Duration::from_secs(match self.state {
                State::NotAuthenticated => self.shared.limits.idle_timeout_unauthenticated_secs,
                _ => self.shared.limits.idle_timeout_authenticated_secs,
            });
            let frame = tokio::select! {
                frame = tokio::time::timeout(idle, self.reader.command(stream, limits)) => frame,
                _ = shutdown.changed() => {
                    send(stream, "* BYE [UNAVAILABLE] Server shutting down\r\n").await?;
                    return Ok(Ended::Close);
                }
            };
            let frame = match frame {
                Ok(frame) => frame?,
                Err(_) => {
                    send(stream, "* BYE Idle for too long, closing\r\n").await?;
                    return Ok(Ended::Close);
                }
            };
            match frame {
                Frame::Closed => return Ok(Ended::Close),
                Frame::Bad { tag, reason } => {
                    tracing::debug!(peer = %self.peer, reason, "bad command");
                    send(
                        stream,
                        &format!(
                            "{} BAD [CLIENTBUG] {reason}\r\n",
                            tag.as_deref().unwrap_or("*")
                        ),
                    )
                    .await?;
                }
                Frame::TooBig { tag, what } => {
                    tracing::warn!(peer = %self.peer, what, "over the configured limit");
                    let tag = tag.as_deref().unwrap_or("*");
                    send(
                        stream,
                        &format!("{tag} BAD [LIMIT] The {what} is too long\r\n"),
                    )
                    .await?;
                }
                Frame::Command(command) => {
                    let ended = self.dispatch(stream, command).await?;
                    self.reader.shrink();
                    if let Some(ended) = ended {
                        return Ok(ended);
                    }
                }
            }
        }
    }

    async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        command: Command<'static>,
    ) -> std::io::Result<Option<Ended>> {
        let tag = command.tag.inner().to_string();
        match command.body {
            CommandBody::Capability => any::capability(self, stream, &tag).await?,
            CommandBody::Noop => send(stream, &format!("{tag} OK NOOP completed\r\n")).await?,
            CommandBody::Logout => {
                self.state = State::Logout;
                send(stream, &format!("* BYE Logging out\r\n{tag} OK LOGOUT completed\r\n")).await?;
                return Ok(Some(Ended::Close));
            }
            CommandBody::StartTLS => return any::starttls(self, stream, &tag).await,
            CommandBody::Login { username, password } => {
                login::login(self, stream, &tag, username.as_ref(), password.declassify().as_ref()).await?
            }
            CommandBody::Authenticate { mechanism, initial_response } => {
                let initial = initial_response.map(|r| r.declassify().to_vec());
                login::authenticate(self, stream, &tag, &mechanism, initial).await?
            }
            CommandBody::Id { .. } => any::id(stream, &tag).await?,
            _ if !self.tls => {
                send(stream, &format!("{tag} BAD [PRIVACYREQUIRED] Only CAPABILITY, NOOP, LOGOUT and STARTTLS before TLS\r\n")).await?
            }
            _ if matches!(self.state, State::NotAuthenticated) => {
                send(stream, &format!("{tag} BAD Log in first\r\n")).await?
            }
            other => {
                send(stream, &format!("{tag} BAD [CANNOT] {} is not supported yet\r\n", other.name())).await?
            }
        }
        Ok(None)
    }

    /// The capabilities for the session's current state.
    fn capabilities(&self) -> &'static str {
        match (&self.state, self.tls) {
            (_, false) => "IMAP4rev1 STARTTLS LOGINDISABLED",
            (State::NotAuthenticated, true) => "IMAP4rev1 SASL-IR AUTH=PLAIN ID",
            (_, true) => "IMAP4rev1 ID",
        }
    }
}
