//! The IMAP session: one state machine per connection (not authenticated
//! -> authenticated -> logout), reading commands through `framing` and
//! answering them through one file per command family.

mod access;
mod acl;
mod any;
mod append;
mod catenate;
mod condstore;
mod copy;
mod esearch;
mod expunge;
mod extensions;
mod fetch;
mod folders;
pub(crate) mod framing;
mod live;
mod login;
mod mailboxes;
mod mutf7;
mod notify;
mod numbers;
mod reply;
mod response;
mod search;
mod select;
mod sort;
mod store;
mod thread;
mod updates;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imap_codec::imap_types::command::{Command, CommandBody};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::archive::{Archives, MailboxView, UserRecord, View};
use crate::auth::Authenticator;
use crate::config::Limits;
use esearch::Rewritten;
use framing::{Frame, Literals, Reader};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use reply::{Code, Condition, Failure, Handled, Reply};
use response::send;
pub use sort::cache::KeyCache;

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
    /// The sort keys SORT and THREAD made, for the next ones.
    pub sort_keys: KeyCache,
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
    /// CONDSTORE or QRESYNC, once turned on (for the rest of the session).
    modseqs: condstore::Modseqs,
    /// How mailbox names travel (UTF-8 once UTF8=ACCEPT is enabled).
    names: mailboxes::Names,
    /// What NOTIFY SET asked to be told of.
    notify: Option<Box<notify::Notify>>,
    /// IMAP4rev2 (RFC 9051), once enabled: no `\Recent`, ESEARCH answers
    /// every SEARCH, SELECT tells the mailbox's LIST, names in UTF-8.
    rev2: bool,
    /// Keeps the session in GetActiveSessions' list while it lasts.
    _registration: crate::auth::Registration,
}

/// The mailbox a session has open.
pub struct Selected {
    /// `None` for the empty INBOX of a user without an inbox folder.
    folder: Option<crate::archive::Folder>,
    /// The archive it belongs to.
    archive: String,
    /// Opened with EXAMINE: read-only whatever the rights.
    examined: bool,
    read_only: bool,
    rights: crate::archive::Rights,
    /// The messages in sequence-number order, as the client knows them (a
    /// message expunged elsewhere stays until the client is told, see
    /// `updates`), with the user's flags; shared, cheap to hand to another
    /// thread (SEARCH).
    view: MailboxView,
    /// The number of the user's last flag change the client was told of
    /// (or made itself).
    flags_seen: u64,
    /// The session's own flag changes after `flags_seen`, as ranges of
    /// change numbers (a STORE or FETCH makes consecutive ones).
    own_flag_changes: Vec<(u64, u64)>,
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
    /// The result a SEARCH saved (RFC 5182 `$`), as UIDs; empty until one
    /// does, and again after a SEARCH with SAVE fails.
    saved: Vec<u32>,
    /// Results kept up to date (CONTEXT=SEARCH, CONTEXT=SORT), in the
    /// order made.
    live: Vec<live::Live>,
    /// When the catalog was last asked whether the folder changed (another
    /// process, such as an import, may change it).
    polled: std::time::Instant,
    /// IMAP4rev2 is on: no `\Recent`, no RECENT.
    rev2: bool,
}

impl Selected {
    /// The session changed the user's flags itself (change `number`, 0:
    /// nothing changed) and answered with them: the client knows.
    fn made_flag_change(&mut self, number: u64) {
        if number == 0 {
            return;
        }
        self.own_changes += 1;
        match self.own_flag_changes.last_mut() {
            Some((_, last)) if *last + 1 == number => *last = number,
            _ => self.own_flag_changes.push((number, number)),
        }
    }

    /// Whether change `number` is one the client knows of: told, or its own.
    fn knows_flag_change(&self, number: u64) -> bool {
        number <= self.flags_seen
            || self
                .own_flag_changes
                .iter()
                .any(|&(first, last)| (first..=last).contains(&number))
    }
}

/// How a session's use of a stream ended.
pub enum Ended {
    /// Close the connection.
    Close,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
    /// The client asked for COMPRESS and was told to go ahead: the stream
    /// is to be deflated from now on (RFC 4978).
    Compress,
}

