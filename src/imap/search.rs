//! SEARCH and UID SEARCH with every RFC 3501 key, ESEARCH's RETURN options
//! (RFC 4731) and FUZZY with RELEVANCY (RFC 6203).
//!
//! Text keys (FROM, TO, CC, BCC, SUBJECT, HEADER, BODY, TEXT) are answered
//! by the full-text index of each store (`Archives::search_text`), within
//! the selected mailbox's messages only; the few messages the index does
//! not cover yet are read and checked here by the same rules. SENT* keys
//! read the indexed Date. Every other key is evaluated per message from
//! the mailbox state. Dates compare as UTC days (INTERNALDATE) or as the
//! day written in the Date header (SENT*).

use std::cell::OnceCell;
use std::time::{Duration, Instant};

use super::esearch::{ReturnOption, Rewritten};
use super::numbers::NumberSet;
use super::reply::{Code, Handled, Reply};
use super::{Session, live};
use crate::archive::{
    Archives, IndexDoc, MailboxMessage, MailboxView, MessageDetail, TextKey, TextQuery, TextSearch,
    flags,
};
use crate::config::Limits;
use crate::error::Error;
use chrono::{DateTime, NaiveDate};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;
use mail_parser::decoders::charsets::map::charset_decoder;

/// The charsets BADCHARSET names (others mail-parser knows work too).
const CHARSETS: &str = "UTF-8 US-ASCII ISO-8859-1 ISO-8859-2 ISO-8859-3 ISO-8859-4 ISO-8859-5 \
    ISO-8859-6 ISO-8859-7 ISO-8859-8 ISO-8859-9 ISO-8859-10 ISO-8859-11 ISO-8859-13 ISO-8859-14 \
    ISO-8859-15 WINDOWS-1250 WINDOWS-1251 WINDOWS-1252 WINDOWS-1253 WINDOWS-1254 WINDOWS-1255 \
    WINDOWS-1256 WINDOWS-1257 WINDOWS-1258 KOI8-R KOI8-U SHIFT_JIS EUC-JP ISO-2022-JP GB2312 \
    GBK GB18030 BIG5 EUC-KR";

/// Turns the search strings of a command into text.
pub(super) type Decode = fn(&[u8]) -> String;

fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The decoder of a SEARCH's CHARSET; `None` for an unknown charset.
pub(super) fn decoder(charset: Option<&Charset>) -> Option<Decode> {
    let name = match charset {
        None => return Some(utf8),
        Some(Charset::Atom(atom)) => atom.inner().as_bytes(),
        Some(Charset::Quoted(quoted)) => quoted.inner().as_bytes(),
    };
    if name.eq_ignore_ascii_case(b"UTF-8") || name.eq_ignore_ascii_case(b"US-ASCII") {
        return Some(utf8);
    }
    charset_decoder(name)
}

/// A search key with its text keys numbered (their index queries are run
/// once for the whole mailbox).
enum Criterion<'a> {
    Key(&'a SearchKey<'static>),
    Text(usize),
    /// A sequence set (`uid` false) or UID set, as ranges.
    Numbers {
        set: NumberSet,
        uid: bool,
    },
    And(Vec<Criterion<'a>>),
    Or(Box<Criterion<'a>>, Box<Criterion<'a>>),
    Not(Box<Criterion<'a>>),
}

/// Builds criteria, collecting the text queries.
struct Planner<'e> {
    decode: Decode,
    /// Order numbers of the NOT keys that stand for FUZZY.
    fuzzy: &'e [usize],
    nots: usize,
    /// Search keys planned, at every depth.
    keys: usize,
    queries: Vec<TextQuery>,
    sent: bool,
    /// A MODSEQ key (RFC 7162 3.1.5): the answer tells the highest
    /// mod-sequence of the messages found.
    modseq: bool,
    /// What `*` stands for in sequence sets and UID sets.
    count: u32,
    largest_uid: u32,
    /// The UIDs `$` stands for (RFC 5182).
    saved: &'e [u32],
}

