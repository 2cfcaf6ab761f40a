//! SORT and UID SORT (RFC 5256) with SORT=DISPLAY (RFC 5957): the messages
//! a search finds, ordered by the keys asked for (REVERSE turning one
//! round), ties by sequence number, as Dovecot orders them. The keys come
//! from the stored header blocks (once: [`cache`]) and the snapshot's
//! details: no message is read.

pub mod cache;
mod date;
pub mod keys;
pub mod subject;
mod words;

use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::extensions::sort::SortCriterion;
use imap_codec::imap_types::search::SearchKey;

use super::esearch::{ReturnOption, Rewritten};
use super::reply::{Code, Handled, Reply};
use super::{Session, Shared};
use super::{live, search};
use crate::archive::{Archives, MailboxMessage, MailboxView};
use crate::mime;
use cache::{ContentKey, KeyCache};
use keys::{Part, Value};
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
    let returns = extension.returns.clone();
    let has = |o: ReturnOption| returns.as_ref().is_some_and(|r| r.contains(&o));
    if has(ReturnOption::Relevancy) {
        return Ok(Reply::bad("RELEVANCY needs a FUZZY search key"));
    }
    let Some(decode) = search::decoder(Some(charset)) else {
        return Ok(search::unknown_charset());
    };
    let selected = session.selected_or_bad()?;
    let updating = has(ReturnOption::Update);
    if updating && let Some(refused) = live::tag_in_use(selected, tag) {
        return Ok(refused);
    }
    let (view, saved) = (selected.view.clone(), selected.saved.clone());
    // SORT with a MODSEQ key turns CONDSTORE on (RFC 7162 3.1).
    let enabled = match keys.iter().any(search::names_modseq) {
        true => session.condstore_enabling(),
        false => String::new(),
    };
    let shared = session.shared.clone();
    let sorted_view = view.clone();
    let live = updating.then(|| (keys.clone(), criteria.clone()));
    let sorted = tokio::task::spawn_blocking(move || {
        let searched = search::Searched {
            view: &sorted_view,
            saved: &saved,
        };
        sorted(&shared, &searched, &criteria, &keys, decode, uid)
    })
    .await;
    let sorted = match sorted {
        Ok(sorted) => sorted,
        Err(panic) => {
            return Ok(Reply::failed(
                Code::ServerBug,
                "The sort failed; the error is logged",
                &format_args!("sort panicked: {panic}"),
            ));
        }
    };
    if has(ReturnOption::Save)
        && let Some(selected) = session.selected_mut()
    {
        // As SEARCH saves (RFC 5182 2.1): nothing when it fails, MIN and
        // MAX being the first and last in the order asked for.
        selected.saved = match &sorted {
            Ok((numbers, _)) => {
                search::saved_uids(numbers, returns.as_deref().unwrap_or_default(), uid, &view)
            }
            Err(_) => Vec::new(),
        };
    }
    let (numbers, modseq) = sorted?;
    let mut refused = String::new();
    if let (Some((keys, criteria)), Some(selected)) = (live, session.selected_mut()) {
        let kept = live::Live {
            tag: tag.to_string(),
            uid,
            keys,
            decode,
            extension,
            order: Some(criteria),
            matched: search::as_uids(&numbers, uid, &view),
        };
        refused = live::keep(selected, kept);
    }
    let line = match returns {
        Some(returns) => search::esearch_line(tag, uid, &returns, numbers, modseq),
        None => search::numbers_line("SORT", &numbers, modseq),
    };
    Ok(Reply::completed(verb).after(enabled + &line + &refused))
}

