//! The parsed summary kept beside each stored message, so listing,
//! ENVELOPE and header searches need not re-read and re-parse the bytes.

use mail_parser::{Address, HeaderName, MessageParser};

use crate::index::IndexDoc;
use serde::{Deserialize, Serialize};

/// One address of an address header (display name decoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Version 1 of the summary. Stored as JSON; a later version may add fields
/// (serde defaults keep old rows readable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The Date header, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<Mailbox>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// File names of the attachments, decoded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

fn mailboxes(address: Option<&Address>) -> Vec<Mailbox> {
    address
        .map(|a| {
            a.iter()
                .map(|addr| Mailbox {
                    name: addr.name().map(str::to_string),
                    address: addr.address().map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Summary {
    /// Parses a message; `None` when it has no header at all, which is what
    /// archimap calls unparsed (it is archived verbatim all the same).
    pub fn of(raw: &[u8]) -> Option<Summary> {
        // The header alone: parsing the whole message would decode every
        // part (a fifth of a journal delivery's CPU went to attachments'
        // base64 decoded for nothing).
        let message = MessageParser::default().parse_headers(raw)?;
        if message.headers().is_empty() {
            return None;
        }
        Some(Summary {
            date: message.date().map(|d| d.to_timestamp()),
            subject: message.subject().map(str::to_string),
            from: mailboxes(message.from()),
            sender: mailboxes(message.sender()),
            reply_to: mailboxes(message.reply_to()),
            to: mailboxes(message.to()),
            cc: mailboxes(message.cc()),
            bcc: mailboxes(message.bcc()),
            message_id: message.message_id().map(str::to_string),
            in_reply_to: message.in_reply_to().as_text().map(str::to_string),
            attachments: IndexDoc::attachment_names(raw),
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serialises")
    }
}

/// The header block: everything up to and including the first empty line
/// (the whole message when there is none).
pub fn header_block(raw: &[u8]) -> &[u8] {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', raw) {
        let line = &raw[start..end];
        if line.is_empty() || line == b"\r" {
            return &raw[..=end];
        }
        start = end + 1;
    }
    raw
}

/// When the message arrived, from its headers alone: the date of the
/// topmost `Received:` header (the last hop), else the `Date:` header.
pub fn arrival_date(raw: &[u8]) -> Option<i64> {
    let parser = MessageParser::new()
        .header_received(HeaderName::Received)
        .header_date(HeaderName::Date)
        .default_header_ignore();
    let message = parser.parse_headers(raw)?;
    message
        .received()
        .and_then(|r| r.date)
        .or_else(|| message.date().cloned())
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_headers_and_attachments() {
        let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: a@example.org, b@example.org\r\n\
Subject: Hello\r\nDate: Tue, 1 Jun 2021 10:00:00 +0200\r\nMessage-ID: <x@y>\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--b\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n\r\nxx\r\n--b--\r\n";
        let s = Summary::of(raw).unwrap();
        assert_eq!(s.subject.as_deref(), Some("Hello"));
        assert_eq!(s.from[0].name.as_deref(), Some("Jürgen"));
        assert_eq!(s.to.len(), 2);
        assert_eq!(s.message_id.as_deref(), Some("x@y"));
        assert_eq!(s.attachments, vec!["report.pdf".to_string()]);
        assert_eq!(s.date, Some(1622534400));
    }

    #[test]
    fn header_blocks_end_at_the_first_empty_line() {
        assert_eq!(
            header_block(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n"),
            b"A: 1\r\nB: 2\r\n\r\n"
        );
        assert_eq!(header_block(b"A: 1\nB: 2\n\nbody"), b"A: 1\nB: 2\n\n");
        assert_eq!(header_block(b"\nbody"), b"\n");
        assert_eq!(header_block(b"A: 1\r\nno end"), b"A: 1\r\nno end");
        assert_eq!(header_block(b""), b"");
    }

    #[test]
    fn headerless_input_is_unparsed() {
        assert!(Summary::of(b"").is_none());
    }

    #[test]
    fn arrival_prefers_received() {
        let raw = b"Received: from a by b; Wed, 2 Jun 2021 08:00:00 +0000\r\nDate: Tue, 1 Jun 2021 10:00:00 +0000\r\n\r\n";
        assert_eq!(arrival_date(raw), Some(1622620800));
        assert_eq!(
            arrival_date(b"Date: Tue, 1 Jun 2021 10:00:00 +0000\r\n\r\n"),
            Some(1622541600)
        );
    }
}