impl Planner<'_> {
    fn plan<'a>(&mut self, key: &'a SearchKey<'static>, fuzzy: bool) -> Criterion<'a> {
        self.keys += 1;
        let mut text = |k: TextKey, needle: &[u8]| {
            self.queries
                .push(TextQuery::new(k, &(self.decode)(needle), fuzzy));
            Criterion::Text(self.queries.len() - 1)
        };
        let header = |name: &str| TextKey::Header(name.to_string());
        match key {
            SearchKey::From(s) => text(header("from"), s.as_ref()),
            SearchKey::To(s) => text(header("to"), s.as_ref()),
            SearchKey::Cc(s) => text(header("cc"), s.as_ref()),
            SearchKey::Bcc(s) => text(header("bcc"), s.as_ref()),
            SearchKey::Subject(s) => text(header("subject"), s.as_ref()),
            SearchKey::Header(name, value) => {
                let name = String::from_utf8_lossy(name.as_ref()).to_ascii_lowercase();
                text(TextKey::Header(name), value.as_ref())
            }
            SearchKey::Body(s) => text(TextKey::Body, s.as_ref()),
            SearchKey::Text(s) => text(TextKey::Text, s.as_ref()),
            SearchKey::And(keys) => {
                Criterion::And(keys.as_ref().iter().map(|k| self.plan(k, fuzzy)).collect())
            }
            SearchKey::Or(a, b) => {
                let a = self.plan(a, fuzzy);
                Criterion::Or(Box::new(a), Box::new(self.plan(b, fuzzy)))
            }
            SearchKey::Not(inner) => {
                let n = self.nots;
                self.nots += 1;
                match &**inner {
                    SearchKey::Not(fuzzed) if self.fuzzy.contains(&n) => {
                        self.nots += 1;
                        self.plan(fuzzed, true)
                    }
                    _ => Criterion::Not(Box::new(self.plan(inner, fuzzy))),
                }
            }
            // `$` (RFC 5182): the saved UIDs.
            SearchKey::SequenceSet(set) | SearchKey::Uid(set) if super::esearch::is_saved(set) => {
                Criterion::Numbers {
                    set: NumberSet::of(self.saved),
                    uid: true,
                }
            }
            SearchKey::SequenceSet(set) => Criterion::Numbers {
                set: NumberSet::new(set, self.count),
                uid: false,
            },
            SearchKey::Uid(set) => Criterion::Numbers {
                set: NumberSet::new(set, self.largest_uid),
                uid: true,
            },
            SearchKey::SentBefore(_) | SearchKey::SentOn(_) | SearchKey::SentSince(_) => {
                self.sent = true;
                Criterion::Key(key)
            }
            SearchKey::ModSequence { .. } => {
                self.modseq = true;
                Criterion::Key(key)
            }
            other => Criterion::Key(other),
        }
    }

    /// Refuses a search over the limits on keys and words, before the
    /// index is asked: the cost of a search grows with both.
    fn within(&self, limits: &Limits) -> crate::error::Result<()> {
        let over = |n: usize, what: &str, max: usize| {
            Err(Error::Limit(format!(
                "The search has {n} {what}; at most {max} are allowed"
            )))
        };
        if self.keys > limits.max_search_keys {
            return over(self.keys, "search keys", limits.max_search_keys);
        }
        let (mut words, mut fuzzy) = (0, 0);
        for query in &self.queries {
            let n = query.word_count();
            words += n;
            if query.fuzzy {
                fuzzy += n;
            }
        }
        if fuzzy > limits.max_fuzzy_words {
            return over(fuzzy, "FUZZY words", limits.max_fuzzy_words);
        }
        if words > limits.max_search_words {
            return over(words, "words in text keys", limits.max_search_words);
        }
        Ok(())
    }
}

fn day(seconds: i64) -> NaiveDate {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .date_naive()
}

/// Everything evaluating one message needs.
struct Context<'a> {
    archives: &'a Archives,
    queries: &'a [TextQuery],
    found: &'a TextSearch,
    /// The clock when the search began (OLDER, YOUNGER), seconds.
    now: i64,
}

/// One message being evaluated; its text is read only if a key needs it.
struct Candidate<'a> {
    seq: u32,
    message: &'a MailboxMessage,
    detail: &'a MessageDetail,
    doc: OnceCell<IndexDoc>,
}

