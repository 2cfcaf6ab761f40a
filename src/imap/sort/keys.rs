//! What SORT compares of each message (RFC 5256, RFC 5957's DISPLAYFROM and
//! DISPLAYTO), made from its stored header block and its details as
//! Dovecot's `index-sort.c` makes them: strings in the i;unicode-casemap
//! form of RFC 5051 (each character's titlecase, then NFKD), compared
//! byte for byte; a missing field is the empty string.

use super::subject::base_subject;
use super::words::decode_words;
use crate::archive::MessageDetail;
use crate::mime::{self, Address};
use imap_codec::imap_types::extensions::sort::SortKey;

/// Which keys a SORT or THREAD compares: only those are made (a SORT of
/// 100,000 messages spent most of its time making keys it did not use).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub subject: bool,
    pub addresses: bool,
    pub displays: bool,
    pub threading: bool,
}

impl Wanted {
    /// What these SORT keys compare.
    pub fn sorting(keys: impl IntoIterator<Item = SortKey>) -> Wanted {
        let mut wanted = Wanted::default();
        for key in keys {
            match key {
                SortKey::Subject => wanted.subject = true,
                SortKey::From | SortKey::To | SortKey::Cc => wanted.addresses = true,
                SortKey::DisplayFrom | SortKey::DisplayTo => wanted.displays = true,
                SortKey::Arrival | SortKey::Date | SortKey::Size => {}
            }
        }
        wanted
    }

    /// What THREAD compares: subjects, dates and message ids.
    pub fn threading() -> Wanted {
        Wanted {
            subject: true,
            threading: true,
            ..Wanted::default()
        }
    }
}

/// One message's keys; only those asked for are filled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SortFields {
    pub arrival: i64,
    /// The Date header's time (UTC), else the arrival.
    pub date: i64,
    pub size: u64,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub display_from: String,
    pub display_to: String,
    /// The base subject lost a reply or forward mark (THREAD).
    pub reply: bool,
    /// Message-ID, and the parents named in References (else
    /// In-Reply-To), as `<...>` ids without spaces (THREAD=REFERENCES).
    pub message_id: Option<String>,
    pub references: Vec<String>,
}

impl SortFields {
    /// The `wanted` keys of a message with this header block and detail.
    pub fn of(header: &[u8], detail: &MessageDetail, wanted: Wanted) -> SortFields {
        let fields = mime::first_fields(header);
        let arrival = detail.internal_date;
        let date = fields
            .date
            .as_deref()
            .and_then(sent)
            .filter(|&t| t != 0)
            .unwrap_or(arrival);
        let (subject, reply) = fields
            .subject
            .as_deref()
            .filter(|_| wanted.subject)
            .map(|s| base_subject(&casemap(&decode_words(s))))
            .unwrap_or_default();
        let mut keys = SortFields {
            arrival,
            date,
            size: detail.content.served_size(),
            subject,
            reply,
            ..SortFields::default()
        };
        if wanted.addresses {
            keys.from = first_mailbox(&fields.from);
            keys.to = first_mailbox(&fields.to);
            keys.cc = first_mailbox(&fields.cc);
        }
        if wanted.displays {
            keys.display_from = display(&fields.from);
            keys.display_to = display(&fields.to);
        }
        if !wanted.threading {
            return keys;
        }
        keys.references = match fields.references.as_deref().map(message_ids) {
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
        keys.message_id = fields
            .message_id
            .as_deref()
            .and_then(|v| message_ids(v).into_iter().next());
        keys
    }

    /// Compares two messages by one key, ascending.
    pub fn compare(&self, other: &SortFields, key: &SortKey) -> std::cmp::Ordering {
        match key {
            SortKey::Arrival => self.arrival.cmp(&other.arrival),
            SortKey::Date => self.date.cmp(&other.date),
            SortKey::Size => self.size.cmp(&other.size),
            SortKey::Subject => self.subject.cmp(&other.subject),
            SortKey::From => self.from.cmp(&other.from),
            SortKey::To => self.to.cmp(&other.to),
            SortKey::Cc => self.cc.cmp(&other.cc),
            SortKey::DisplayFrom => self.display_from.cmp(&other.display_from),
            SortKey::DisplayTo => self.display_to.cmp(&other.display_to),
        }
    }
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
