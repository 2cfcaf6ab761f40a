//! SORT and UID SORT (RFC 5256) with SORT=DISPLAY (RFC 5957): the messages
//! a search finds, ordered by the keys asked for (REVERSE turning one
//! round), ties by sequence number, as Dovecot orders them. The keys come
//! from the stored header blocks and the snapshot's details: no message is
//! read.

mod date;
mod keys;
pub mod subject;
mod words;

use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::extensions::sort::SortCriterion;
use imap_codec::imap_types::search::SearchKey;

use super::Session;
use super::reply::{Code, Handled, Reply};
use super::search;
use crate::archive::{Archives, MailboxMessage, MailboxView};
use crate::config::Limits;
pub use keys::SortFields;

/// Messages whose header blocks are read in one go.
const HEADER_BATCH: usize = 512;

pub async fn sort(
    session: &mut Session,
    criteria: Vec<SortCriterion>,
    charset: &Charset<'_>,
    keys: Vec<SearchKey<'static>>,
    uid: bool,
) -> Handled {
    let verb = if uid { "UID SORT" } else { "SORT" };
    let Some(decode) = search::decoder(Some(charset)) else {
        return Ok(search::unknown_charset());
    };
    let view = session.selected_or_bad()?.view.clone();
    // SORT with a MODSEQ key turns CONDSTORE on (RFC 7162 3.1).
    let enabled = match keys.iter().any(search::names_modseq) {
        true => session.condstore_enabling(),
        false => String::new(),
    };
    let archives = session.shared.archives.clone();
    let limits = session.shared.limits.clone();
    let sorted = tokio::task::spawn_blocking(move || {
        sorted(&archives, &view, &criteria, &keys, decode, uid, &limits)
    })
    .await;
    match sorted {
        Ok(sorted) => {
            let (numbers, modseq) = sorted?;
            let mut line = String::with_capacity(8 + 7 * numbers.len());
            line.push_str("* SORT");
            for n in numbers {
                line.push_str(&format!(" {n}"));
            }
            if let Some(modseq) = modseq {
                line.push_str(&format!(" (MODSEQ {modseq})"));
            }
            line.push_str("\r\n");
            Ok(Reply::completed(verb).after(enabled + &line))
        }
        Err(panic) => Ok(Reply::failed(
            Code::ServerBug,
            "The sort failed; the error is logged",
            &format_args!("sort panicked: {panic}"),
        )),
    }
}

/// The found messages' numbers (UIDs with `uid`) in sorted order, and with
/// a MODSEQ key the highest mod-sequence among them.
fn sorted(
    archives: &Archives,
    view: &MailboxView,
    criteria: &[SortCriterion],
    keys: &[SearchKey<'static>],
    decode: search::Decode,
    uid: bool,
    limits: &Limits,
) -> crate::error::Result<(Vec<u32>, Option<u64>)> {
    let (found, modseq) = search::matching(archives, view, keys, decode, limits)?;
    let messages = found_messages(archives, view, &found)?;
    let fields = sort_fields(archives, &messages)?;
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| {
        for criterion in criteria {
            let ordering = fields[a].compare(&fields[b], &criterion.key);
            let ordering = match criterion.reverse {
                true => ordering.reverse(),
                false => ordering,
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        // `found` is in sequence order.
        a.cmp(&b)
    });
    let numbers = order
        .into_iter()
        .map(|i| if uid { messages[i].uid } else { found[i] })
        .collect();
    Ok((numbers, modseq))
}

/// The messages with sequence numbers `found`, with their details.
pub fn found_messages(
    archives: &Archives,
    view: &MailboxView,
    found: &[u32],
) -> crate::error::Result<Vec<MailboxMessage>> {
    let details = archives.snapshot_details(view.snapshot())?;
    Ok(found
        .iter()
        .map(|&seq| view.message(seq as usize - 1, Some(&details)))
        .collect())
}

/// The sort keys of `messages`, from their stored header blocks.
pub fn sort_fields(
    archives: &Archives,
    messages: &[MailboxMessage],
) -> crate::error::Result<Vec<SortFields>> {
    let mut fields = Vec::with_capacity(messages.len());
    for batch in messages.chunks(HEADER_BATCH) {
        let headers = archives.message_headers(&batch.iter().collect::<Vec<_>>())?;
        for message in batch {
            // A search finds only messages whose details were read.
            let Some(detail) = &message.detail else {
                fields.push(SortFields::default());
                continue;
            };
            let header = headers
                .get(&detail.content.id())
                .map_or(&[][..], Vec::as_slice);
            fields.push(SortFields::of(header, detail));
        }
    }
    Ok(fields)
}