impl Candidate<'_> {
    fn doc(&self, archives: &Archives) -> crate::error::Result<&IndexDoc> {
        if let Some(doc) = self.doc.get() {
            return Ok(doc);
        }
        let doc = archives.message_text(&self.detail.content)?;
        Ok(self.doc.get_or_init(|| doc))
    }

    /// The day written in the Date header, else the INTERNALDATE's (as
    /// Dovecot does).
    fn sent(&self, cx: &Context) -> crate::error::Result<NaiveDate> {
        let blob = self.detail.content.id();
        let written = match cx.found.sent.get(&blob) {
            Some(day) => *day,
            None => self.doc(cx.archives)?.sent,
        };
        Ok(written.unwrap_or_else(|| day(self.detail.internal_date)))
    }
}

fn eval(criterion: &Criterion, c: &Candidate, cx: &Context) -> crate::error::Result<bool> {
    let (m, detail) = (c.message, c.detail);
    Ok(match criterion {
        Criterion::And(all) => {
            for k in all {
                if !eval(k, c, cx)? {
                    return Ok(false);
                }
            }
            true
        }
        Criterion::Or(a, b) => eval(a, c, cx)? || eval(b, c, cx)?,
        Criterion::Not(k) => !eval(k, c, cx)?,
        Criterion::Numbers { set, uid } => set.contains(if *uid { m.uid } else { c.seq }),
        Criterion::Text(i) => {
            let answer = &cx.found.answers[*i];
            if answer.check.contains(detail.content.id()) {
                c.doc(cx.archives)?.matches(&cx.queries[*i])
            } else {
                answer.found.contains(detail.content.id())
            }
        }
        Criterion::Key(key) => match key {
            SearchKey::All => true,
            SearchKey::Answered => m.flags & flags::ANSWERED != 0,
            SearchKey::Unanswered => m.flags & flags::ANSWERED == 0,
            SearchKey::Deleted => m.flags & flags::DELETED != 0,
            SearchKey::Undeleted => m.flags & flags::DELETED == 0,
            SearchKey::Draft => m.flags & flags::DRAFT != 0,
            SearchKey::Undraft => m.flags & flags::DRAFT == 0,
            SearchKey::Flagged => m.flags & flags::FLAGGED != 0,
            SearchKey::Unflagged => m.flags & flags::FLAGGED == 0,
            SearchKey::Seen => m.flags & flags::SEEN != 0,
            SearchKey::Unseen => m.flags & flags::SEEN == 0,
            SearchKey::Recent => m.recent,
            SearchKey::New => m.recent && m.flags & flags::SEEN == 0,
            SearchKey::Old => !m.recent,
            SearchKey::Keyword(k) => m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k.inner())),
            SearchKey::Unkeyword(k) => {
                !m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k.inner()))
            }
            // WITHIN (RFC 5032): the INTERNALDATE against the clock, both
            // bounds inclusive.
            SearchKey::Older(seconds) => cx.now - detail.internal_date >= i64::from(seconds.get()),
            SearchKey::Younger(seconds) => {
                cx.now - detail.internal_date <= i64::from(seconds.get())
            }
            SearchKey::Before(d) => day(detail.internal_date) < *d.as_ref(),
            SearchKey::On(d) => day(detail.internal_date) == *d.as_ref(),
            SearchKey::Since(d) => day(detail.internal_date) >= *d.as_ref(),
            SearchKey::SentBefore(d) => c.sent(cx)? < *d.as_ref(),
            SearchKey::SentOn(d) => c.sent(cx)? == *d.as_ref(),
            SearchKey::SentSince(d) => c.sent(cx)? >= *d.as_ref(),
            // RFC822.SIZE: the served (CRLF) size.
            SearchKey::Larger(n) => detail.content.served_size() > u64::from(*n),
            SearchKey::Smaller(n) => detail.content.served_size() < u64::from(*n),
            // Mod-sequences are kept per message, not per flag: the entry
            // named, if any, is the message's (RFC 7162 3.1.5 allows it).
            SearchKey::ModSequence { modseq, .. } => m.modseq >= *modseq,
            // Text keys, sets and the combinators are planned into the other criteria.
            _ => false,
        },
    })
}

