//! What SORT compares of each message (RFC 5256, RFC 5957's DISPLAYFROM and
//! DISPLAYTO), made from its stored header block and its details as
//! Dovecot's `index-sort.c` makes them: strings in the i;unicode-casemap
//! form of RFC 5051 (each character's titlecase, then NFKD), compared
//! byte for byte; a missing field is the empty string.

use std::sync::Arc;

use super::subject::base_subject;
use super::words::decode_words;
use crate::archive::MessageDetail;
use crate::mime::{Address, FirstFields};
use imap_codec::imap_types::extensions::sort::SortKey;

/// One thing made of a message's header block for sorting or threading.
/// Each is made (and kept: [`super::cache::KeyCache`]) only when a command
/// compares it: a SORT of 100,000 messages spent most of its time making
/// keys it did not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The Date header's time.
    Sent,
    Subject,
    From,
    To,
    Cc,
    DisplayFrom,
    DisplayTo,
    /// Message-ID and the parents named (THREAD=REFERENCES).
    Threading,
}

impl Part {
    const ALL: [Part; 8] = [
        Part::Sent,
        Part::Subject,
        Part::From,
        Part::To,
        Part::Cc,
        Part::DisplayFrom,
        Part::DisplayTo,
        Part::Threading,
    ];

    /// This part of a message with these header fields.
    pub fn of(self, fields: &FirstFields) -> Value {
        match self {
            Part::Sent => Value::Sent(fields.date.as_deref().and_then(sent).filter(|&t| t != 0)),
            Part::Subject => {
                let (subject, reply) = fields
                    .subject
                    .as_deref()
                    .map(|s| base_subject(&casemap(&decode_words(s))))
                    .unwrap_or_default();
                Value::Subject(subject.into(), reply)
            }
            Part::From => Value::Text(first_mailbox(&fields.from).into()),
            Part::To => Value::Text(first_mailbox(&fields.to).into()),
            Part::Cc => Value::Text(first_mailbox(&fields.cc).into()),
            Part::DisplayFrom => Value::Text(display(&fields.from).into()),
            Part::DisplayTo => Value::Text(display(&fields.to).into()),
            Part::Threading => Value::Threading(ThreadIds::of(fields)),
        }
    }
}

/// A made [`Part`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `None`: the message names no time (RFC 5256: then its INTERNALDATE
    /// counts).
    Sent(Option<i64>),
    /// The base subject, and whether it lost a reply or forward mark.
    Subject(Arc<str>, bool),
    Text(Arc<str>),
    Threading(ThreadIds),
}

impl Value {
    /// About the memory it takes, in bytes, in a cache table.
    pub fn weight(&self) -> usize {
        const ENTRY: usize = 48;
        match self {
            Value::Sent(_) => ENTRY,
            Value::Subject(text, _) | Value::Text(text) => ENTRY + 16 + text.len(),
            Value::Threading(ids) => ENTRY + 16 + ids.0.len(),
        }
    }
}

/// Which parts a SORT or THREAD compares.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wanted(u8);

impl Wanted {
    /// What these SORT keys compare.
    pub fn sorting(keys: impl IntoIterator<Item = SortKey>) -> Wanted {
        let mut wanted = Wanted::default();
        for key in keys {
            wanted = match key {
                SortKey::Date => wanted.with(Part::Sent),
                SortKey::Subject => wanted.with(Part::Subject),
                SortKey::From => wanted.with(Part::From),
                SortKey::To => wanted.with(Part::To),
                SortKey::Cc => wanted.with(Part::Cc),
                SortKey::DisplayFrom => wanted.with(Part::DisplayFrom),
                SortKey::DisplayTo => wanted.with(Part::DisplayTo),
                SortKey::Arrival | SortKey::Size => wanted,
            };
        }
        wanted
    }

    /// What THREAD compares: subjects, dates and message ids.
    pub fn threading() -> Wanted {
        Wanted::default()
            .with(Part::Sent)
            .with(Part::Subject)
            .with(Part::Threading)
    }

