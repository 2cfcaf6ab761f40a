//! SEARCH and UID SEARCH with every RFC 3501 key. Message content is
//! scanned (read from the store and parsed) only when a key needs it; the
//! full-text index will take over BODY and TEXT later.
//!
//! Matching: strings match case-insensitively as substrings (RFC 3501).
//! Header keys match the header's raw value (unfolded) or its decoded
//! form (RFC 2047 words, addresses as `Name <addr>`); BODY matches the
//! decoded text of text/* parts; TEXT matches the raw header block and the
//! decoded body. Dates are compared as UTC days (INTERNALDATE) or as the
//! day written in the Date header (SENT*).

use std::io::Read;
use std::num::NonZeroU32;

use chrono::{DateTime, NaiveDate};
use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::search::SearchKey;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderValue, MessageParser};
use tokio::io::AsyncWrite;

use super::Session;
use super::response::send;
use crate::archive::{Archives, MailboxMessage, flags};
use crate::mime::{self, SectionSpec, TextKind};

/// What the content keys look at, worked out once per message. Headers are
/// split exactly where FETCH BODY[HEADER] splits them (the `mime` module),
/// so SEARCH and FETCH agree on what a header is.
struct Content {
    /// Lower-case field name, and the field's texts: raw (unfolded) and
    /// decoded (RFC 2047 words; addresses as `Name <addr>`), lower-case.
    fields: Vec<(String, Vec<String>)>,
    /// The unfolded header block, lower-case.
    header: String,
    /// Decoded text of every text part, lower-case.
    body: String,
    /// The day written in the Date header.
    sent: Option<NaiveDate>,
}

/// Everything one evaluation needs to know about one message.
struct Candidate<'a> {
    seq: u32,
    message: &'a MailboxMessage,
    content: Option<Content>,
}

fn lower(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_lowercase()
}

/// Splits a header block into (name, raw value) fields, unfolding
/// continuation lines; a continuation with no field before it is dropped.
fn split_fields(block: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = fields.last_mut() {
                value.extend_from_slice(line);
            }
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon])
                .trim_end()
                .to_ascii_lowercase();
            fields.push((name, line[colon + 1..].to_vec()));
        }
    }
    fields
}

/// The decoded form of one field, as mail-parser reads it.
fn decoded(parser: &MessageParser, name: &str, value: &[u8]) -> Option<String> {
    let field = [name.as_bytes(), b":", value, b"\r\n\r\n"].concat();
    let parsed = parser.parse_headers(&field[..])?;
    render(&parsed.headers().first()?.value)
}

