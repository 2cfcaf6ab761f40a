//! The IMAP session: one state machine per connection (not authenticated
//! -> authenticated -> logout), reading commands through `framing` and
//! answering them through one file per command family.

mod access;
mod acl;
mod any;
mod append;
mod copy;
mod esearch;
mod expunge;
mod extensions;
mod fetch;
mod folders;
pub(crate) mod framing;
mod login;
mod mailboxes;
mod mutf7;
mod numbers;
mod response;
mod search;
mod select;
mod store;
mod updates;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imap_codec::imap_types::command::{Command, CommandBody};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::archive::{Archives, MailboxMessage, UserRecord, View};
use crate::auth::Authenticator;
use crate::config::Limits;
use esearch::SearchExtension;
use framing::{Frame, Literals, Reader};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use response::send;

/// How often an idling session asks the catalog for changes made by other
/// processes (imports); changes made through this server arrive at once.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The largest literal invited before login (LOGIN's name or password).
const LOGIN_LITERAL_MAX: u64 = 8 * 1024;

/// What every session shares.
pub struct Shared {
    pub archives: Arc<Archives>,
    pub auth: Arc<Authenticator>,
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
    /// As read at login, or when the access generation last moved.
    user: UserRecord,
    /// The catalog's access generation `user` was read at (`access`).
    generation: u64,
    selected: Option<Selected>,
    /// Keeps the session in GetActiveSessions' list while it lasts.
    _registration: crate::auth::Registration,
}

/// The mailbox a session has open.
pub struct Selected {
    /// `None` for the empty INBOX of a user without an inbox folder.
    folder: Option<crate::store::FolderRecord>,
    /// The archive it belongs to.
    archive: String,
    /// Opened with EXAMINE: read-only whatever the rights.
    examined: bool,
    read_only: bool,
    rights: crate::archive::Rights,
    /// In sequence-number order, as the client knows them: a message
    /// expunged elsewhere stays until the client is told (`updates`).
    messages: Vec<MailboxMessage>,
    /// The keywords the client was told of in `FLAGS`: a keyword that
    /// comes into use is announced first (RFC 3501 7.2.6).
    keywords: Vec<String>,
    /// Changes made by this process to the folder: a counter.
    watch: Option<watch::Receiver<u64>>,
    /// The counter's value the client is up to date with, and how many of
    /// the changes since were this session's own (already answered).
    seen: u64,
    own_changes: u64,
    /// UIDs of messages expunged elsewhere that the client has not been
    /// told of yet: FETCH and STORE pass over them (`[EXPUNGEISSUED]`).
    expunged: std::collections::HashSet<u32>,
    /// When the catalog was last asked whether the folder changed (another
    /// process, such as an import, may change it).
    polled: std::time::Instant,
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
    /// When a session that has not logged in is let go, whatever it sends.
    login_deadline: tokio::time::Instant,
}

