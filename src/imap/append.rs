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
use super::response::send;
use super::store::flag_bits;
use super::updates::Moment;
use crate::store::FlagState;

pub async fn append<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    mailbox: &Mailbox<'_>,
    flags: &[Flag<'_>],
    date: Option<&DateTime>,
    message: &LiteralOrLiteral8<'_>,
) -> std::io::Result<()> {
    let bytes = match message {
        LiteralOrLiteral8::Literal(literal) => literal.data(),
        LiteralOrLiteral8::Literal8(literal) => literal.data.as_ref(),
    };
    let Some((bits, keywords)) = flag_bits(flags) else {
        return send(
            stream,
            &format!("{tag} BAD This system flag cannot be set\r\n"),
        )
        .await;
    };
    if bytes.len() as u64 > session.shared.limits.max_message_size {
        return send(
            stream,
            &format!("{tag} NO [LIMIT] The message is larger than this server accepts\r\n"),
        )
        .await;
    }
    let Some(view) = session.answered_view(stream, tag).await? else {
        return Ok(());
    };
    let Some(folder) = mailbox_name(mailbox)
        .and_then(|name| view.resolve(&name))
        .filter(|m| m.selectable)
        .and_then(|m| m.folder.clone())
    else {
        return send(stream, &format!("{tag} NO [TRYCREATE] No such mailbox\r\n")).await;
    };
    let user = session.user().expect("authenticated").clone();
    let ip = session.peer.ip();
    let folder_id = folder.id;
    let archives = session.shared.archives.clone();
    let (bytes, date) = (bytes.to_vec(), date.map(|d| d.as_ref().timestamp()));
    let flags = FlagState { bits, keywords };
    // Hashing, compressing and the synced write are blocking work.
    let appended = tokio::task::spawn_blocking(move || {
        let caller = crate::archive::Caller::new(&user, Some(ip));
        archives.append(caller, &folder, &bytes, &flags, date)
    })
    .await
    .map_err(std::io::Error::other)?;
    match appended {
        Ok((uidvalidity, uid)) => {
            session
                .report_added(stream, folder_id, Moment::Command)
                .await?;
            send(
                stream,
                &format!("{tag} OK [APPENDUID {uidvalidity} {uid}] APPEND completed\r\n"),
            )
            .await
        }
        Err(e) => session.refuse(stream, tag, e).await,
    }
}