    fn with(self, part: Part) -> Wanted {
        Wanted(self.0 | 1 << part as u8)
    }

    pub fn parts(self) -> impl Iterator<Item = Part> {
        Part::ALL
            .into_iter()
            .filter(move |&p| self.0 & 1 << p as u8 != 0)
    }
}

/// Message-ID, and the parents named in References (else In-Reply-To), as
/// `<...>` ids without white space (THREAD=REFERENCES); kept as one string
/// (the Message-ID or nothing, then the references, a space between each)
/// because a folder's worth of them is kept in memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThreadIds(Arc<str>);

impl ThreadIds {
    fn of(fields: &FirstFields) -> ThreadIds {
        let references = match fields.references.as_deref().map(message_ids) {
            Some(ids) if !ids.is_empty() => ids,
            _ => fields
                .in_reply_to
                .as_deref()
                .map(message_ids)
                .unwrap_or_default()
                .into_iter()
                .take(1)
                .collect(),
        };
        let message_id = fields
            .message_id
            .as_deref()
            .and_then(|v| message_ids(v).into_iter().next());
        ThreadIds::new(message_id.as_deref(), &references)
    }

    pub fn new(message_id: Option<&str>, references: &[String]) -> ThreadIds {
        let mut text = String::from(message_id.unwrap_or_default());
        for id in references {
            text.push(' ');
            text.push_str(id);
        }
        ThreadIds(text.into())
    }

    pub fn message_id(&self) -> Option<&str> {
        self.0.split(' ').next().filter(|id| !id.is_empty())
    }

    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').skip(1)
    }
}

/// One message's keys; only those asked for are filled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SortFields {
    pub arrival: i64,
    /// The Date header's time (UTC), else the arrival (the arrival when
    /// [`Part::Sent`] was not wanted).
    pub date: i64,
    pub size: u64,
    pub subject: Arc<str>,
    pub from: Arc<str>,
    pub to: Arc<str>,
    pub cc: Arc<str>,
    pub display_from: Arc<str>,
    pub display_to: Arc<str>,
    /// The base subject lost a reply or forward mark (THREAD).
    pub reply: bool,
    pub threading: ThreadIds,
}

impl SortFields {
    /// The keys of a message with this detail and these made parts.
    pub fn of(
        detail: &MessageDetail,
        parts: impl IntoIterator<Item = (Part, Value)>,
    ) -> SortFields {
        let mut keys = SortFields {
            arrival: detail.internal_date,
            date: detail.internal_date,
            size: detail.content.served_size(),
            ..SortFields::default()
        };
        for (part, value) in parts {
            match (part, value) {
                (_, Value::Sent(sent)) => keys.date = sent.unwrap_or(keys.date),
                (_, Value::Subject(subject, reply)) => {
                    (keys.subject, keys.reply) = (subject, reply)
                }
                (_, Value::Threading(ids)) => keys.threading = ids,
                (Part::From, Value::Text(text)) => keys.from = text,
                (Part::To, Value::Text(text)) => keys.to = text,
                (Part::Cc, Value::Text(text)) => keys.cc = text,
                (Part::DisplayFrom, Value::Text(text)) => keys.display_from = text,
                (Part::DisplayTo, Value::Text(text)) => keys.display_to = text,
                (_, Value::Text(_)) => {}
            }
        }
        keys
    }
}

/// A key compared as strings (their ranks are worth keeping).
pub fn is_text(key: &SortKey) -> bool {
    !matches!(key, SortKey::Arrival | SortKey::Date | SortKey::Size)
}