impl Session {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool) -> Session {
        Session {
            peer,
            tls,
            state: State::NotAuthenticated,
            reader: Reader::default(),
            login_deadline: tokio::time::Instant::now()
                + Duration::from_secs(shared.limits.idle_timeout_unauthenticated_secs),
            shared,
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
        loop {
            let logged_in = !matches!(self.state, State::NotAuthenticated);
            let deadline = if logged_in {
                let idle = self.shared.limits.idle_timeout_authenticated_secs;
                tokio::time::Instant::now() + Duration::from_secs(idle)
            } else {
                self.login_deadline
            };
            let limits = self.frame_limits();
            let frame = tokio::select! {
                frame = tokio::time::timeout_at(deadline, self.reader.command(stream, limits)) => frame,
                _ = shutdown.changed() => {
                    send(stream, "* BYE [UNAVAILABLE] Server shutting down\r\n").await?;
                    return Ok(Ended::Close);
                }
            };
            let Ok(frame) = frame else {
                return self.time_is_up(stream).await;
            };
            let frame = frame?;
            if !matches!(frame, Frame::Closed)
                && let Some(bye) = self.recheck_access()
            {
                send(stream, &bye).await?;
                return Ok(Ended::Close);
            }
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
                Frame::TooBig { tag, reason, close } => {
                    tracing::warn!(peer = %self.peer, reason, "over the limits");
                    let tag = tag.as_deref().unwrap_or("*");
                    if close {
                        // A literal sent uninvited (RFC 7888 4).
                        send(
                            stream,
                            &format!(
                                "{tag} BAD [TOOBIG] {reason}\r\n\
                                 * BYE [TOOBIG] Closing: the literal is sent regardless\r\n"
                            ),
                        )
                        .await?;
                        return Ok(Ended::Close);
                    }
                    send(stream, &format!("{tag} BAD [LIMIT] {reason}\r\n")).await?;
                }
                Frame::Command(command, extension) => {
                    let dispatched = self.dispatch(stream, command, extension);
                    // Before login the command's own waits (AUTHENTICATE's
                    // continuation, the password check) count too.
                    let ended = if logged_in {
                        dispatched.await?
                    } else {
                        match tokio::time::timeout_at(deadline, dispatched).await {
                            Ok(ended) => ended?,
                            Err(_) => return self.time_is_up(stream).await,
                        }
                    };
                    self.reader.shrink();
                    if let Some(ended) = ended {
                        return Ok(ended);
                    }
                }
            }
        }
    }

    /// What the framing layer accepts in the session's state.
    fn frame_limits(&self) -> framing::Limits {
        let literals = match (&self.state, self.tls) {
            (_, false) => Literals::None,
            (State::NotAuthenticated, true) => Literals::LoginOnly(LOGIN_LITERAL_MAX),
            (_, true) => Literals::Any(self.shared.limits.max_literal_size),
        };
        framing::Limits {
            max_line: self.shared.limits.max_command_line,
            literals,
        }
    }

    /// Says goodbye to a session idle for too long, or not logged in in time.
    async fn time_is_up<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<Ended> {
        let bye = match self.state {
            State::NotAuthenticated => "* BYE Not logged in in time, closing\r\n",
            _ => "* BYE Idle for too long, closing\r\n",
        };
        send(stream, bye).await?;
        Ok(Ended::Close)
    }

    async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        command: Command<'static>,
        extension: SearchExtension,
    ) -> std::io::Result<Option<Ended>> {
        let tag = command.tag.inner().to_string();
        if self.tls
            && self.selected().is_some()
            && let Some(moment) = updates::Moment::before(&command.body)
        {
            self.report_changes(stream, moment).await?;
        }
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
            _ if !self.tls => {
                send(stream, &format!("{tag} BAD [PRIVACYREQUIRED] Only CAPABILITY, NOOP, LOGOUT and STARTTLS before TLS\r\n")).await?
            }
            CommandBody::Id { .. } => any::id(self, stream, &tag).await?,
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
            CommandBody::Close => expunge::close(self, stream, &tag).await?,
            CommandBody::Expunge => expunge::expunge(self, stream, &tag, None).await?,
            CommandBody::ExpungeUid { sequence_set } => {
                expunge::expunge(self, stream, &tag, Some(&sequence_set)).await?
            }
            CommandBody::Copy { sequence_set, mailbox, uid } => {
                copy::copy(self, stream, &tag, &sequence_set, &mailbox, uid, false).await?
            }
            CommandBody::Move { sequence_set, mailbox, uid } => {
                copy::copy(self, stream, &tag, &sequence_set, &mailbox, uid, true).await?
            }
            CommandBody::Append { mailbox, flags, date, message } => {
                append::append(self, stream, &tag, &mailbox, &flags, date.as_ref(), &message).await?
            }
            CommandBody::Create { mailbox } => folders::create(self, stream, &tag, &mailbox).await?,
            CommandBody::Delete { mailbox } => folders::delete(self, stream, &tag, &mailbox).await?,
            CommandBody::Rename { from, to } => folders::rename(self, stream, &tag, &from, &to).await?,
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
            CommandBody::Idle => return self.idle(stream, &tag).await,
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

    /// IDLE: changes to the selected mailbox are reported as they happen
    /// in this process, and every `IDLE_POLL` from the catalog (imports run
    /// in other processes), until DONE. Access is checked again at the same
    /// moments, and at once when this process changes a user or a grant.
    async fn idle<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        tag: &str,
    ) -> std::io::Result<Option<Ended>> {
        /// What ended one wait.
        enum Woken {
            Line(std::io::Result<Option<Vec<u8>>>),
            /// The selected folder changed in this process.
            Changed,
            /// Time to look at the catalog (other processes' changes).
            Poll,
            AccessChanged,
            TimedOut,
        }
        let mut access = self.shared.archives.watch_access();
        send(stream, "+ idling\r\n").await?;
        let limit = Duration::from_secs(self.shared.limits.idle_timeout_authenticated_secs);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // A clone sees the same changes without marking them seen.
            let mut watch = self.selected().and_then(|s| s.watch.clone());
            let changed = async {
                let gone = match &mut watch {
                    Some(watch) => watch.changed().await.is_err(),
                    None => true,
                };
                if gone {
                    std::future::pending::<()>().await;
                }
            };
            let woken = tokio::select! {
                line = self.reader.line(stream, 1024) => Woken::Line(line),
                () = changed => Woken::Changed,
                Ok(()) = access.changed() => Woken::AccessChanged,
                () = tokio::time::sleep(IDLE_POLL) => Woken::Poll,
                () = tokio::time::sleep_until(deadline) => Woken::TimedOut,
            };
            // Not on every change of the folder: thousands of sessions may
            // watch it, and access changes have their own wake-up.
            if matches!(woken, Woken::Poll | Woken::AccessChanged)
                && let Some(bye) = self.recheck_access()
            {
                send(stream, &bye).await?;
                return Ok(Some(Ended::Close));
            }
            match woken {
                Woken::Changed | Woken::Poll => {
                    self.report_changes(stream, updates::Moment::Poll).await?
                }
                Woken::AccessChanged => {}
                Woken::Line(Ok(Some(line))) if line.eq_ignore_ascii_case(b"DONE") => {
                    send(stream, &format!("{tag} OK IDLE terminated\r\n")).await?;
                    return Ok(None);
                }
                Woken::Line(Ok(Some(_))) => {
                    send(stream, &format!("{tag} BAD Expected DONE\r\n")).await?;
                    return Ok(None);
                }
                Woken::Line(Ok(None)) => return Ok(Some(Ended::Close)),
                Woken::Line(Err(e)) => return Err(e),
                Woken::TimedOut => {
                    send(stream, "* BYE Idle for too long, closing\r\n").await?;
                    return Ok(Some(Ended::Close));
                }
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

    /// The selected mailbox for a command that changes it, or `None` once
    /// the answer is sent: none selected, or selected read-only.
    async fn writable<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
    ) -> std::io::Result<Option<&Selected>> {
        match self.selected() {
            None => send(stream, &format!("{tag} BAD No mailbox selected\r\n"))
                .await
                .map(|()| None),
            Some(selected) if selected.read_only => send(
                stream,
                &format!("{tag} NO [READ-ONLY] The mailbox is open read-only\r\n"),
            )
            .await
            .map(|()| None),
            Some(selected) => Ok(Some(selected)),
        }
    }

    fn selected_mut(&mut self) -> Option<&mut Selected> {
        match &mut self.state {
            State::Authenticated(auth) => auth.selected.as_mut(),
            _ => None,
        }
    }

    fn take_selected(&mut self) -> Option<Selected> {
        match &mut self.state {
            State::Authenticated(auth) => auth.selected.take(),
            _ => None,
        }
    }

    fn set_selected(&mut self, selected: Option<Selected>) {
        if let State::Authenticated(auth) = &mut self.state {
            auth.selected = selected;
        }
    }

    /// `user` (the session's) asking for a change from the session's address.
    fn caller<'a>(&self, user: &'a UserRecord) -> crate::archive::Caller<'a> {
        crate::archive::Caller::new(user, Some(self.peer.ip()))
    }

    /// The user's view of the archives, as it is now.
    fn view(&self) -> crate::error::Result<View> {
        let user = self.user().expect("only called once authenticated");
        self.shared.archives.view(user, &self.shared.other_users)
    }

    /// The user's view, or `None` once a failure to build it is answered
    /// (`storage_error`).
    async fn answered_view<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
    ) -> std::io::Result<Option<View>> {
        match self.view() {
            Ok(view) => Ok(Some(view)),
            Err(e) => self.storage_error(stream, tag, e).await.map(|()| None),
        }
    }

    /// Answers a command whose storage access failed; the session lives on.
    async fn storage_error<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
        error: crate::error::Error,
    ) -> std::io::Result<()> {
        tracing::error!(peer = %self.peer, %error, "storage error");
        let answer = match error {
            // The server's condition, not a bug, and it passes.
            crate::error::Error::NoSpace(_) => {
                "NO [UNAVAILABLE] The archive's storage is full; nothing was changed. Try again later"
            }
            _ => "NO [SERVERBUG] The archive could not be read or changed; the error is logged",
        };
        send(stream, &format!("{tag} {answer}\r\n")).await
    }

    /// Answers a change the archive refused (`NO` with the RFC 5530 code
    /// that says why), or a storage failure; the session lives on.
    async fn refuse<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
        error: crate::error::Error,
    ) -> std::io::Result<()> {
        use crate::error::Error;
        let (code, text) = match error {
            Error::NotPermitted(text) => ("NOPERM", text),
            Error::Limit(text) => ("LIMIT", text),
            Error::Refused(text) | Error::Invalid(text) => ("CANNOT", text),
            Error::NotFound(_) => ("NONEXISTENT", "No such mailbox".to_string()),
            Error::AlreadyExists(what) => ("ALREADYEXISTS", format!("{what} exists already")),
            Error::Expunged(what) => ("EXPUNGEISSUED", format!("{what} was expunged meanwhile")),
            error => return self.storage_error(stream, tag, error).await,
        };
        tracing::info!(peer = %self.peer, code, text, "refused");
        send(stream, &format!("{tag} NO [{code}] {text}\r\n")).await
    }

    /// The capabilities for the session's current state.
    fn capabilities(&self) -> &'static str {
        match (&self.state, self.tls) {
            (_, false) => "IMAP4rev1 STARTTLS LOGINDISABLED",
            (State::NotAuthenticated, true) => "IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN ID",
            (_, true) => {
                "IMAP4rev1 LITERAL+ ID ENABLE IDLE BINARY ACL RIGHTS=texk NAMESPACE UNSELECT UIDPLUS MOVE LIST-EXTENDED LIST-STATUS SPECIAL-USE STATUS=SIZE ESEARCH SEARCH=FUZZY"
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
