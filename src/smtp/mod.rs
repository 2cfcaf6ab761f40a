//! The journal receiver: ESMTP (RFC 5321) with STARTTLS (RFC 3207),
//! PIPELINING, SIZE, 8BITMIME, SMTPUTF8, CHUNKING (BDAT), ENHANCEDSTATUSCODES
//! and AUTH PLAIN after TLS. Commands and data are parsed by `smtp-proto`;
//! this module holds the session's state and its rules: who may deliver,
//! the limits, and that `250` is said only once the message is filed in
//! every archive it belongs in (`Archives::journal`).

mod reply;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ipnet::IpNet;
use smtp_proto::request::receiver::{BdatReceiver, DataReceiver, RequestReceiver};
use smtp_proto::{AUTH_PLAIN, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::archive::journal::{Envelope, Journaled, Routing};
use crate::archive::{Archives, GlobalPrivileges};
use crate::auth::{Authenticator, LoginError, Service};
use crate::config::SmtpConfig;
use crate::error::{Error, Result};
use reply::Reply;

/// Bytes read from the client at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Commands answered with an error before the connection is closed.
const MAX_ERRORS: u32 = 20;
/// The longest AUTH response line.
const MAX_AUTH_LINE: usize = 4096;

/// What every SMTP session shares.
pub struct Shared {
    pub archives: Arc<Archives>,
    pub auth: Arc<Authenticator>,
    pub settings: Settings,
    pub routing: Routing,
    /// When the users were last synchronised with the directory before
    /// routing (`sync_directory_before_routing`).
    pub last_directory_sync: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

/// The `[smtp]` settings, checked.
pub struct Settings {
    allowed: Vec<IpNet>,
    /// Synchronise with the directory before routing a message with an
    /// unknown address, at most this often.
    directory_sync: Option<Duration>,
    plaintext_from_allowed: bool,
    max_message_size: usize,
    max_recipients: usize,
    timeout: Duration,
    hostname: String,
}

impl Settings {
    pub fn of(config: &SmtpConfig) -> Result<Settings> {
        let allowed = config
            .allowed_clients
            .iter()
            .map(|net| {
                net.parse::<IpNet>()
                    .or_else(|_| net.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        Error::Invalid(format!(
                            "smtp.allowed_clients: {net:?} is not a network (CIDR) or address"
                        ))
                    })
            })
            .collect::<Result<_>>()?;
        Ok(Settings {
            allowed,
            directory_sync: config
                .sync_directory_before_routing
                .then(|| Duration::from_secs(config.directory_sync_secs)),
            plaintext_from_allowed: config.plaintext_from_allowed,
            max_message_size: config.max_message_size as usize,
            max_recipients: config.max_recipients,
            timeout: Duration::from_secs(config.timeout_secs),
            hostname: config.hostname.clone(),
        })
    }
}

impl Routing {
    pub fn of(config: &SmtpConfig) -> Routing {
        Routing {
            archive_domain: config.archive_domain.as_ref().map(|d| d.to_lowercase()),
            catch_all: config.catch_all.as_ref().map(|a| a.to_lowercase()),
        }
    }
}

/// How a session's use of a stream ended.
pub enum Ended {
    Close,
    /// The client asked for STARTTLS and was told to go ahead.
    StartTls,
}

/// A mail transaction: MAIL FROM, its recipients and the data so far.
struct Transaction {
    from: String,
    recipients: Vec<String>,
    body: Vec<u8>,
    /// More than the size limit came: the data is read and dropped.
    too_big: bool,
}

/// What the next bytes from the client are.
enum Phase {
    Command,
    Data(DataReceiver),
    Bdat(BdatReceiver),
    /// The AUTH PLAIN response to the empty challenge.
    AuthResponse,
    /// The rest of a line too long to be a command, dropped.
    LongLine,
}

pub struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tls: bool,
    /// The client's address is in `allowed_clients`.
    allowed: bool,
    helo: bool,
    /// Authenticated as a user with the `archive` privilege.
    authenticated: bool,
    transaction: Option<Transaction>,
    phase: Phase,
    errors: u32,
    /// Bytes read and not yet taken.
    pending: Vec<u8>,
    commands: RequestReceiver,
}