pub struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tls: bool,
    /// COMPRESS is on.
    compressed: bool,
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
            compressed: false,
            state: State::NotAuthenticated,
            reader: Reader::default(),
            login_deadline: tokio::time::Instant::now()
                + Duration::from_secs(shared.limits.idle_timeout_unauthenticated_secs),
            shared,
        }
    }

    pub async fn greet<S: AsyncWrite + Unpin>(&mut self, stream: &mut S) -> std::io::Result<()> {
        let greeting = Reply::ok("archimap ready").with_code(Code::Capability(self.capabilities()));
        send(stream, greeting.line("*")).await
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
        // Since when the client has been quiet (changes told to it meanwhile
        // do not count).
        let mut quiet_since = None;
        loop {
            let logged_in = !matches!(self.state, State::NotAuthenticated);
            let since = quiet_since.take().unwrap_or_else(tokio::time::Instant::now);
            let deadline = if logged_in {
                let idle = self.shared.limits.idle_timeout_authenticated_secs;
                since + Duration::from_secs(idle)
            } else {
                self.login_deadline
            };
            let limits = self.frame_limits();
            // NOTIFY: told of changes until the next command begins.
            if logged_in
                && !self.reader.has_buffered()
                && let Some(woken) = self.notify_wake()
            {
                tokio::select! {
                    input = self.reader.wait_input(stream) => {
                        input?;
                    }
                    poll = woken => {
                        self.push_notifications(stream, poll).await?;
                        quiet_since = Some(since);
                        continue;
                    }
                    _ = shutdown.changed() => return shutting_down(stream).await,
                    () = tokio::time::sleep_until(deadline) => return self.time_is_up(stream).await,
                }
            }
            let frame = tokio::select! {
                frame = tokio::time::timeout_at(deadline, self.reader.command(stream, limits)) => frame,
                _ = shutdown.changed() => return shutting_down(stream).await,
            };
            let Ok(frame) = frame else {
                return self.time_is_up(stream).await;
            };
            let frame = frame?;
            if !matches!(frame, Frame::Closed)
                && let Some(bye) = self.recheck_access()
            {
                send(stream, bye.line("*")).await?;
                return Ok(Ended::Close);
            }
            match frame {
                Frame::Closed => return Ok(Ended::Close),
                Frame::CancelUpdate { tag, tags } => {
                    let handled = match self.selected_mut() {
                        Some(selected) => {
                            selected.live.retain(|l| !tags.iter().any(|t| t == l.tag()));
                            Ok(Reply::completed("CANCELUPDATE"))
                        }
                        None => Ok(Reply::not_selected()),
                    };
                    self.answer(stream, &tag, handled).await?;
                }
                Frame::Notify { tag, command } => {
                    let handled = match self.user() {
                        // The catalog is read for every watched mailbox:
                        // off the threads that serve the other sessions.
                        Some(_) => tokio::task::block_in_place(|| self.notify(command)),
                        None => Ok(Reply::bad("Log in first")),
                    };
                    self.answer(stream, &tag, handled).await?;
                }
                Frame::Acl { tag, command } => {
                    let handled = match self.user() {
                        Some(_) => acl::acl(self, command),
                        None => Ok(Reply::bad("Log in first")),
                    };
                    self.answer(stream, &tag, handled).await?;
                }
                Frame::List { tag, command, lsub } => {
                    let handled = match self.user() {
                        Some(_) => mailboxes::list(self, command, lsub),
                        None => Ok(Reply::bad("Log in first")),
                    };
                    self.answer(stream, &tag, handled).await?;
                }
                Frame::Bad { tag, reason } => {
                    tracing::debug!(peer = %self.peer, reason, "bad command");
                    let reply = Reply::bad(reason).with_code(Code::ClientBug);
                    send(stream, reply.line(tag.as_deref().unwrap_or("*"))).await?;
                }
                Frame::TooBig { tag, reason, close } => {
                    tracing::warn!(peer = %self.peer, reason, "over the limits");
                    let tag = tag.as_deref().unwrap_or("*");
                    if close {
                        // A literal sent uninvited (RFC 7888 4).
                        let bye = Reply::bye(
                            Some(Code::TooBig),
                            "Closing: the literal is sent regardless",
                        );
                        let reply = Reply::bad(reason).with_code(Code::TooBig);
                        send(stream, reply.line(tag) + &bye.line("*")).await?;
                        return Ok(Ended::Close);
                    }
                    send(stream, Reply::bad(reason).with_code(Code::Limit).line(tag)).await?;
                }
                Frame::MultiAppend(commands, extension) => {
                    Box::pin(self.multi_append(stream, commands, extension)).await?;
                    self.reader.shrink();
                }
                Frame::Command(command, extension) => {
                    // On the heap, for the command's length only: inline,
                    // the largest command's state would be part of every
                    // idle session.
                    let dispatched = Box::pin(self.dispatch(stream, command, extension));
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
            State::NotAuthenticated => Reply::bye(None, "Not logged in in time, closing"),
            _ => Reply::bye(None, "Idle for too long, closing"),
        };
        send(stream, bye.line("*")).await?;
        Ok(Ended::Close)
    }

    async fn dispatch<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        command: Command<'static>,
        extension: Rewritten,
    ) -> std::io::Result<Option<Ended>> {
        let tag = command.tag.inner().to_string();
        if self.tls
            && self.selected().is_some()
            && let Some(moment) = updates::Moment::before(&command.body)
        {
            self.report_changes(stream, moment).await?;
        }
        if self.tls && self.notifying().is_some() {
            let poll = updates::Moment::before(&command.body) == Some(updates::Moment::Poll);
            self.report_notifications(stream, poll).await?;
        }
        let handled: Handled = match command.body {
            CommandBody::Capability => Ok(any::capability(self)),
            CommandBody::Noop => Ok(Reply::completed("NOOP")),
            CommandBody::Logout => {
                self.state = State::Logout;
                let bye = Reply::bye(None, "Logging out").line("*");
                self.answer(stream, &tag, Ok(Reply::completed("LOGOUT").after(bye)))
                    .await?;
                return Ok(Some(Ended::Close));
            }
            CommandBody::StartTLS => {
                let (reply, ended) = any::starttls(self);
                self.answer(stream, &tag, Ok(reply)).await?;
                return Ok(ended);
            }
            CommandBody::Login { username, password } => {
                login::login(self, username.as_ref(), password.declassify().as_ref()).await
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                let initial = initial_response.map(|r| r.declassify().to_vec());
                login::authenticate(self, stream, &mechanism, initial).await
            }
            _ if !self.tls => Ok(Reply::bad(
                "Only CAPABILITY, NOOP, LOGOUT and STARTTLS before TLS",
            )
            .with_code(Code::PrivacyRequired)),
            CommandBody::Id { .. } => Ok(any::id(self)),
            _ if self.user().is_none() => Ok(Reply::bad("Log in first")),
            CommandBody::Compress { .. } => {
                let (reply, ended) = any::compress(self);
                self.answer(stream, &tag, Ok(reply)).await?;
                if ended.is_some() {
                    self.compressed = true;
                }
                return Ok(ended);
            }
            CommandBody::Namespace => Ok(mailboxes::namespace(self)),
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => mailboxes::list(self, plain_list(&reference, &mailbox_wildcard), false),
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => mailboxes::list(self, plain_list(&reference, &mailbox_wildcard), true),
            CommandBody::Status {
                mailbox,
                item_names,
            } => mailboxes::status(self, &mailbox, &item_names),
            CommandBody::Subscribe { mailbox } => mailboxes::subscribe(self, &mailbox, true),
            CommandBody::Unsubscribe { mailbox } => mailboxes::subscribe(self, &mailbox, false),
            CommandBody::Select {
                mailbox,
                parameters,
            } => select::select(self, &mailbox, &parameters, false),
            CommandBody::Examine {
                mailbox,
                parameters,
            } => select::select(self, &mailbox, &parameters, true),
            CommandBody::Close => expunge::close(self),
            CommandBody::Expunge => expunge::expunge(self, None),
            CommandBody::ExpungeUid { sequence_set } => expunge::expunge(self, Some(&sequence_set)),
            CommandBody::Copy {
                sequence_set,
                mailbox,
                uid,
            } => copy::copy(self, stream, &sequence_set, &mailbox, uid, false).await,
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid,
            } => copy::copy(self, stream, &sequence_set, &mailbox, uid, true).await,
            CommandBody::Append { .. } => {
                let (mailbox, message) = append::Appended::of(&command).expect("an APPEND");
                let catenate = extension.catenate.as_deref();
                append::append(self, stream, mailbox, &[message], catenate).await
            }
            CommandBody::Create { mailbox } => folders::create(self, &mailbox),
            CommandBody::Delete { mailbox } => folders::delete(self, &mailbox),
            CommandBody::Rename { from, to } => folders::rename(self, &from, &to),
            CommandBody::Unselect => select::unselect(self),
            CommandBody::Check if self.selected().is_some() => Ok(Reply::completed("CHECK")),
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } => {
                let request = fetch::FetchRequest::new(
                    &sequence_set,
                    &macro_or_item_names,
                    uid,
                    &modifiers,
                    extension.previews,
                );
                fetch::fetch(self, stream, request).await
            }
            CommandBody::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                modifiers,
            } => store::store(
                self,
                store::StoreRequest::new(&sequence_set, kind, response, &flags, uid, &modifiers),
            ),
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } => {
                let keys = criteria.into_inner();
                search::search(self, &tag, charset.as_ref(), keys, uid, extension).await
            }
            CommandBody::Sort {
                sort_criteria,
                charset,
                search_criteria,
                uid,
            } => {
                let request = sort::SortRequest {
                    tag: &tag,
                    criteria: sort_criteria.into_inner(),
                    charset: &charset,
                    keys: search_criteria.into_inner(),
                    uid,
                    extension,
                };
                sort::sort(self, request).await
            }
            CommandBody::Thread {
                algorithm,
                charset,
                search_criteria,
                uid,
            } => {
                let keys = search_criteria.into_inner();
                thread::thread(self, &algorithm, &charset, keys, uid).await
            }
            CommandBody::Idle => match self.idle(stream).await? {
                Some(reply) => Ok(reply),
                None => return Ok(Some(Ended::Close)),
            },
            CommandBody::Enable { capabilities } => condstore::enable(self, capabilities.as_ref()),
            other => Ok(
                Reply::bad(format!("{} is not supported here", other.name()))
                    .with_code(Code::Cannot),
            ),
        };
        self.answer(stream, &tag, handled).await?;
        Ok(None)
    }

    /// An APPEND of several messages (the framing reads them only after
    /// login over TLS, the only state that accepts their literals).
    async fn multi_append<S: AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        commands: Vec<Command<'static>>,
        extension: Rewritten,
    ) -> std::io::Result<()> {
        let tag = commands[0].tag.inner().to_string();
        let messages: Vec<_> = commands.iter().filter_map(append::Appended::of).collect();
        let handled = match messages.first() {
            Some(_) if self.user().is_none() || !self.tls => Ok(Reply::bad("Log in first")),
            Some((mailbox, _)) => {
                if self.selected().is_some() {
                    self.report_changes(stream, updates::Moment::Command)
                        .await?;
                }
                let messages: Vec<_> = messages.iter().map(|(_, m)| *m).collect();
                let catenate = extension.catenate.as_deref();
                append::append(self, stream, mailbox, &messages, catenate).await
            }
            None => Ok(Reply::bad("Command syntax error")),
        };
        self.answer(stream, &tag, handled).await
    }

    /// Writes a command's reply under its tag, with the untagged data that
    /// comes with it; what the server failed at, and what it refused, goes
    /// to the log.
    async fn answer<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        tag: &str,
        handled: Handled,
    ) -> std::io::Result<()> {
        let reply = match handled {
            Ok(reply) => reply,
            Err(Failure::Reply(reply)) => *reply,
            Err(Failure::Io(error)) => return Err(error),
        };
        if let Some(cause) = reply.cause() {
            tracing::error!(peer = %self.peer, cause, "command failed");
        } else if let (Condition::No, Some(code)) = (reply.condition, &reply.code) {
            tracing::info!(peer = %self.peer, %code, text = %reply.text, "refused");
        }
        send(stream, reply.into_bytes(tag)).await
    }

    /// IDLE: changes to the selected mailbox are reported as they happen
    /// in this process, and every `IDLE_POLL` from the catalog (imports run
    /// in other processes), until DONE. Access is checked again at the same
    /// moments, and at once when this process changes a user or a grant.
    /// `None` when the session ends (its BYE written).
    async fn idle<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<Option<Reply>> {
        /// What ended one wait.
        enum Woken {
            Line(std::io::Result<Option<Vec<u8>>>),
            /// The selected folder changed in this process.
            Changed,
            /// A folder NOTIFY watches may have changed in this process.
            Notified,
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
            let changed = updates::changed(self.selected().and_then(|s| s.watch.clone()));
            let notified = self.notifying().and_then(|n| n.changes());
            let woken = tokio::select! {
                line = self.reader.line(stream, 1024) => Woken::Line(line),
                () = changed => Woken::Changed,
                () = updates::changed(notified) => Woken::Notified,
                Ok(()) = access.changed() => Woken::AccessChanged,
                () = tokio::time::sleep(IDLE_POLL) => Woken::Poll,
                () = tokio::time::sleep_until(deadline) => Woken::TimedOut,
            };
            // Not on every change of the folder: thousands of sessions may
            // watch it, and access changes have their own wake-up.
            if matches!(woken, Woken::Poll | Woken::AccessChanged)
                && let Some(bye) = self.recheck_access()
            {
                send(stream, bye.line("*")).await?;
                return Ok(None);
            }
            let poll = matches!(woken, Woken::Poll);
            match woken {
                Woken::Changed | Woken::Poll => {
                    self.report_changes(stream, updates::Moment::Poll).await?;
                    self.report_notifications(stream, poll).await?;
                }
                Woken::Notified => self.report_notifications(stream, false).await?,
                Woken::AccessChanged => {}
                Woken::Line(Ok(Some(line))) if line.eq_ignore_ascii_case(b"DONE") => {
                    return Ok(Some(Reply::ok("IDLE terminated")));
                }
                Woken::Line(Ok(Some(_))) => return Ok(Some(Reply::bad("Expected DONE"))),
                Woken::Line(Ok(None)) => return Ok(None),
                Woken::Line(Err(e)) => return Err(e),
                Woken::TimedOut => {
                    let bye = Reply::bye(None, "Idle for too long, closing");
                    send(stream, bye.line("*")).await?;
                    return Ok(None);
                }
            }
        }
    }

    /// IMAP4rev2 (RFC 9051) is on.
    fn rev2(&self) -> bool {
        matches!(&self.state, State::Authenticated(auth) if auth.rev2)
    }

    /// How the session's mailbox names travel.
    fn names(&self) -> mailboxes::Names {
        match &self.state {
            State::Authenticated(auth) => auth.names,
            _ => mailboxes::Names::default(),
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

    /// The selected mailbox, or the answer to a command that needs one.
    fn selected_or_bad(&self) -> Result<&Selected, Failure> {
        Ok(self.selected().ok_or_else(Reply::not_selected)?)
    }

    /// The selected mailbox for a command that changes it, or the answer:
    /// none selected, or selected read-only.
    fn writable(&self) -> Result<&Selected, Failure> {
        match self.selected_or_bad()? {
            selected if selected.read_only => {
                Err(Reply::no(Code::ReadOnly, "The mailbox is open read-only").into())
            }
            selected => Ok(selected),
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

    /// The capabilities for the session's current state.
    fn capabilities(&self) -> &'static str {
        match (&self.state, self.tls) {
            (_, false) => "IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED",
            (State::NotAuthenticated, true) => "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR AUTH=PLAIN ID",
            // COMPRESS=DEFLATE only while it may be asked for (RFC 4978 4).
            (_, true) if self.compressed => {
                "IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UTF8=ACCEPT BINARY ACL RIGHTS=texk NAMESPACE UNSELECT UIDPLUS MULTIAPPEND CATENATE MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE STATUS=SIZE ESEARCH SEARCHRES SEARCH=FUZZY CONDSTORE QRESYNC SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN PREVIEW CONTEXT=SEARCH CONTEXT=SORT NOTIFY"
            }
            (_, true) => {
                "IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE UTF8=ACCEPT BINARY ACL RIGHTS=texk NAMESPACE UNSELECT UIDPLUS MULTIAPPEND CATENATE MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE STATUS=SIZE ESEARCH SEARCHRES SEARCH=FUZZY CONDSTORE QRESYNC SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN PREVIEW CONTEXT=SEARCH CONTEXT=SORT NOTIFY COMPRESS=DEFLATE"
            }
        }
    }
}

/// Says goodbye to a session as the server stops.
async fn shutting_down<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<Ended> {
    let bye = Reply::bye(Some(Code::Unavailable), "Server shutting down");
    send(stream, bye.line("*")).await?;
    Ok(Ended::Close)
}

/// The BYE of a connection turned away before its session starts.
pub fn too_many_connections() -> String {
    Reply::bye(Some(Code::Limit), "Too many connections, try again later").line("*")
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