/// A search's result: the numbers (sequence or UID) in ascending order,
/// with the summed scores of their FUZZY keys when RELEVANCY is asked for.
struct Found {
    numbers: Vec<u32>,
    scores: Vec<f32>,
    /// With a MODSEQ key, the highest mod-sequence of the messages found.
    modseq: Option<u64>,
}

/// What a search runs on: the mailbox as the session numbers it, and the
/// UIDs `$` stands for.
pub(super) struct Searched<'a> {
    pub view: &'a MailboxView,
    pub saved: &'a [u32],
}

fn run(
    archives: &Archives,
    searched: &Searched,
    keys: &[SearchKey<'static>],
    decode: Decode,
    extension: &Rewritten,
    uid: bool,
    limits: &Limits,
) -> crate::error::Result<Found> {
    let view = searched.view;
    let started = Instant::now();
    let mut planner = Planner {
        decode,
        fuzzy: &extension.fuzzy,
        nots: 0,
        keys: 0,
        queries: Vec::new(),
        sent: false,
        modseq: false,
        count: view.len() as u32,
        largest_uid: view.snapshot().last_uid(),
        saved: searched.saved,
    };
    let criteria = Criterion::And(keys.iter().map(|k| planner.plan(k, false)).collect());
    planner.within(limits)?;
    let budget = Duration::from_secs(limits.search_timeout_secs);
    let scored = extension
        .returns
        .as_ref()
        .is_some_and(|r| r.contains(&ReturnOption::Relevancy));
    let details = archives.snapshot_details(view.snapshot())?;
    let contents = details.iter().flatten().map(|d| &d.content);
    let found = archives.search_text(contents, &planner.queries, scored, planner.sent)?;
    let cx = Context {
        archives,
        queries: &planner.queries,
        found: &found,
        now: chrono::Utc::now().timestamp(),
    };
    let mut result = Found {
        numbers: Vec::new(),
        scores: Vec::new(),
        modseq: None,
    };
    // The clock is read every CLOCK_EVERY messages, and after each one
    // whose text was read (the costly case): reading it for every message
    // cost a fifth of a SEARCH of 100,000 messages.
    const CLOCK_EVERY: usize = 256;
    let mut read_text = false;
    for (i, message) in view.messages(&details).enumerate() {
        // Keys times messages, and the messages read for keys the index
        // cannot answer alone, are bounded by time.
        if (read_text || i % CLOCK_EVERY == 0) && started.elapsed() >= budget {
            return Err(Error::Limit(format!(
                "The search took longer than {} s; narrow it down",
                limits.search_timeout_secs
            )));
        }
        // Gone from the folder before its details were read: it matches
        // nothing, as after an expunge.
        let Some(detail) = &message.detail else {
            continue;
        };
        let candidate = Candidate {
            seq: i as u32 + 1,
            message: &message,
            detail,
            doc: OnceCell::new(),
        };
        let matched = eval(&criteria, &candidate, &cx)?;
        read_text = candidate.doc.get().is_some();
        if matched {
            result
                .numbers
                .push(if uid { message.uid } else { candidate.seq });
            if planner.modseq {
                result.modseq = result.modseq.max(Some(message.modseq));
            }
            if scored {
                let score = planner
                    .queries
                    .iter()
                    .zip(&found.answers)
                    .filter(|(q, _)| q.fuzzy)
                    .filter_map(|(_, a)| a.matched.get(&detail.content.id()))
                    .sum();
                result.scores.push(score);
            }
        }
    }
    Ok(result)
}

/// The UIDs a SEARCH with SAVE keeps: with MIN or MAX and neither ALL
/// nor COUNT, only those; else every message found (RFC 5182 2.4).
pub(super) fn saved_uids(
    numbers: &[u32],
    returns: &[ReturnOption],
    uid: bool,
    view: &MailboxView,
) -> Vec<u32> {
    let has = |o: ReturnOption| returns.contains(&o);
    let kept: Vec<u32> = if (has(ReturnOption::Min) || has(ReturnOption::Max))
        && !has(ReturnOption::All)
        && !has(ReturnOption::Count)
    {
        let mut ends = Vec::new();
        if has(ReturnOption::Min) {
            ends.extend(numbers.first());
        }
        if has(ReturnOption::Max) {
            ends.extend(numbers.last());
        }
        ends.dedup();
        ends
    } else {
        numbers.to_vec()
    };
    as_uids(&kept, uid, view)
}

/// `numbers` as UIDs: themselves with `uid`, else sequence numbers of `view`.
pub(super) fn as_uids(numbers: &[u32], uid: bool, view: &MailboxView) -> Vec<u32> {
    match uid {
        true => numbers.to_vec(),
        false => numbers.iter().map(|&n| view.uid(n as usize - 1)).collect(),
    }
}

/// Whether `key` is or holds a MODSEQ key.
pub(super) fn names_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSequence { .. } => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(names_modseq),
        SearchKey::Or(a, b) => names_modseq(a) || names_modseq(b),
        SearchKey::Not(k) => names_modseq(k),
        _ => false,
    }
}