impl Session {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool) -> Session {
        let allowed = shared
            .settings
            .allowed
            .iter()
            .any(|net| net.contains(&peer.ip()));
        Session {
            shared,
            peer,
            tls,
            allowed,
            helo: false,
            authenticated: false,
            transaction: None,
            phase: Phase::Command,
            errors: 0,
            pending: Vec::new(),
            commands: RequestReceiver::default(),
        }
    }

    /// After the TLS handshake of STARTTLS: the session starts again
    /// (RFC 3207 4.2: the client says EHLO again).
    pub fn upgraded(&mut self) {
        self.tls = true;
        self.helo = false;
        self.transaction = None;
        self.phase = Phase::Command;
        self.pending.clear();
        self.commands = RequestReceiver::default();
    }

    pub async fn greet<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<()> {
        let greeting = format!(
            "220 {} ESMTP archimap journal receiver\r\n",
            self.hostname()
        );
        stream.write_all(greeting.as_bytes()).await?;
        stream.flush().await
    }

    fn hostname(&self) -> &str {
        &self.shared.settings.hostname
    }

    /// Serves the client until it quits, asks for STARTTLS, breaks the
    /// rules too often, times out or the server stops.
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        stopped: &mut watch::Receiver<bool>,
    ) -> std::io::Result<Ended> {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let mut out = Vec::new();
            let ended = self.take_pending(&mut out).await;
            if !out.is_empty() {
                stream.write_all(&out).await?;
                stream.flush().await?;
            }
            if let Some(ended) = ended {
                return Ok(ended);
            }
            let read = tokio::select! {
                read = tokio::time::timeout(self.shared.settings.timeout, stream.read(&mut chunk)) => read,
                _ = stopped.changed() => {
                    let bye = Reply::new(421, [4, 3, 2], "The server is shutting down");
                    stream.write_all(&bye.bytes()).await?;
                    return Ok(Ended::Close);
                }
            };
            match read {
                Err(_) => {
                    let bye = Reply::new(421, [4, 4, 2], "Timeout: closing the connection");
                    stream.write_all(&bye.bytes()).await?;
                    return Ok(Ended::Close);
                }
                Ok(Ok(0)) => return Ok(Ended::Close),
                Ok(Ok(n)) => self.pending.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    /// Takes what the pending bytes hold (commands, pipelined or not, and
    /// data), writing the answers to `out`; `Some` when the session ends.
    async fn take_pending(&mut self, out: &mut Vec<u8>) -> Option<Ended> {
        loop {
            let before = self.pending.len();
            let step = self.step();
            let taken = before - step.left;
            self.pending.drain(..taken);
            match step.what {
                Step::More => return None,
                Step::Command(request) => {
                    let (reply, ended) = self.command(request).await;
                    reply.write(out);
                    if ended.is_some() {
                        return ended;
                    }
                }
                Step::Unparsed(reply) => {
                    reply.write(out);
                }
                Step::Skipped => {}
                Step::DataDone => {
                    let reply = self.deliver().await;
                    reply.write(out);
                }
                Step::ChunkDone { last } => {
                    let reply = match last {
                        true => self.deliver().await,
                        false => {
                            self.phase = Phase::Command;
                            Reply::new(250, [2, 0, 0], "Chunk received")
                        }
                    };
                    reply.write(out);
                }
                Step::AuthLine(line) => {
                    self.phase = Phase::Command;
                    let reply = self.auth_plain(line.trim_ascii().as_bytes()).await;
                    reply.write(out);
                }
            }
            if self.errors >= MAX_ERRORS {
                Reply::new(421, [4, 7, 0], "Too many errors: closing the connection").write(out);
                return Some(Ended::Close);
            }
        }
    }

    /// Reads the next thing from the pending bytes without changing them.
    fn step(&mut self) -> Parsed {
        let max = self.shared.settings.max_message_size;
        let mut bytes = self.pending.iter();
        let what = match &mut self.phase {
            Phase::Command => match self.commands.ingest(&mut bytes) {
                Ok(request) => Step::Command(request.into_owned()),
                Err(smtp_proto::Error::NeedsMoreData { .. }) => Step::More,
                Err(e) => {
                    self.errors += 1;
                    if e == smtp_proto::Error::ResponseTooLong {
                        // Answered once, however long the line.
                        self.commands = RequestReceiver::default();
                        self.phase = Phase::LongLine;
                    }
                    Step::Unparsed(reply::unparsed(&e))
                }
            },
            Phase::LongLine => {
                let rest = bytes.as_slice();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        bytes = rest[end + 1..].iter();
                        self.phase = Phase::Command;
                        Step::Skipped
                    }
                    None => {
                        bytes = [].iter();
                        Step::More
                    }
                }
            }
            Phase::Data(receiver) => {
                let transaction = self.transaction.as_mut().expect("DATA in a transaction");
                let done = receiver.ingest(&mut bytes, &mut transaction.body);
                bound(transaction, max);
                match done {
                    true => Step::DataDone,
                    false => Step::More,
                }
            }
            Phase::Bdat(receiver) => {
                let transaction = self.transaction.as_mut().expect("BDAT in a transaction");
                let done = receiver.ingest(&mut bytes, &mut transaction.body);
                bound(transaction, max);
                match done {
                    true => Step::ChunkDone {
                        last: receiver.is_last,
                    },
                    false => Step::More,
                }
            }
            Phase::AuthResponse => {
                let rest = bytes.as_slice();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
                        bytes = rest[end + 1..].iter();
                        Step::AuthLine(line)
                    }
                    None if rest.len() > MAX_AUTH_LINE => {
                        bytes = [].iter();
                        Step::AuthLine(String::new())
                    }
                    None => Step::More,
                }
            }
        };
        Parsed {
            what,
            left: bytes.as_slice().len(),
        }
    }

    async fn command(&mut self, request: Request<String>) -> (Reply, Option<Ended>) {
        let reply = match request {
            Request::Ehlo { host: _ } => {
                self.helo = true;
                self.transaction = None;
                return (self.ehlo(), None);
            }
            Request::Helo { host: _ } => {
                self.helo = true;
                self.transaction = None;
                Reply::new(250, [2, 0, 0], self.hostname().to_string())
            }
            Request::StartTls if self.tls => Reply::new(503, [5, 5, 1], "TLS is on already"),
            Request::StartTls => {
                // Anything the client sent after STARTTLS in the clear is
                // dropped (RFC 3207 5: it could be an injected command).
                self.pending.clear();
                return (
                    Reply::new(220, [2, 0, 0], "Ready to start TLS"),
                    Some(Ended::StartTls),
                );
            }
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, initial_response).await,
            Request::Mail { from } => self.mail(from.address, from.size),
            Request::Rcpt { to } => self.rcpt(to.address),
            Request::Data => self.data(),
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(chunk_size, is_last),
            Request::Rset => {
                self.transaction = None;
                Reply::new(250, [2, 0, 0], "Reset")
            }
            Request::Noop { .. } => Reply::new(250, [2, 0, 0], "OK"),
            Request::Quit => {
                return (Reply::new(221, [2, 0, 0], "Bye"), Some(Ended::Close));
            }
            Request::Vrfy { .. } => {
                Reply::new(252, [2, 5, 2], "Send the message and it is archived")
            }
            Request::Help { .. } => Reply::new(214, [2, 0, 0], "See the archimap README"),
            Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. }
            | Request::Lhlo { .. } => {
                self.errors += 1;
                Reply::new(502, [5, 5, 1], "Command not implemented")
            }
        };
        (reply, None)
    }

    fn ehlo(&self) -> Reply {
        let mut lines = vec![
            self.hostname().to_string(),
            "PIPELINING".into(),
            format!("SIZE {}", self.shared.settings.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "CHUNKING".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        match self.tls {
            true if !self.authenticated => lines.push("AUTH PLAIN".into()),
            true => {}
            false => lines.push("STARTTLS".into()),
        }
        Reply::lines(250, lines)
    }

    /// Why the client may not start a transaction, if it may not.
    fn refusal(&self) -> Option<Reply> {
        if !self.helo {
            return Some(Reply::new(503, [5, 5, 1], "Say EHLO first"));
        }
        let plaintext_ok = self.allowed && self.shared.settings.plaintext_from_allowed;
        if !(self.tls || plaintext_ok) {
            return Some(Reply::new(
                530,
                [5, 7, 0],
                "Must issue a STARTTLS command first",
            ));
        }
        if !self.allowed && !self.authenticated {
            return Some(Reply::new(530, [5, 7, 0], "Authentication required"));
        }
        None
    }

    /// SMTPUTF8 and 8BITMIME need nothing more: addresses are taken as
    /// UTF-8, and the data as the bytes it is.
    fn mail(&mut self, from: String, size: usize) -> Reply {
        if let Some(refusal) = self.refusal() {
            self.errors += 1;
            return refusal;
        }
        if self.transaction.is_some() {
            self.errors += 1;
            return Reply::new(503, [5, 5, 1], "A transaction is under way; RSET first");
        }
        if size > self.shared.settings.max_message_size {
            return Reply::new(552, [5, 3, 4], "The message is larger than SIZE allows");
        }
        self.transaction = Some(Transaction {
            from: from.to_lowercase(),
            recipients: Vec::new(),
            body: Vec::new(),
            too_big: false,
        });
        Reply::new(250, [2, 1, 0], "Sender OK")
    }

    fn rcpt(&mut self, to: String) -> Reply {
        let max = self.shared.settings.max_recipients;
        let Some(transaction) = &mut self.transaction else {
            self.errors += 1;
            return Reply::new(503, [5, 5, 1], "MAIL first");
        };
        if transaction.recipients.len() >= max {
            return Reply::new(452, [4, 5, 3], "Too many recipients");
        }
        transaction.recipients.push(to.to_lowercase());
        Reply::new(250, [2, 1, 5], "Recipient OK")
    }

    fn data(&mut self) -> Reply {
        match &self.transaction {
            Some(t) if !t.recipients.is_empty() && t.body.is_empty() && !t.too_big => {
                self.phase = Phase::Data(DataReceiver::new());
                Reply::new(354, [0, 0, 0], "Send the message, end with <CRLF>.<CRLF>")
            }
            Some(t) if !t.recipients.is_empty() => {
                self.errors += 1;
                Reply::new(503, [5, 5, 1], "BDAT and DATA do not mix")
            }
            _ => {
                self.errors += 1;
                Reply::new(503, [5, 5, 1], "RCPT first")
            }
        }
    }

    fn bdat(&mut self, size: usize, last: bool) -> Reply {
        match &self.transaction {
            Some(t) if !t.recipients.is_empty() => {
                self.phase = Phase::Bdat(BdatReceiver::new(size, last));
                // Answered when the chunk is in (`take_pending`).
                Reply::none()
            }
            _ => {
                // The chunk still comes and is dropped.
                self.errors += 1;
                self.transaction = Some(Transaction {
                    from: String::new(),
                    recipients: Vec::new(),
                    body: Vec::new(),
                    too_big: true,
                });
                self.phase = Phase::Bdat(BdatReceiver::new(size, true));
                Reply::none()
            }
        }
    }

    /// The end of the data: files the message, then answers.
    async fn deliver(&mut self) -> Reply {
        self.phase = Phase::Command;
        let Some(transaction) = self.transaction.take() else {
            return Reply::new(503, [5, 5, 1], "No transaction");
        };
        if transaction.recipients.is_empty() {
            self.errors += 1;
            return Reply::new(503, [5, 5, 1], "RCPT first");
        }
        if transaction.too_big {
            return Reply::new(552, [5, 3, 4], "The message is larger than SIZE allows");
        }
        let envelope = Envelope {
            from: transaction.from,
            recipients: transaction.recipients,
        };
        let body = transaction.body;
        self.sync_directory_if_unknown(&body, &envelope).await;
        let shared = self.shared.clone();
        let ip = self.peer.ip();
        let filed = tokio::task::spawn_blocking(move || {
            shared
                .archives
                .journal(&body, &envelope, &shared.routing, Some(ip))
        })
        .await;
        match filed {
            Ok(Ok(Journaled::Filed { targets, again })) => {
                tracing::info!(peer = %self.peer, places = targets.len(), again, "journaled a message");
                Reply::new(
                    250,
                    [2, 0, 0],
                    format!("Archived in {} place(s)", targets.len()),
                )
            }
            Ok(Ok(Journaled::NoArchive)) => {
                tracing::warn!(peer = %self.peer, "journaled message refused: no user has its addresses and there is no catch-all archive");
                Reply::new(
                    550,
                    [5, 1, 1],
                    "No archive for these addresses and no catch-all archive",
                )
            }
            Ok(Err(e)) => {
                tracing::error!(peer = %self.peer, error = %e, "journaling a message failed");
                Reply::new(
                    451,
                    [4, 3, 0],
                    "The message could not be archived now; try again later",
                )
            }
            Err(panic) => {
                tracing::error!(peer = %self.peer, error = %panic, "journaling a message panicked");
                Reply::new(
                    451,
                    [4, 3, 0],
                    "The message could not be archived now; try again later",
                )
            }
        }
    }

    /// With `sync_directory_before_routing`: when the message names an
    /// address nobody has, the users are synchronised with the directory
    /// first, unless that was done within the interval. A failed sync is
    /// logged; the message is routed all the same.
    async fn sync_directory_if_unknown(&self, body: &[u8], envelope: &Envelope) {
        let Some(every) = self.shared.settings.directory_sync else {
            return;
        };
        let Some(directory) = self.shared.auth.directory() else {
            return;
        };
        let unknown = {
            let (shared, body, envelope) = (self.shared.clone(), body.to_vec(), envelope.clone());
            tokio::task::spawn_blocking(move || {
                shared
                    .archives
                    .unknown_addresses(&body, &envelope, &shared.routing)
            })
            .await
        };
        let unknown = match unknown {
            Ok(Ok(unknown)) => unknown,
            _ => return,
        };
        if unknown.is_empty() {
            return;
        }
        // One sync at a time; the others wait for it and then route.
        let mut last = self.shared.last_directory_sync.lock().await;
        if last.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        *last = Some(tokio::time::Instant::now());
        tracing::info!(peer = %self.peer, unknown = unknown.join(", "), "synchronising users with the directory before routing");
        if let Err(e) =
            crate::directory::sync_users(self.shared.archives.clone(), &directory, false).await
        {
            tracing::warn!(error = %e, "the directory sync before routing failed; routing with the users as they are");
        }
    }

    async fn auth(&mut self, mechanism: u64, initial: String) -> Reply {
        if !self.tls {
            self.errors += 1;
            return Reply::new(538, [5, 7, 11], "Encryption required: STARTTLS first");
        }
        if self.authenticated || self.transaction.is_some() {
            self.errors += 1;
            return Reply::new(503, [5, 5, 1], "Not now");
        }
        if mechanism != AUTH_PLAIN {
            self.errors += 1;
            return Reply::new(504, [5, 5, 4], "Only AUTH PLAIN is offered");
        }
        match initial.is_empty() {
            true => {
                self.phase = Phase::AuthResponse;
                Reply::new(334, [0, 0, 0], "")
            }
            false => self.auth_plain(initial.as_bytes()).await,
        }
    }

    /// Checks an AUTH PLAIN response: `[authzid] NUL user NUL password`,
    /// base64 (`=` for empty, `*` cancels).
    async fn auth_plain(&mut self, response: &[u8]) -> Reply {
        if response == b"*" {
            return Reply::new(501, [5, 0, 0], "Authentication cancelled");
        }
        let decoded = match response {
            b"=" => Vec::new(),
            _ => match STANDARD.decode(response) {
                Ok(decoded) => decoded,
                Err(_) => {
                    self.errors += 1;
                    return Reply::new(501, [5, 5, 2], "Not base64");
                }
            },
        };
        let mut parts = decoded.split(|&b| b == 0);
        let (Some(authz), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            self.errors += 1;
            return Reply::new(501, [5, 5, 2], "Malformed PLAIN response");
        };
        let (Ok(authz), Ok(user), Ok(password)) = (
            std::str::from_utf8(authz),
            std::str::from_utf8(user),
            std::str::from_utf8(password),
        ) else {
            self.errors += 1;
            return Reply::new(535, [5, 7, 8], "Authentication failed");
        };
        if !authz.is_empty() && !authz.eq_ignore_ascii_case(user) {
            self.errors += 1;
            return Reply::new(535, [5, 7, 8], "Authentication failed");
        }
        let checked = self
            .shared
            .auth
            .login(Service::Smtp, self.peer.ip(), user, password)
            .await;
        match checked {
            Ok(user)
                if GlobalPrivileges::from_bits(user.privileges).has(GlobalPrivileges::ARCHIVE) =>
            {
                self.authenticated = true;
                Reply::new(235, [2, 7, 0], "Authenticated")
            }
            Ok(_) | Err(LoginError::Failed) => {
                self.errors += 1;
                Reply::new(535, [5, 7, 8], "Authentication failed")
            }
            Err(LoginError::Unavailable) => Reply::new(
                454,
                [4, 7, 0],
                "Authentication is unavailable now; try again later",
            ),
        }
    }
}

/// Keeps a transaction's data within the size limit: beyond it the data
/// is dropped as it comes (and the message refused at its end).
fn bound(transaction: &mut Transaction, max: usize) {
    if transaction.body.len() > max {
        transaction.too_big = true;
    }
    if transaction.too_big {
        transaction.body.clear();
    }
}

/// What the pending bytes held, and how many are left.
struct Parsed {
    what: Step,
    left: usize,
}

enum Step {
    More,
    Command(Request<String>),
    Unparsed(Reply),
    /// The end of a line too long, dropped.
    Skipped,
    DataDone,
    ChunkDone {
        last: bool,
    },
    AuthLine(String),
}
