//! FETCH and UID FETCH. Message bodies are streamed from the store in
//! chunks, never held whole in memory.

use std::io::Read;
use std::sync::Arc;

use chrono::DateTime;
use imap_codec::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName};
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::Session;
use super::response::send;
use super::wire::serve_chunk;
use crate::archive::{Archives, MailboxMessage, flags};
use crate::store::BlobRecord;

const CHUNK: usize = 64 * 1024;

/// A FETCH item archimap answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Uid,
    Flags,
    InternalDate,
    Size,
    /// BODY[] / BODY.PEEK[] / RFC822, with an optional <start.count>.
    Full {
        peek: bool,
        rfc822: bool,
        partial: Option<(u32, u32)>,
    },
}

fn items_of(names: &MacroOrMessageDataItemNames<'_>) -> Option<Vec<Item>> {
    let names = match names {
        MacroOrMessageDataItemNames::Macro(m) => m.expand(),
        MacroOrMessageDataItemNames::MessageDataItemNames(names) => names.clone(),
    };
    names
        .iter()
        .map(|name| match name {
            MessageDataItemName::Uid => Some(Item::Uid),
            MessageDataItemName::Flags => Some(Item::Flags),
            MessageDataItemName::InternalDate => Some(Item::InternalDate),
            MessageDataItemName::Rfc822Size => Some(Item::Size),
            MessageDataItemName::Rfc822 => Some(Item::Full {
                peek: false,
                rfc822: true,
                partial: None,
            }),
            MessageDataItemName::BodyExt {
                section: None,
                partial,
                peek,
            } => Some(Item::Full {
                peek: *peek,
                rfc822: false,
                partial: partial.map(|(s, n)| (s, n.get())),
            }),
            _ => None,
        })
        .collect()
}

pub fn flag_list(bits: u32) -> String {
    let names = [
        (flags::ANSWERED, "\\Answered"),
        (flags::FLAGGED, "\\Flagged"),
        (flags::DELETED, "\\Deleted"),
        (flags::SEEN, "\\Seen"),
        (flags::DRAFT, "\\Draft"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    format!("({})", set.join(" "))
}

fn internal_date(seconds: i64) -> String {
    let date = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    format!("\"{}\"", date.format("%d-%b-%Y %H:%M:%S +0000"))
}

fn open(archives: &Archives, blob: &BlobRecord) -> std::io::Result<Box<dyn Read + Send>> {
    archives.open_message(blob).map_err(std::io::Error::other)
}

pub async fn fetch<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    sequence_set: &SequenceSet,
    names: &MacroOrMessageDataItemNames<'_>,
    uid: bool,
) -> std::io::Result<()> {
    let verb = if uid { "UID FETCH" } else { "FETCH" };
    let Some(mut items) = items_of(names) else {
        return send(
            stream,
            &format!("{tag} NO [CANNOT] A requested FETCH item is not supported yet\r\n"),
        )
        .await;
    };
    if uid && !items.contains(&Item::Uid) {
        items.insert(0, Item::Uid);
    }
    let Some(selected) = session.selected() else {
        return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await;
    };
    let read_only = selected.read_only;
    let positions = match selected.positions(sequence_set, uid) {
        Ok(positions) => positions,
        Err(reason) => return send(stream, &format!("{tag} BAD {reason}\r\n")).await,
    };
    let archives = session.shared.archives.clone();
    let user = session.user().expect("authenticated").clone();
    for position in positions {
        let Some(selected) = session.selected_mut() else {
            break;
        };
        let message = &mut selected.messages[position];
        // Reading the body sets \Seen, except with PEEK or read-only.
        let sets_seen = !read_only
            && message.flags & flags::SEEN == 0
            && items
                .iter()
                .any(|i| matches!(i, Item::Full { peek: false, .. }));
        if sets_seen {
            message.flags |= flags::SEEN;
            if let Some(folder) = &selected.folder
                && let Err(e) = archives.set_flags(&user, folder, message.uid, message.flags)
            {
                return session.storage_error(stream, tag, e).await;
            }
        }
        let message = message.clone();
        let mut items = items.clone();
        if sets_seen && !items.contains(&Item::Flags) {
            items.push(Item::Flags);
        }
        if let Err(e) = write_message(stream, &archives, position + 1, &message, &items).await {
            if e.kind() == std::io::ErrorKind::Other {
                // The store failed mid-response: the connection cannot go on.
                tracing::error!(error = %e, uid = message.uid, "reading a message failed");
                send(stream, "* BYE [UNAVAILABLE] The archive store failed\r\n").await?;
            }
            return Err(e);
        }
    }
    send(stream, &format!("{tag} OK {verb} completed\r\n")).await
}

async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    archives: &Arc<Archives>,
    seq: usize,
    message: &MailboxMessage,
    items: &[Item],
) -> std::io::Result<()> {
    let mut text = format!("* {seq} FETCH (");
    let len = message.blob.crlf_size;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        match *item {
            Item::Uid => text.push_str(&format!("UID {}", message.uid)),
            Item::Flags => text.push_str(&format!("FLAGS {}", flag_list(message.flags))),
            Item::InternalDate => text.push_str(&format!(
                "INTERNALDATE {}",
                internal_date(message.internal_date)
            )),
            Item::Size => text.push_str(&format!("RFC822.SIZE {len}")),
            Item::Full {
                rfc822, partial, ..
            } => {
                let (start, count) = match partial {
                    Some((start, count)) => (u64::from(start), u64::from(count)),
                    None => (0, len),
                };
                let end = (start + count).min(len);
                let start = start.min(len);
                let name = match (rfc822, partial) {
                    (true, _) => "RFC822".to_string(),
                    (false, Some((s, _))) => format!("BODY[]<{s}>"),
                    (false, None) => "BODY[]".to_string(),
                };
                text.push_str(&format!("{name} {{{}}}\r\n", end - start));
                stream.write_all(text.as_bytes()).await?;
                text.clear();
                stream_served(stream, archives, &message.blob, start, end).await?;
            }
        }
    }
    text.push_str(")\r\n");
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// Streams bytes `start..end` of the served form; a reader thread
/// decompresses ahead by a few chunks at most.
async fn stream_served<S: AsyncWrite + Unpin>(
    stream: &mut S,
    archives: &Arc<Archives>,
    blob: &BlobRecord,
    start: u64,
    end: u64,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let sha = hex::encode(blob.sha256);
    let (archives, blob) = (archives.clone(), blob.clone());
    tokio::task::spawn_blocking(move || {
        let run = || -> std::io::Result<()> {
            let mut reader = open(&archives, &blob)?;
            let mut raw = vec![0u8; CHUNK];
            let (mut at, mut previous) = (0u64, 0u8);
            loop {
                let n = reader.read(&mut raw)?;
                if n == 0 || at >= end {
                    return Ok(());
                }
                let mut served = Vec::with_capacity(n + n / 16);
                serve_chunk(&raw[..n], &mut previous, &mut served);
                let from = start.saturating_sub(at).min(served.len() as u64) as usize;
                let to = end.saturating_sub(at).min(served.len() as u64) as usize;
                at += served.len() as u64;
                if from < to && tx.blocking_send(Ok(served[from..to].to_vec())).is_err() {
                    return Ok(()); // the client went away
                }
            }
        };
        if let Err(e) = run() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let mut sent = 0u64;
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk?;
        sent += chunk.len() as u64;
        stream.write_all(&chunk).await?;
    }
    if sent != end - start {
        return Err(std::io::Error::other(format!(
            "message {sha}: {sent} bytes sent, {} announced",
            end - start
        )));
    }
    Ok(())
}