/// A decoded header value as text; addresses as `Name <addr>`.
fn render(value: &HeaderValue) -> Option<String> {
    Some(match value {
        HeaderValue::Text(text) => text.to_string(),
        HeaderValue::TextList(list) => list.join(" "),
        HeaderValue::Address(address) => address
            .iter()
            .map(|a| match (a.name(), a.address()) {
                (Some(n), Some(addr)) => format!("{n} <{addr}>"),
                (None, Some(addr)) => addr.to_string(),
                (Some(n), None) => n.to_string(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => return None,
    })
}

/// Text in its declared charset; ASCII declarations and unknown charsets
/// are read as UTF-8 (which they often are in practice).
fn decode_text(bytes: &[u8], charset: Option<&[u8]>) -> String {
    let ascii = |c: &[u8]| c.eq_ignore_ascii_case(b"us-ascii") || c.eq_ignore_ascii_case(b"ascii");
    match charset.filter(|c| !ascii(c)).and_then(charset_decoder) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

impl Content {
    fn of(raw: &[u8], parser: &MessageParser) -> Content {
        let message = mime::Message::parse(raw);
        let block = message
            .section(&SectionSpec::Header(Vec::new()))
            .unwrap_or_default();
        let mut sent = None;
        let fields = split_fields(&block)
            .into_iter()
            .map(|(name, value)| {
                if name == "date" && sent.is_none() {
                    sent = mail_parser::DateTime::parse_rfc822(&String::from_utf8_lossy(&value))
                        .and_then(|d| {
                            NaiveDate::from_ymd_opt(
                                i32::from(d.year),
                                u32::from(d.month),
                                u32::from(d.day),
                            )
                        });
                }
                let mut texts = vec![lower(&value)];
                texts.extend(decoded(parser, &name, &value).map(|d| d.to_lowercase()));
                (name, texts)
            })
            .collect();
        let header = lower(&block).replace("\r\n", "").replace('\n', "");
        let mut body = String::new();
        let mut part_headers = String::new();
        for part in message.text_parts() {
            match part.kind {
                TextKind::PartHeader => {
                    part_headers.push_str(&lower(&part.bytes).replace("\r\n", ""));
                    part_headers.push('\n');
                }
                TextKind::MessageHeader => {
                    body.push_str(&lower(&part.bytes));
                    for (name, value) in split_fields(&part.bytes) {
                        body.extend(decoded(parser, &name, &value).map(|d| d.to_lowercase()));
                        body.push('\n');
                    }
                }
                TextKind::Body => {
                    body.push_str(
                        &decode_text(&part.bytes, part.charset.as_deref()).to_lowercase(),
                    );
                    body.push('\n');
                }
            }
        }
        let header = header + &part_headers;
        Content {
            fields,
            header,
            body,
            sent,
        }
    }

    fn header_contains(&self, name: &str, needle: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.fields
            .iter()
            .filter(|(n, _)| *n == name)
            .any(|(_, texts)| texts.iter().any(|t| t.contains(needle)))
    }
}

fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.as_ref().iter().any(needs_content),
        SearchKey::Not(key) => needs_content(key),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::Bcc(_)
        | SearchKey::Body(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::Header(..)
        | SearchKey::Subject(_)
        | SearchKey::Text(_)
        | SearchKey::To(_)
        | SearchKey::SentBefore(_)
        | SearchKey::SentOn(_)
        | SearchKey::SentSince(_) => true,
        _ => false,
    }
}

fn day(seconds: i64) -> NaiveDate {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .date_naive()
}

fn eval(key: &SearchKey, c: &Candidate, count: u32, largest_uid: u32) -> bool {
    let m = c.message;
    let header = |name: &str, needle: &[u8]| -> bool {
        c.content
            .as_ref()
            .is_some_and(|x| x.header_contains(name, &lower(needle)))
    };
    let sent = || {
        c.content
            .as_ref()
            .and_then(|x| x.sent)
            .unwrap_or_else(|| day(m.internal_date))
    };
    match key {
        SearchKey::All => true,
        SearchKey::And(keys) => keys.as_ref().iter().all(|k| eval(k, c, count, largest_uid)),
        SearchKey::Or(a, b) => eval(a, c, count, largest_uid) || eval(b, c, count, largest_uid),
        SearchKey::Not(k) => !eval(k, c, count, largest_uid),
        SearchKey::SequenceSet(set) => {
            NonZeroU32::new(count).is_some_and(|n| set.iter(n).any(|s| s.get() == c.seq))
        }
        SearchKey::Uid(set) => {
            NonZeroU32::new(largest_uid).is_some_and(|n| set.iter(n).any(|u| u.get() == m.uid))
        }
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
        // Nothing is \Recent in an archive (no session ever delivers mail).
        SearchKey::Recent | SearchKey::New => false,
        SearchKey::Old => true,
        SearchKey::Keyword(k) => m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k.inner())),
        SearchKey::Unkeyword(k) => !m.keywords.iter().any(|x| x.eq_ignore_ascii_case(k.inner())),
        SearchKey::Before(d) => day(m.internal_date) < *d.as_ref(),
        SearchKey::On(d) => day(m.internal_date) == *d.as_ref(),
        SearchKey::Since(d) => day(m.internal_date) >= *d.as_ref(),
        // A message without a usable Date header counts as sent when it
        // arrived (as Dovecot does).
        SearchKey::SentBefore(d) => sent() < *d.as_ref(),
        SearchKey::SentOn(d) => sent() == *d.as_ref(),
        SearchKey::SentSince(d) => sent() >= *d.as_ref(),
        // RFC822.SIZE: the served (CRLF) size.
        SearchKey::Larger(n) => m.blob.crlf_size > u64::from(*n),
        SearchKey::Smaller(n) => m.blob.crlf_size < u64::from(*n),
        SearchKey::From(s) => header("From", s.as_ref()),
        SearchKey::To(s) => header("To", s.as_ref()),
        SearchKey::Cc(s) => header("Cc", s.as_ref()),
        SearchKey::Bcc(s) => header("Bcc", s.as_ref()),
        SearchKey::Subject(s) => header("Subject", s.as_ref()),
        SearchKey::Header(name, value) => {
            let name = String::from_utf8_lossy(name.as_ref()).to_ascii_lowercase();
            // An empty value matches every message that has the field.
            c.content.as_ref().is_some_and(|x| {
                x.fields.iter().any(|(n, _)| *n == name)
                    && x.header_contains(&name, &lower(value.as_ref()))
            })
        }
        SearchKey::Body(s) => c
            .content
            .as_ref()
            .is_some_and(|x| x.body.contains(&lower(s.as_ref()))),
        SearchKey::Text(s) => c.content.as_ref().is_some_and(|x| {
            let needle = lower(s.as_ref());
            x.header.contains(&needle)
                || x.fields
                    .iter()
                    .any(|(_, texts)| texts.iter().any(|t| t.contains(&needle)))
                || x.body.contains(&needle)
        }),
    }
}

/// The sequence numbers (or UIDs) of the messages matching every key.
fn run(
    archives: &Archives,
    messages: &[MailboxMessage],
    keys: &[SearchKey],
    uid: bool,
) -> std::io::Result<Vec<u32>> {
    let count = messages.len() as u32;
    let largest_uid = messages.last().map_or(0, |m| m.uid);
    let content_needed = keys.iter().any(needs_content);
    let parser = MessageParser::default();
    let mut hits = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let mut raw = Vec::new();
        if content_needed {
            archives
                .open_message(&message.blob)
                .map_err(std::io::Error::other)?
                .read_to_end(&mut raw)?;
        }
        let candidate = Candidate {
            seq: i as u32 + 1,
            message,
            content: content_needed.then(|| Content::of(&raw, &parser)),
        };
        if keys.iter().all(|k| eval(k, &candidate, count, largest_uid)) {
            hits.push(if uid { message.uid } else { candidate.seq });
        }
    }
    Ok(hits)
}