/// The answer to a search in an unknown charset.
pub(super) fn unknown_charset() -> Reply {
    Reply::no(Code::BadCharset(CHARSETS), "Unsupported charset")
}

/// The sequence numbers of the messages `keys` match, ascending, and with
/// a MODSEQ key the highest mod-sequence among them: the search that SORT
/// and THREAD start with.
pub(super) fn matching(
    archives: &Archives,
    searched: &Searched,
    keys: &[SearchKey<'static>],
    decode: Decode,
    limits: &Limits,
) -> crate::error::Result<(Vec<u32>, Option<u64>)> {
    let found = run(
        archives,
        searched,
        keys,
        decode,
        &Rewritten::default(),
        false,
        limits,
    )?;
    Ok((found.numbers, found.modseq))
}

/// The UIDs of the messages `keys` (with `extension`'s FUZZY) match,
/// ascending: a result kept up to date searched again.
pub(super) fn uids(
    archives: &Archives,
    searched: &Searched,
    keys: &[SearchKey<'static>],
    decode: Decode,
    extension: &Rewritten,
    limits: &Limits,
) -> crate::error::Result<Vec<u32>> {
    Ok(run(archives, searched, keys, decode, extension, true, limits)?.numbers)
}

/// Numbers as an IMAP sequence set, in their order: `1:3,7,9:10`
/// (ascending runs joined; ESORT's ALL keeps the sort order).
pub(super) fn sequence_set(numbers: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&numbers[i].to_string());
        if j > i {
            out.push_str(&format!(":{}", numbers[j]));
        }
        i = j + 1;
    }
    out
}

/// RFC 6203 relevancy: 1 to 100, the best match 100.
fn relevancy(scores: &[f32]) -> Vec<u32> {
    let best = scores.iter().copied().fold(0.0f32, f32::max);
    scores
        .iter()
        .map(|s| {
            if best > 0.0 {
                ((s / best * 100.0).round() as u32).clamp(1, 100)
            } else {
                100
            }
        })
        .collect()
}

/// The untagged answer: SEARCH, or ESEARCH for `RETURN (...)`.
/// The ESEARCH answer for `numbers` in the order given (ESORT passes them
/// sorted: MIN and MAX are then the first and last in that order, and ALL
/// keeps it, as RFC 5267 3.2 has it).
pub(super) fn esearch_line(
    tag: &str,
    uid: bool,
    returns: &[ReturnOption],
    numbers: Vec<u32>,
    modseq: Option<u64>,
) -> String {
    let found = Found {
        numbers,
        scores: Vec::new(),
        modseq,
    };
    answer(tag, uid, Some(returns), &found)
}

/// `* SEARCH n n n [(MODSEQ m)]` (or `* SORT ...`).
pub fn numbers_line(name: &str, numbers: &[u32], modseq: Option<u64>) -> String {
    use std::fmt::Write;
    let mut line = String::with_capacity(10 + 7 * numbers.len());
    let _ = write!(line, "* {name}");
    for n in numbers {
        let _ = write!(line, " {n}");
    }
    if let Some(modseq) = modseq {
        let _ = write!(line, " (MODSEQ {modseq})");
    }
    line + "\r\n"
}

