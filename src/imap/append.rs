//! APPEND: archiving messages into a folder the user may write to (for
//! instance ones dragged in from an ordinary mailbox), with UIDPLUS's
//! APPENDUID; several at once, all or none (MULTIAPPEND, RFC 3502). Bytes
//! already archived are stored once.

use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox;
use tokio::io::AsyncWrite;

use super::Session;
use super::catenate;
use super::copy::uid_list;
use super::reply::{Code, Failure, Handled, Reply};
use super::store::flag_bits;
use super::updates::Moment;
use crate::archive::NewMessage;
use crate::archive::flags::FlagState;

/// One message of an APPEND, as the client sent it.
#[derive(Clone, Copy)]
pub struct Appended<'a> {
    pub flags: &'a [Flag<'a>],
    pub date: Option<&'a DateTime>,
    pub message: &'a LiteralOrLiteral8<'a>,
}

impl<'a> Appended<'a> {
    /// The message of an APPEND command (one of a MULTIAPPEND's).
    pub fn of(command: &'a Command<'a>) -> Option<(&'a Mailbox<'a>, Appended<'a>)> {
        match &command.body {
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => Some((
                mailbox,
                Appended {
                    flags,
                    date: date.as_ref(),
                    message,
                },
            )),
            _ => None,
        }
    }
}

pub async fn append<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    mailbox: &Mailbox<'_>,
    messages: &[Appended<'_>],
    catenate: Option<&[bool]>,
) -> Handled {
    let new = match catenate {
        Some(urls) => vec![catenated(session, messages, urls)?],
        None => messages
            .iter()
            .map(|m| new_message(session, m, literal_bytes(m.message).to_vec()))
            .collect::<Result<Vec<_>, Failure>>()?,
    };
    let view = session.view()?;
    let folder = session
        .names()
        .mailbox(mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable)
        .and_then(|m| m.folder.clone())
        .ok_or_else(Reply::try_create)?;
    let user = session.user().expect("authenticated").clone();
    let ip = session.peer.ip();
    let folder_id = folder.id;
    let archives = session.shared.archives.clone();
    // Hashing, compressing and the synced write are blocking work.
    let (uidvalidity, uids) = tokio::task::spawn_blocking(move || {
        let caller = crate::archive::Caller::new(&user, Some(ip));
        archives.append(caller, &folder, &new)
    })
    .await
    .map_err(std::io::Error::other)??;
    session
        .report_added(stream, folder_id, Moment::Command)
        .await?;
    let uids = uid_list(&uids);
    Ok(Reply::completed("APPEND").with_code(Code::AppendUid { uidvalidity, uids }))
}

/// The bytes of a message literal.
fn literal_bytes<'a>(message: &'a LiteralOrLiteral8<'_>) -> &'a [u8] {
    match message {
        LiteralOrLiteral8::Literal(literal) => literal.data(),
        LiteralOrLiteral8::Literal8(literal) => literal.data.as_ref(),
    }
}

/// A message to archive with the flags and date `appended` gives, or the
/// answer refusing it.
fn new_message(
    session: &Session,
    appended: &Appended<'_>,
    bytes: Vec<u8>,
) -> Result<NewMessage, Failure> {
    let Some((bits, keywords)) = flag_bits(appended.flags) else {
        return Err(Reply::bad("This system flag cannot be set").into());
    };
    // As Dovecot: an empty literal is no mail (and no import keeps one).
    if bytes.is_empty() {
        return Err(Reply::no(Code::Cannot, "An empty message cannot be archived").into());
    }
    if bytes.len() as u64 > session.shared.limits.max_message_size {
        let text = "The message is larger than this server accepts";
        return Err(Reply::no(Code::Limit, text).into());
    }
    Ok(NewMessage {
        bytes,
        flags: FlagState { bits, keywords },
        internal_date: appended.date.map(|d| d.as_ref().timestamp()),
    })
}

/// CATENATE's message (RFC 4469): its parts joined, each URL part (`urls`
/// says which) replaced by what it names, with the flags and date of the
/// first part, which carries them.
fn catenated(
    session: &Session,
    parts: &[Appended<'_>],
    urls: &[bool],
) -> Result<NewMessage, Failure> {
    let first = parts
        .first()
        .ok_or_else(|| Reply::bad("CATENATE needs a part"))?;
    let max = session.shared.limits.max_message_size;
    let mut bytes = Vec::new();
    for (part, &url) in parts.iter().zip(urls) {
        let data = literal_bytes(part.message);
        match url {
            true => bytes.extend_from_slice(&catenate::resolve(session, data)?),
            false => bytes.extend_from_slice(data),
        }
        if bytes.len() as u64 > max {
            let text = "The message is larger than this server accepts";
            return Err(Reply::no(Code::TooBig, text).into());
        }
    }
    new_message(session, first, bytes)
}
