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
use super::esearch::{ReturnOption, Rewritten};
use super::reply::{Code, Handled, Reply};
use super::search;
use crate::archive::{Archives, MailboxMessage, MailboxView};
use crate::config::Limits;
pub use keys::{SortFields, Wanted};

/// Messages whose header blocks are read in one go.
const HEADER_BATCH: usize = 512;

/// A SORT or UID SORT as the client sent it.
pub struct SortRequest<'a> {
    pub tag: &'a str,
    pub criteria: Vec<SortCriterion>,
    pub charset: &'a Charset<'a>,
    pub keys: Vec<SearchKey<'static>>,
    pub uid: bool,
    /// ESORT's `RETURN (...)` (RFC 5267), taken out by the rewriter.
    pub extension: Rewritten,
}

pub async fn sort(session: &mut Session, request: SortRequest<'_>) -> Handled {
    let SortRequest {
        tag,
        criteria,
        charset,
        keys,
        uid,
        extension,
    } = request;
    let verb = if uid { "UID SORT" } else { "SORT" };
    let returns = extension.returns;
    if returns
        .as_ref()
        .is_some_and(|r| r.contains(&ReturnOption::Relevancy))
    {
        return Ok(Reply::bad("RELEVANCY needs a FUZZY search key"));
    }
    let context = |o: &ReturnOption| {
        matches!(
            o,
            ReturnOption::Update | ReturnOption::Context | ReturnOption::Partial(..)
        )
    };
    if returns.as_ref().is_some_and(|r| r.iter().any(context)) {
        return Ok(Reply::bad(
            "UPDATE, CONTEXT and PARTIAL are for SEARCH here (no CONTEXT=SORT)",
        ));
    }
    let Some(decode) = search::decoder(Some(charset)) else {
        return Ok(search::unknown_charset());
    };
    let selected = session.selected_or_bad()?;
    let (view, saved) = (selected.view.clone(), selected.saved.clone());
    // SORT with a MODSEQ key turns CONDSTORE on (RFC 7162 3.1).
    let enabled = match keys.iter().any(search::names_modseq) {
        true => session.condstore_enabling(),
        false => String::new(),
    };
    let archives = session.shared.archives.clone();
    let limits = session.shared.limits.clone();
    let sorted = tokio::task::spawn_blocking(move || {
        let searched = search::Searched {
            view: &view,
            saved: &saved,
        };
        sorted(&archives, &searched, &criteria, &keys, decode, uid, &limits)
    })
    .await;
    match sorted {
        Ok(sorted) => {
            let (numbers, modseq) = sorted?;
            let line = match returns {
                Some(returns) => search::esearch_line(tag, uid, &returns, numbers, modseq),
                None => sort_line(&numbers, modseq),
            };
            Ok(Reply::completed(verb).after(enabled + &line))
        }
        Err(panic) => Ok(Reply::failed(
            Code::ServerBug,
            "The sort failed; the error is logged",
            &format_args!("sort panicked: {panic}"),
        )),
    }
}

/// `* SORT n n n [(MODSEQ m)]`.
fn sort_line(numbers: &[u32], modseq: Option<u64>) -> String {
    let mut line = String::with_capacity(8 + 7 * numbers.len());
    line.push_str("* SORT");
    for n in numbers {
        line.push_str(&format!(" {n}"));
    }
    if let Some(modseq) = modseq {
        line.push_str(&format!(" (MODSEQ {modseq})"));
    }
    line + "\r\n"
}

/// The found messages' numbers (UIDs with `uid`) in sorted order, and with
/// a MODSEQ key the highest mod-sequence among them.
fn sorted(
    archives: &Archives,
    searched: &search::Searched,
    criteria: &[SortCriterion],
    keys: &[SearchKey<'static>],
    decode: search::Decode,
    uid: bool,
    limits: &Limits,
) -> crate::error::Result<(Vec<u32>, Option<u64>)> {
    let (found, modseq) = search::matching(archives, searched, keys, decode, limits)?;
    let messages = found_messages(archives, searched.view, &found)?;
    let wanted = Wanted::sorting(criteria.iter().map(|c| c.key.clone()));
    let fields = sort_fields(archives, &messages, wanted)?;
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

/// The `wanted` sort keys of `messages`, from their stored header blocks.
pub fn sort_fields(
    archives: &Archives,
    messages: &[MailboxMessage],
    wanted: Wanted,
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
            fields.push(SortFields::of(header, detail, wanted));
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esort_keeps_the_sort_order() {
        let all = [
            ReturnOption::Min,
            ReturnOption::Max,
            ReturnOption::Count,
            ReturnOption::All,
        ];
        assert_eq!(
            search::esearch_line("a", false, &all, vec![5, 6, 7, 1, 3, 2], None),
            "* ESEARCH (TAG \"a\") MIN 5 MAX 2 COUNT 6 ALL 5:7,1,3,2\r\n"
        );
        assert_eq!(
            search::esearch_line("b", true, &[], vec![], None),
            "* ESEARCH (TAG \"b\") UID\r\n"
        );
        assert_eq!(sort_line(&[3, 1], Some(9)), "* SORT 3 1 (MODSEQ 9)\r\n");
    }
}