fn answer(tag: &str, uid: bool, returns: Option<&[ReturnOption]>, found: &Found) -> String {
    // SAVE alone answers nothing (RFC 5182 2.1).
    if returns == Some(&[ReturnOption::Save][..]) {
        return String::new();
    }
    let Some(returns) = returns else {
        return numbers_line("SEARCH", &found.numbers, found.modseq);
    };
    let all = [ReturnOption::All];
    let returns = if returns.is_empty() {
        &all[..]
    } else {
        returns
    };
    let mut line = format!("* ESEARCH (TAG \"{tag}\")");
    if uid {
        line.push_str(" UID");
    }
    let numbers = &found.numbers;
    for option in returns {
        match option {
            ReturnOption::Min if !numbers.is_empty() => {
                line.push_str(&format!(" MIN {}", numbers[0]))
            }
            ReturnOption::Max if !numbers.is_empty() => {
                line.push_str(&format!(" MAX {}", numbers[numbers.len() - 1]))
            }
            ReturnOption::Count => line.push_str(&format!(" COUNT {}", numbers.len())),
            ReturnOption::All if !numbers.is_empty() => {
                line.push_str(&format!(" ALL {}", sequence_set(numbers)))
            }
            ReturnOption::Partial(first, last) => {
                let from = (*first as usize - 1).min(numbers.len());
                let to = (*last as usize).min(numbers.len());
                let set = match from < to {
                    true => sequence_set(&numbers[from..to]),
                    false => "NIL".to_string(),
                };
                line.push_str(&format!(" PARTIAL ({first}:{last} {set})"));
            }
            ReturnOption::Relevancy if !numbers.is_empty() => {
                let scores: Vec<String> = relevancy(&found.scores)
                    .iter()
                    .map(u32::to_string)
                    .collect();
                line.push_str(&format!(" RELEVANCY ({})", scores.join(" ")));
            }
            _ => {}
        }
    }
    if let Some(modseq) = found.modseq {
        line.push_str(&format!(" MODSEQ {modseq}"));
    }
    line + "\r\n"
}