pub async fn search<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    tag: &str,
    charset: Option<&Charset<'_>>,
    keys: Vec<SearchKey<'static>>,
    uid: bool,
) -> std::io::Result<()> {
    let verb = if uid { "UID SEARCH" } else { "SEARCH" };
    if let Some(charset) = charset {
        let name = match charset {
            Charset::Atom(atom) => atom.inner().to_string(),
            Charset::Quoted(quoted) => quoted.inner().to_string(),
        };
        if !name.eq_ignore_ascii_case("UTF-8") && !name.eq_ignore_ascii_case("US-ASCII") {
            return send(
                stream,
                &format!("{tag} NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"),
            )
            .await;
        }
    }
    let Some(selected) = session.selected() else {
        return send(stream, &format!("{tag} BAD No mailbox selected\r\n")).await;
    };
    let messages = selected.messages.clone();
    let archives = session.shared.archives.clone();
    let hits = tokio::task::spawn_blocking(move || run(&archives, &messages, &keys, uid)).await;
    match hits {
        Ok(Ok(hits)) => {
            let mut line = String::from("* SEARCH");
            for hit in hits {
                line.push_str(&format!(" {hit}"));
            }
            send(stream, &format!("{line}\r\n{tag} OK {verb} completed\r\n")).await
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "search failed");
            send(
                stream,
                &format!("{tag} NO [SERVERBUG] The search failed; the error is logged\r\n"),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "search panicked");
            send(
                stream,
                &format!("{tag} NO [SERVERBUG] The search failed; the error is logged\r\n"),
            )
            .await
        }
    }
}