/// Each message's place by one key, as numbers that order as the key does
/// (equal where it is equal): times and sizes themselves, strings their
/// rank. Sorting by these, the strings are compared once per key, not once
/// per criterion of every comparison, and stay out of the way of the cache.
pub fn positions(fields: &[SortFields], key: &SortKey) -> Vec<u64> {
    // i64 in an order-keeping u64.
    let time = |t: i64| (t as u64) ^ (1 << 63);
    let text: fn(&SortFields) -> &str = match key {
        SortKey::Arrival => return fields.iter().map(|f| time(f.arrival)).collect(),
        SortKey::Date => return fields.iter().map(|f| time(f.date)).collect(),
        SortKey::Size => return fields.iter().map(|f| f.size).collect(),
        SortKey::Subject => |f| &f.subject,
        SortKey::From => |f| &f.from,
        SortKey::To => |f| &f.to,
        SortKey::Cc => |f| &f.cc,
        SortKey::DisplayFrom => |f| &f.display_from,
        SortKey::DisplayTo => |f| &f.display_to,
    };
    // The first sixteen bytes as a number decide most comparisons without
    // going to the strings' memory.
    let prefix = |text: &str| {
        let mut first = [0; 16];
        let n = text.len().min(16);
        first[..n].copy_from_slice(&text.as_bytes()[..n]);
        u128::from_be_bytes(first)
    };
    let mut texts: Vec<(u128, &str, usize)> = fields
        .iter()
        .map(text)
        .zip(0..)
        .map(|(text, i)| (prefix(text), text, i))
        .collect();
    texts.sort_unstable();
    let mut ranks = vec![0; fields.len()];
    let mut rank = 0;
    for (k, &(_, text, i)) in texts.iter().enumerate() {
        if k > 0 && texts[k - 1].1 != text {
            rank += 1;
        }
        ranks[i] = rank;
    }
    ranks
}

/// The i;unicode-casemap form (RFC 5051): each character's titlecase (its
/// upper case where that is one character, as the simple mapping is),
/// then the compatibility decomposition (NFKD), so `ä`, `A` + U+0308 and
/// `Ä` are one, and Hangul syllables become their jamo as in Dovecot.
pub fn casemap(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return text.to_ascii_uppercase();
    }
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .nfkd()
        .collect()
}

/// The time a Date value names, seconds since the epoch (UTC); `None`
/// when it names none (RFC 5256: then the INTERNALDATE counts).
fn sent(value: &[u8]) -> Option<i64> {
    super::date::parse(value)
}

/// The `<...>` message ids of a header value, in order, spaces taken out.
fn message_ids(value: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(value);
    let mut ids = Vec::new();
    let mut rest = &text[..];
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let id: String = rest[open..open + close + 1]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if id.len() > 2 {
            ids.push(id);
        }
        rest = &rest[open + close + 1..];
    }
    ids
}

/// RFC 5256: the addr-mailbox of the first address.
fn first_mailbox(addresses: &[Address]) -> String {
    let mailbox = addresses.first().and_then(|a| a.mailbox.as_deref());
    casemap(&String::from_utf8_lossy(mailbox.unwrap_or_default()))
}

/// RFC 5957: the first address's display name, decoded, else its
/// addr-spec.
fn display(addresses: &[Address]) -> String {
    let Some(first) = addresses.first() else {
        return String::new();
    };
    if let Some(name) = first.name.as_deref().map(decode_words)
        && !name.is_empty()
    {
        return casemap(&name);
    }
    let text = |v: &Option<Vec<u8>>| {
        String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned()
    };
    match (&first.mailbox, &first.domain) {
        (Some(_), Some(_)) => casemap(&format!("{}@{}", text(&first.mailbox), text(&first.domain))),
        _ => casemap(&text(&first.mailbox)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casemap_folds_case_and_composition() {
        assert_eq!(casemap("Märy"), casemap("MA\u{308}RY"));
        assert_eq!(casemap("straße"), "STRAßE");
        assert_eq!(casemap("한"), "\u{1112}\u{1161}\u{11ab}");
    }

    #[test]
    fn dates_that_name_no_time_are_none() {
        assert_eq!(sent(b" Thu,"), None);
        assert_eq!(sent(b" Mon, 13 Feb 1969 23:32:54 -0330"), Some(-27_723_426));
    }
}
