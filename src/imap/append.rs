//! APPEND: archiving a message into a folder the user may write to (for
//! instance one dragged in from an ordinary mailbox), with UIDPLUS's
//! APPENDUID. Bytes already archived are stored once.

use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox;
use tokio::io::AsyncWrite;

use super::Session;
use super::mailboxes::mailbox_name;
use super::reply::{Code, Handled, Reply};
use super::store::flag_bits;
use super::updates::Moment;
use crate::archive::flags::FlagState;

pub async fn append<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    mailbox: &Mailbox<'_>,
    flags: &[Flag<'_>],
    date: Option<&DateTime>,
    message: &LiteralOrLiteral8<'_>,
) -> Handled {
    let bytes = match message {
        LiteralOrLiteral8::Literal(literal) => literal.data(),
        LiteralOrLiteral8::Literal8(literal) => literal.data.as_ref(),
    };
    let Some((bits, keywords)) = flag_bits(flags) else {
        return Ok(Reply::bad("This system flag cannot be set"));
    };
    if bytes.len() as u64 > session.shared.limits.max_message_size {
        return Ok(Reply::no(
            Code::Limit,
            "The message is larger than this server accepts",
        ));
    }
    let view = session.view()?;
    let folder = mailbox_name(mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable)
        .and_then(|m| m.folder.clone())
        .ok_or_else(Reply::try_create)?;
    let user = session.user().expect("authenticated").clone();
    let ip = session.peer.ip();
    let folder_id = folder.id;
    let archives = session.shared.archives.clone();
    let (bytes, date) = (bytes.to_vec(), date.map(|d| d.as_ref().timestamp()));
    let flags = FlagState { bits, keywords };
    // Hashing, compressing and the synced write are blocking work.
    let (uidvalidity, uid) = tokio::task::spawn_blocking(move || {
        let caller = crate::archive::Caller::new(&user, Some(ip));
        archives.append(caller, &folder, &bytes, &flags, date)
    })
    .await
    .map_err(std::io::Error::other)??;
    session
        .report_added(stream, folder_id, Moment::Command)
        .await?;
    Ok(Reply::completed("APPEND").with_code(Code::AppendUid { uidvalidity, uid }))
}
