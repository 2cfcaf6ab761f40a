//! What the index holds of a message, read from its bytes: header fields
//! as SEARCH's header keys see them, and the words of its header, body
//! and attachments.

mod attachments;
mod headers;
mod html;
mod office;
mod outcome;
mod pool;
mod preview;
mod protocol;
mod worker;

use std::time::Duration;

use chrono::NaiveDate;
use mail_parser::MessageParser;

pub use headers::HeaderField;
use headers::{decode_text, lines, split_fields};
pub use outcome::{NotExtracted, NotExtractedCounts};
pub use pool::stop_idle_workers;
pub use preview::preview;
pub use worker::serve as serve_worker;

use super::analysis::fold;

use crate::mime::{self, SectionSpec, TextKind};

/// The most text kept of one part or attachment (bytes).
pub const MAX_TEXT: usize = 4 << 20;

/// Bounds on reading attachments.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Larger attachments are not read.
    pub attachment_bytes: usize,
    /// Time one attachment's text may take (wall clock).
    pub attachment_time: Duration,
    /// Address space of the process that reads an attachment, bytes.
    pub attachment_memory: u64,
}

/// A message as the index sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDoc {
    /// The fields of the message header.
    pub fields: Vec<HeaderField>,
    /// Header text for TEXT, folded: the header fields and the MIME
    /// headers of its parts, a line per decoded field value.
    pub header_text: Vec<String>,
    /// Body text, folded: text parts (HTML as text), attached messages'
    /// headers (as lines like `header_text`'s), attachment names and the
    /// text of PDF and office attachments.
    pub body_text: Vec<String>,
    /// The day written in the Date header.
    pub sent: Option<NaiveDate>,
    /// Why the text of each attachment that has none here was not had.
    pub not_extracted: Vec<NotExtracted>,
}

fn capped(text: String) -> String {
    truncated(text, MAX_TEXT)
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The day a Date header value names.
fn date(value: &[u8]) -> Option<NaiveDate> {
    let d = mail_parser::DateTime::parse_rfc822(&String::from_utf8_lossy(value))?;
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

impl IndexDoc {
    /// The bytes of text the document holds (what it costs while it
    /// waits to be indexed).
    pub fn text_bytes(&self) -> usize {
        let fields: usize = self
            .fields
            .iter()
            .map(|f| f.name.len() + f.texts.iter().map(String::len).sum::<usize>())
            .sum();
        fields
            + self.header_text.iter().map(String::len).sum::<usize>()
            + self.body_text.iter().map(String::len).sum::<usize>()
    }

    /// The decoded file names of a message's parts (its attachments),
    /// read from its structure without decoding any part.
    pub fn attachment_names(raw: &[u8]) -> Vec<String> {
        let parser = MessageParser::default();
        mime::Message::parse(raw)
            .text_parts(&|_, _| false)
            .iter()
            .filter_map(|part| part.file_name.as_ref())
            .map(|name| attachments::file_name(&parser, name))
            .collect()
    }

    /// Reads a message. Headers are split exactly where FETCH
    /// BODY[HEADER] splits them (the `mime` module), so SEARCH and FETCH
    /// agree on what a header is.
    pub fn extract(raw: &[u8], limits: &Limits) -> IndexDoc {
        let parser = MessageParser::default();
        let message = mime::Message::parse(raw);
        let block = message
            .section(&SectionSpec::Header(Vec::new()))
            .unwrap_or_default();
        let sent = split_fields(&block)
            .into_iter()
            .find(|(name, _)| name == "date")
            .and_then(|(_, value)| date(&value));
        let fields = headers::fields(&parser, &block);
        let mut header_text: Vec<String> = lines(&fields).collect();
        let mut body_text = Vec::new();
        let mut not_extracted = Vec::new();
        let wanted =
            |part: &mime::TextPart, encoded: usize| attachments::wanted(part, encoded, limits);
        for part in message.text_parts(&wanted) {
            match part.kind {
                TextKind::PartHeader => {
                    header_text.extend(lines(&headers::fields(&parser, &part.bytes)));
                }
                TextKind::MessageHeader => {
                    body_text.extend(lines(&headers::fields(&parser, &part.bytes)));
                }
                TextKind::Body if part.bytes.is_empty() => {}
                TextKind::Body => {
                    let text = decode_text(&part.bytes, part.charset.as_deref());
                    body_text.push(fold(&capped(if part.media_type == "text/html" {
                        html::text_of_html(&text)
                    } else {
                        text
                    })));
                }
                TextKind::Attachment => match attachments::text(&part, limits) {
                    Some(Ok(text)) => body_text.push(fold(&text)),
                    Some(Err(reason)) => not_extracted.push(reason),
                    None => {}
                },
            }
            if let Some(name) = &part.file_name {
                body_text.push(fold(&attachments::file_name(&parser, name)));
            }
        }
        IndexDoc {
            fields,
            header_text,
            body_text,
            sent,
            not_extracted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn limits() -> Limits {
        Limits {
            attachment_bytes: 1 << 20,
            attachment_time: Duration::from_secs(10),
            attachment_memory: 512 << 20,
        }
    }

    #[test]
    fn headers_bodies_and_names() {
        let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <jb@example.com>\r\nSubject: Hi\r\n there =?utf-8?b?SW52b2ljZQ==?=\r\nTo: \"=?utf-8?b?SW52b2ljZQ==?=\" <i@example.com>\r\nDate: Tue, 1 Jun 2021 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<p>caf\xe9 <b>au</b> lait</p>\r\n--b\r\nContent-Type: image/png; name=\"pic.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n--b--\r\n";
        let doc = IndexDoc::extract(raw, &limits());
        assert_eq!(doc.fields[0].name, "from");
        assert_eq!(doc.fields[0].texts, vec!["jürgen <jb@example.com>"]);
        assert_eq!(doc.fields[1].texts, vec!["hi there invoice"]);
        // An encoded word in quotes (not allowed, often written) is decoded too.
        assert_eq!(
            doc.fields[2].texts,
            vec!["\" invoice \" <i@example.com>", "invoice <i@example.com>"]
        );
        assert_eq!(doc.sent, NaiveDate::from_ymd_opt(2021, 6, 1));
        assert_eq!(doc.header_text[0], "from: jürgen <jb@example.com>");
        assert!(
            doc.body_text.iter().any(|t| t.contains("café au lait")),
            "{:?}",
            doc.body_text
        );
        assert!(doc.body_text.contains(&"pic.png".to_string()));
    }

    #[test]
    fn html_beside_plain_text_is_left_out() {
        let raw = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain words\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html words</p>\r\n--b--\r\n";
        let doc = IndexDoc::extract(raw, &limits());
        assert_eq!(doc.body_text, vec!["plain words".to_string()]);
        let html_only = b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html words</p>\r\n--b--\r\n";
        assert!(IndexDoc::extract(html_only, &limits()).body_text[0].contains("html words"));
    }
}