/// The found messages' numbers (UIDs with `uid`) in sorted order, and with
/// a MODSEQ key the highest mod-sequence among them.
pub(super) fn sorted(
    shared: &Shared,
    searched: &search::Searched,
    criteria: &[SortCriterion],
    keys: &[SearchKey<'static>],
    decode: search::Decode,
    uid: bool,
) -> crate::error::Result<(Vec<u32>, Option<u64>)> {
    let archives = &shared.archives;
    let (found, modseq) = search::matching(archives, searched, keys, decode, &shared.limits)?;
    let messages = found_messages(archives, searched.view, &found)?;
    let cache = &shared.sort_keys;
    let snapshot = searched.view.snapshot();
    let kept: Vec<_> = criteria
        .iter()
        .map(|c| cache.ranks(snapshot, &c.key))
        .collect();
    let wanted = Wanted::sorting(
        criteria
            .iter()
            .zip(&kept)
            .filter(|(_, kept)| kept.is_none())
            .map(|(c, _)| c.key.clone()),
    );
    let fields = sort_fields(archives, cache, &messages, wanted)?;
    // `found` is in sequence order: all of them are the snapshot's messages.
    let whole = found.len() == snapshot.len();
    let positions: Vec<Vec<u64>> = criteria
        .iter()
        .zip(kept)
        .map(|(criterion, kept)| {
            let positions = match kept {
                Some(ranks) => found.iter().map(|&seq| ranks[seq as usize - 1]).collect(),
                None => {
                    let positions = keys::positions(&fields, &criterion.key);
                    if whole && keys::is_text(&criterion.key) {
                        cache.keep_ranks(snapshot, &criterion.key, positions.as_slice().into());
                    }
                    positions
                }
            };
            match criterion.reverse {
                true => positions.into_iter().map(|p| !p).collect(),
                false => positions,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        positions
            .iter()
            .map(|p| p[a].cmp(&p[b]))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.cmp(&b))
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

/// The `wanted` sort keys of `messages`: those `cache` keeps, the others
/// made from the messages' stored header blocks (and kept).
pub fn sort_fields(
    archives: &Archives,
    cache: &KeyCache,
    messages: &[MailboxMessage],
    wanted: Wanted,
) -> crate::error::Result<Vec<SortFields>> {
    // A search finds only messages whose details were read.
    let detailed: Vec<&MailboxMessage> = messages.iter().filter(|m| m.detail.is_some()).collect();
    let contents: Vec<ContentKey> = detailed
        .iter()
        .filter_map(|m| Some(ContentKey::of(&m.detail.as_ref()?.content)))
        .collect();
    let parts: Vec<Part> = wanted.parts().collect();
    // values[p][k]: part p of the k-th detailed message.
    let mut values: Vec<Vec<Option<Value>>> = parts
        .iter()
        .map(|&part| cache.get(&contents, part))
        .collect();
    let missing: Vec<usize> = (0..contents.len())
        .filter(|&k| values.iter().any(|v| v[k].is_none()))
        .collect();
    let mut made = Vec::new();
    for batch in missing.chunks(HEADER_BATCH) {
        let headers =
            archives.message_headers(&batch.iter().map(|&k| detailed[k]).collect::<Vec<_>>())?;
        for &k in batch {
            let id = detailed[k].detail.as_ref().map(|d| d.content.id());
            let header = id
                .and_then(|id| headers.get(&id))
                .map_or(&[][..], Vec::as_slice);
            let fields = mime::first_fields(header);
            for (part, values) in parts.iter().zip(&mut values) {
                if values[k].is_none() {
                    let value = part.of(&fields);
                    made.push((contents[k], *part, value.clone()));
                    values[k] = Some(value);
                }
            }
        }
    }
    cache.put(made);
    let mut values: Vec<_> = values.into_iter().map(Vec::into_iter).collect();
    Ok(messages
        .iter()
        .map(|message| match &message.detail {
            None => SortFields::default(),
            Some(detail) => SortFields::of(
                detail,
                parts
                    .iter()
                    .zip(&mut values)
                    .filter_map(|(&part, values)| Some((part, values.next()??))),
            ),
        })
        .collect())
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
        assert_eq!(
            search::numbers_line("SORT", &[3, 1], Some(9)),
            "* SORT 3 1 (MODSEQ 9)\r\n"
        );
    }
}
