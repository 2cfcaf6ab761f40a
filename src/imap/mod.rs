//! The IMAP session: one state machine per connection (not authenticated
//! -> authenticated -> logout), reading commands through `framing` and
//! answering them through one file per command family.

mod acl;
mod any;
mod esearch;
mod extensions;
mod fetch;
mod framing;
mod login;
mod mailboxes;
mod mutf7;
mod response;
mod search;
mod select;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imap_codec::imap_types::command::{Command, CommandBody};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::archive::{Archives, MailboxMessage, UserRecord, View};
use crate::auth::Authenticator;
use crate::config::Limits;
pub use framing::Limits as FrameLimits;
use esearch::SearchExtension;
use framing::{Frame, Reader};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use response::send;

/// What every session shares.
pub struct Shared {
    pub archives: Arc<Archives>,
    pub auth: Authenticator,
    pub limits: Limits,
    /// The namespace prefix of other users' archives.
    pub other_users: String,
}

pub enum State {
    NotAuthenticated,
    Authenticated(Box<Authenticated>),
    Logout,
}

pub struct Authenticated {
    user: UserRecord,
    selected: Option<Selected>,
}

/// The mailbox a session has open.
pub struct Selected {
    /// `None` for the empty INBOX of a user without an inbox folder.
    folder: Option<crate::store::FolderRecord>,
    read_only: bool,
    rights: crate::archive::Rights,
    /// In sequence-number order.
    messages: Vec<MailboxMessage>,
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
                Frame::Acl { tag, command } => {
                    if self.user().is_some() {
                        acl::acl(self, stream, &tag, command).await?;
                    } else {
                        send(stream, &format!("{tag} BAD Log in first\r\n")).await?;
                    }
                }
                Frame::List { tag, command, lsub } => {
                    if self.user().is_some() {
                        mailboxes::list(self, stream, &tag, command, lsub).await?;
                    } else {
                        send(stream, &format!("{tag} BAD Log in first\r\n")).await?;
                    }
                }
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
                Frame::Command(command, extension) => {
                    let ended = self.dispatch(stream, command, extension).await?;
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
        extension: SearchExtension,
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
            _ if self.user().is_none() => send(stream, &format!("{tag} BAD Log in first\r\n")).await?,
            CommandBody::Namespace => mailboxes::namespace(self, stream, &tag).await?,
            CommandBody::List { reference, mailbox_wildcard } => {
                mailboxes::list(self, stream, &tag, plain_list(&reference, &mailbox_wildcard), false).await?
            }
            CommandBody::Lsub { reference, mailbox_wildcard } => {
                mailboxes::list(self, stream, &tag, plain_list(&reference, &mailbox_wildcard), true).await?
            }
            CommandBody::Status { mailbox, item_names } => {
                mailboxes::status(self, stream, &tag, &mailbox, &item_names).await?
            }
            CommandBody::Subscribe { mailbox } => mailboxes::subscribe(self, stream, &tag, &mailbox, true).await?,
            CommandBody::Unsubscribe { mailbox } => mailboxes::subscribe(self, stream, &tag, &mailbox, false).await?,
            CommandBody::Select { mailbox, .. } => select::select(self, stream, &tag, &mailbox, false).await?,
            CommandBody::Examine { mailbox, .. } => select::select(self, stream, &tag, &mailbox, true).await?,
            CommandBody::Close => select::close(self, stream, &tag, "CLOSE").await?,
            CommandBody::Unselect => select::close(self, stream, &tag, "UNSELECT").await?,
            CommandBody::Check if self.selected().is_some() => {
                send(stream, &format!("{tag} OK CHECK completed\r\n")).await?
            }
            CommandBody::Fetch { sequence_set, macro_or_item_names, uid, .. } => {
                fetch::fetch(self, stream, &tag, &sequence_set, &macro_or_item_names, uid).await?
            }
            CommandBody::Store { sequence_set, kind, response, flags, uid, .. } => {
                let request = store::StoreRequest::new(&sequence_set, kind, response, &flags, uid);
                store::store(self, stream, &tag, request).await?
            }
            CommandBody::Search { charset, criteria, uid } => {
                let keys = criteria.into_inner();
                search::search(self, stream, &tag, charset.as_ref(), keys, uid, extension).await?
            }
            CommandBody::Idle => self.idle(stream, &tag).await?,
            CommandBody::Enable { .. } => {
                // Nothing archimap offers needs enabling yet (RFC 5161: list none).
                send(stream, &format!("* ENABLED\r\n{tag} OK ENABLE completed\r\n")).await?
            }
            other => {
                send(stream, &format!("{tag} BAD [CANNOT] {} is not supported here\r\n", other.name())).await?
            }
        }
        Ok(None)
    }

    /// IDLE: the archive changes only through imports, which later issues
    /// will announce; until DONE there is nothing to report but liveness.
    async fn idle<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        tag: &str,
    ) -> std::io::Result<()> {
        send(stream, "+ idling\r\n").await?;
        let limit = Duration::from_secs(self.shared.limits.idle_timeout_authenticated_secs);
        match tokio::time::timeout(limit, self.reader.line(stream, 1024)).await {
            Ok(Ok(Some(line))) if line.eq_ignore_ascii_case(b"DONE") => {
                send(stream, &format!("{tag} OK IDLE terminated\r\n")).await
            }
            Ok(Ok(Some(_))) => send(stream, &format!("{tag} BAD Expected DONE\r\n")).await,
            Ok(Ok(None)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(elapsed) => {
                send(stream, "* BYE Idle for too long, closing\r\n").await?;
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed))
            }
        }
    }

    fn user(&self) -> Option<&UserRecord> {
        match &self.state {
            State::Authenticated(auth) => Some(&auth.user),
            _ => None,
        }
    }

    fn selected(&self) -> Option<&Selected> {
        match &self.state {
            State::Authenticated(auth) => auth.selected.as_ref(),
            _ => None,
        }
    }

    fn selected_mut(&mut self) -> Option<&mut Selected> {
        match &mut self.state {
            State::Authenticated(auth) => auth.selected.as_mut(),
            _ => None,
        }
    }

    fn set_selected(&mut self, selected: Option<Selected>) {
        if let State::Authenticated(auth) = &mut self.state {
            auth.selected = selected;
        }
    }

    /// The user's view of the archives, as it is now.
    fn view(&self) -> crate::error::Result<View> {
        let user = self.user().expect("only called once authenticated");
        self.shared.archives.view(user, &self.shared.other_users)
    }

    fn unsubscribed(&self) -> crate::error::Result<std::collections::HashSet<i64>> {
        self.shared
            .archives
            .unsubscribed(self.user().expect("only called once authenticated"))
    }

    /// Answers a command whose storage access failed; the session lives on.
    async fn storage_error<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
        error: crate::error::Error,
    ) -> std::io::Result<()> {
        tracing::error!(peer = %self.peer, %error, "storage error");
        send(
            stream,
            &format!("{tag} NO [SERVERBUG] The archive could not be read; the error is logged\r\n"),
        )
        .await
    }

    /// The capabilities for the session's current state.
    fn capabilities(&self) -> &'static str {
        match (&self.state, self.tls) {
            (_, false) => "IMAP4rev1 STARTTLS LOGINDISABLED",
            (State::NotAuthenticated, true) => "IMAP4rev1 SASL-IR AUTH=PLAIN ID",
            (_, true) => {
                "IMAP4rev1 ID ENABLE IDLE BINARY ACL RIGHTS=texk NAMESPACE UNSELECT LIST-EXTENDED LIST-STATUS SPECIAL-USE STATUS=SIZE ESEARCH SEARCH=FUZZY"
            }
        }
    }
}

/// A LIST or LSUB in RFC 3501 form, with its arguments as sent (modified
/// UTF-7; `list` decodes them).
fn plain_list(reference: &Mailbox, pattern: &ListMailbox) -> extensions::ListCommand {
    let reference = match reference {
        Mailbox::Inbox => b"INBOX".as_slice(),
        Mailbox::Other(other) => other.as_ref(),
    };
    let pattern = match pattern {
        ListMailbox::Token(token) => token.as_ref(),
        ListMailbox::String(string) => string.as_ref(),
    };
    extensions::ListCommand {
        reference: String::from_utf8_lossy(reference).into_owned(),
        patterns: vec![String::from_utf8_lossy(pattern).into_owned()],
        ..Default::default()
    }
}