pub async fn search(
    session: &mut Session,
    tag: &str,
    charset: Option<&Charset<'_>>,
    keys: Vec<SearchKey<'static>>,
    uid: bool,
    extension: Rewritten,
) -> Handled {
    let verb = if uid { "UID SEARCH" } else { "SEARCH" };
    let Some(decode) = decoder(charset) else {
        return Ok(unknown_charset());
    };
    let relevancy = extension
        .returns
        .as_ref()
        .is_some_and(|r| r.contains(&ReturnOption::Relevancy));
    if relevancy && extension.fuzzy.is_empty() {
        return Ok(Reply::bad("RELEVANCY needs a FUZZY search key"));
    }
    let updating = extension
        .returns
        .as_ref()
        .is_some_and(|r| r.contains(&ReturnOption::Update));
    let selected = session.selected_or_bad()?;
    if updating && let Some(refused) = live::tag_in_use(selected, tag) {
        return Ok(refused);
    }
    let view = selected.view.clone();
    let saved = selected.saved.clone();
    // SEARCH MODSEQ turns CONDSTORE on (RFC 7162 3.1).
    let enabled = match keys.iter().any(names_modseq) {
        true => session.condstore_enabling(),
        false => String::new(),
    };
    let archives = session.shared.archives.clone();
    // IMAP4rev2 answers every SEARCH with ESEARCH (RFC 9051 6.4.4): no
    // RETURN is RETURN ().
    let returns = match (extension.returns.clone(), session.rev2()) {
        (None, true) => Some(Vec::new()),
        (returns, _) => returns,
    };
    let limits = session.shared.limits.clone();
    let saving = returns
        .as_ref()
        .is_some_and(|r| r.contains(&ReturnOption::Save));
    let searched_view = view.clone();
    let live = updating.then(|| (keys.clone(), extension.clone()));
    let found = tokio::task::spawn_blocking(move || {
        let searched = Searched {
            view: &searched_view,
            saved: &saved,
        };
        run(
            &archives, &searched, &keys, decode, &extension, uid, &limits,
        )
    })
    .await;
    match found {
        Ok(found) => {
            if saving && let Some(selected) = session.selected_mut() {
                // A failed search saves nothing (RFC 5182 2.1).
                selected.saved = match &found {
                    Ok(found) => saved_uids(
                        &found.numbers,
                        returns.as_deref().unwrap_or_default(),
                        uid,
                        &view,
                    ),
                    Err(_) => Vec::new(),
                };
            }
            let found = found?;
            let line = answer(tag, uid, returns.as_deref(), &found);
            let mut refused = String::new();
            if let (Some((keys, extension)), Some(selected)) = (live, session.selected_mut()) {
                let kept = live::Live {
                    tag: tag.to_string(),
                    uid,
                    keys,
                    decode,
                    extension,
                    order: None,
                    matched: as_uids(&found.numbers, uid, &view),
                };
                refused = live::keep(selected, kept);
            }
            Ok(Reply::completed(verb).after(enabled + &line + &refused))
        }
        Err(panic) => Ok(Reply::failed(
            Code::ServerBug,
            "The search failed; the error is logged",
            &format_args!("search panicked: {panic}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_charset_decodes() {
        for name in CHARSETS.split_whitespace() {
            let charset = Charset::try_from(name).unwrap();
            assert!(decoder(Some(&charset)).is_some(), "{name}");
        }
        let koi8 = Charset::try_from("koi8-r").unwrap();
        assert_eq!(
            decoder(Some(&koi8)).unwrap()(b"\xf0\xd2\xc9\xd7\xc5\xd4"),
            "Привет"
        );
        assert!(decoder(Some(&Charset::try_from("X-UNKNOWN").unwrap())).is_none());
    }

    #[test]
    fn esearch_answers() {
        let found = Found {
            numbers: vec![1, 2, 3, 7, 9, 10],
            scores: vec![1.0, 0.5, 0.0, 2.0, 2.0, 0.1],
            modseq: None,
        };
        let all = [
            ReturnOption::Min,
            ReturnOption::Max,
            ReturnOption::Count,
            ReturnOption::All,
        ];
        assert_eq!(
            answer("a1", true, Some(&all), &found),
            "* ESEARCH (TAG \"a1\") UID MIN 1 MAX 10 COUNT 6 ALL 1:3,7,9:10\r\n"
        );
        assert_eq!(
            answer("a", false, Some(&[]), &found),
            "* ESEARCH (TAG \"a\") ALL 1:3,7,9:10\r\n"
        );
        assert_eq!(
            answer("a", false, Some(&[ReturnOption::Relevancy]), &found),
            "* ESEARCH (TAG \"a\") RELEVANCY (50 25 1 100 100 5)\r\n"
        );
        let none = Found {
            numbers: vec![],
            scores: vec![],
            modseq: None,
        };
        assert_eq!(
            answer("b", false, Some(&all), &none),
            "* ESEARCH (TAG \"b\") COUNT 0\r\n"
        );
        // PARTIAL: positions of the result, from 1 (RFC 5267 4.4).
        assert_eq!(
            answer("p", false, Some(&[ReturnOption::Partial(2, 4)]), &found),
            "* ESEARCH (TAG \"p\") PARTIAL (2:4 2:3,7)\r\n"
        );
        assert_eq!(
            answer("p", true, Some(&[ReturnOption::Partial(7, 9)]), &found),
            "* ESEARCH (TAG \"p\") UID PARTIAL (7:9 NIL)\r\n"
        );
        // UPDATE alone: nothing now, the changes later.
        assert_eq!(
            answer("u", false, Some(&[ReturnOption::Update]), &found),
            "* ESEARCH (TAG \"u\")\r\n"
        );
        assert_eq!(
            answer("b", false, None, &found),
            "* SEARCH 1 2 3 7 9 10\r\n"
        );
        // RFC 7162 3.1.5: the highest mod-sequence of what was found.
        let with_modseq = Found {
            modseq: Some(917162500),
            ..found
        };
        assert_eq!(
            answer("c", false, None, &with_modseq),
            "* SEARCH 1 2 3 7 9 10 (MODSEQ 917162500)\r\n"
        );
        assert_eq!(
            answer("c", true, Some(&[ReturnOption::Count]), &with_modseq),
            "* ESEARCH (TAG \"c\") UID COUNT 6 MODSEQ 917162500\r\n"
        );
    }
}
