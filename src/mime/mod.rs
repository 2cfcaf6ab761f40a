//! What FETCH serves from a message's raw stored bytes, byte for byte as
//! Dovecot 2.3 serves it: the served form (RFC822.SIZE, BODY[]), ENVELOPE,
//! BODY/BODYSTRUCTURE and BODY[section].
//!
//! Everything works on the CRLF form of the message (bare LF -> CRLF), the
//! form Dovecot's sizes and offsets refer to. Strings are written with
//! Dovecot's quoting rules ([`strings`]); non-UTF-8 header bytes pass
//! through, so the IMAP texts are returned as bytes.

mod address;
mod binary;
mod bodystructure;
mod data;
mod envelope;
mod header;
mod part;
mod rfc822;
mod section;
mod served;
pub mod strings;
mod text;

use std::borrow::Cow;

pub use address::Address;
pub use binary::BinaryError;
pub use section::SectionSpec;
pub use served::{Served, crlf_len, served};
pub use text::{FileName, TextKind, TextPart};

/// The IMAP revision a message is described for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    Rev1,
    Rev2,
}

/// A parsed message; parse once when several items are fetched.
pub struct Message<'a> {
    /// CRLF form, NUL bytes kept.
    crlf: Cow<'a, [u8]>,
    root: part::Part,
}

impl<'a> Message<'a> {
    /// The message as IMAP4rev1 describes it.
    pub fn parse(raw: &'a [u8]) -> Self {
        Self::parse_for(raw, Revision::Rev1)
    }

    /// The message as `revision` describes it: IMAP4rev2 has message/global
    /// parts encapsulate a message (their own header, ENVELOPE, part
    /// numbers), IMAP4rev1 only message/rfc822 ones.
    pub fn parse_for(raw: &'a [u8], revision: Revision) -> Self {
        let crlf = served::crlf(raw);
        let root = part::parse(&crlf, revision == Revision::Rev2);
        Message { crlf, root }
    }

    /// RFC822.SIZE.
    pub fn size(&self) -> usize {
        self.crlf.len()
    }

    /// The ENVELOPE value with its parentheses.
    pub fn envelope(&self) -> Vec<u8> {
        let mut out = vec![b'('];
        envelope::write(&mut out, &envelope::parse(&self.crlf, &self.root.fields));
        out.push(b')');
        out
    }

    /// BODYSTRUCTURE (`extensible`) or BODY.
    pub fn body_structure(&self, extensible: bool) -> Vec<u8> {
        bodystructure::write(&self.crlf, &self.root, extensible)
    }

    /// BODY[section] as served (NUL -> 0x80); `None` when the part does not
    /// exist (Dovecot then sends an empty string).
    pub fn section(&self, spec: &SectionSpec) -> Option<Vec<u8>> {
        section::get(&self.crlf, &self.root, spec)
            .map(|v| served::no_nuls(Cow::Owned(v)).into_owned())
    }
}

impl Message<'_> {
    /// BINARY[part]: the decoded body, NUL bytes kept; for an empty `path`
    /// (BINARY[]) the whole message, top-level header included (RFC 3516),
    /// with every encoded part decoded. `Ok(None)` when the part does not
    /// exist (Dovecot sends an empty string).
    pub fn binary(&self, path: &[u32]) -> Result<Option<Vec<u8>>, BinaryError> {
        if path.is_empty() {
            return binary::whole(&self.crlf, &self.root).map(Some);
        }
        let Some(part) = section::find(&self.root, path) else {
            return Ok(None);
        };
        binary::decode(&self.crlf, part).map(Some)
    }

    /// BINARY.SIZE[part]: the length of [`Message::binary`]. (Dovecot's own
    /// BINARY.SIZE often disagrees with the length of its BINARY literal;
    /// see conformance/KNOWN-DIFFERENCES.md.)
    pub fn binary_size(&self, path: &[u32]) -> Result<usize, BinaryError> {
        Ok(self.binary(path)?.map_or(0, |v| v.len()))
    }
}

/// The fields of a message's header that SORT and THREAD read, each from
/// its first occurrence (Dovecot's `mail_get_first_header`): raw values
/// (unfolded, NUL bytes as U+FFFD), addresses parsed as for ENVELOPE.
#[derive(Debug, Default)]
pub struct FirstFields {
    pub subject: Option<Vec<u8>>,
    pub date: Option<Vec<u8>>,
    pub from: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub message_id: Option<Vec<u8>>,
    pub in_reply_to: Option<Vec<u8>>,
    pub references: Option<Vec<u8>>,
}

/// [`FirstFields`] of a message or of its header block alone.
pub fn first_fields(raw: &[u8]) -> FirstFields {
    let message = Message::parse(raw);
    let s = &message.crlf;
    let mut out = FirstFields::default();
    let mut seen = [false; 8];
    for field in &message.root.fields {
        // `Date :` (RFC 822's obsolete syntax) is a Date field too.
        let name = field.name(s).trim_ascii_end().to_ascii_lowercase();
        let index = match &name[..] {
            b"subject" => 0,
            b"date" => 1,
            b"from" => 2,
            b"to" => 3,
            b"cc" => 4,
            b"message-id" => 5,
            b"in-reply-to" => 6,
            b"references" => 7,
            _ => continue,
        };
        if std::mem::replace(&mut seen[index], true) {
            continue;
        }
        let value = field.value(s);
        match index {
            0 => out.subject = Some(data::header_strdup(value)),
            1 => out.date = Some(data::header_strdup(value)),
            2 => out.from = address::parse(value),
            3 => out.to = address::parse(value),
            4 => out.cc = address::parse(value),
            5 => out.message_id = Some(data::header_strdup(value)),
            6 => out.in_reply_to = Some(data::header_strdup(value)),
            _ => out.references = Some(data::header_strdup(value)),
        }
    }
    out
}

/// ENVELOPE as Dovecot sends it, e.g. `("date" "subject" ((NIL NIL "a" "b")) ...)`.
/// Bytes, not `String`: raw 8-bit header bytes are sent as they are.
pub fn envelope(raw: &[u8]) -> Vec<u8> {
    Message::parse(raw).envelope()
}

/// BODYSTRUCTURE (`extensible = true`) or BODY (`false`).
pub fn body_structure(raw: &[u8], extensible: bool) -> Vec<u8> {
    Message::parse(raw).body_structure(extensible)
}

/// BODY[section] on the served form; `None` when the part does not exist.
pub fn section(raw: &[u8], spec: &SectionSpec) -> Option<Vec<u8>> {
    Message::parse(raw).section(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_message() {
        let raw = b"From: Alice <a@example.com>\nSubject: hi\nDate: Tue, 1 Jun 2021 10:00:00 +0000\n\nbody\n";
        let m = Message::parse(raw);
        assert_eq!(m.size(), raw.len() + 5);
        assert_eq!(
            m.envelope(),
            b"(\"Tue, 1 Jun 2021 10:00:00 +0000\" \"hi\" ((\"Alice\" NIL \"a\" \"example.com\")) \
              ((\"Alice\" NIL \"a\" \"example.com\")) ((\"Alice\" NIL \"a\" \"example.com\")) \
              NIL NIL NIL NIL NIL)"
        );
        assert_eq!(
            m.body_structure(true),
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)"
        );
        assert_eq!(
            m.body_structure(false),
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)"
        );
        assert_eq!(m.section(&SectionSpec::Text(vec![])).unwrap(), b"body\r\n");
        assert_eq!(m.binary(&[1]).unwrap().unwrap(), b"body\r\n");
        assert_eq!(m.binary_size(&[1]).unwrap(), 6);
    }

    /// BINARY[] is the whole message, header first (expectations from
    /// Dovecot 2.3.19).
    #[test]
    fn binary_of_the_whole_message() {
        let multipart = b"From: a@example.com\r\nSubject: multi\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\nprologue\r\n--b\r\n\
            Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            aGVsbG8gd29ybGQ=\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n";
        let m = Message::parse(multipart);
        let whole = m.binary(&[]).unwrap().unwrap();
        assert_eq!(
            whole,
            b"From: a@example.com\r\nSubject: multi\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\nprologue\r\n--b\r\n\
            Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\n\
            hello world\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n"
        );
        assert_eq!(m.binary_size(&[]).unwrap(), 241);
        let single = b"From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\
            Subject: single\r\nContent-Type: text/plain\r\n\r\naGVsbG8gd29ybGQ=\r\n";
        assert_eq!(
            Message::parse(single).binary(&[]).unwrap().unwrap(),
            b"From: a@example.com\r\nSubject: single\r\nContent-Type: text/plain\r\n\
            Content-Transfer-Encoding: binary\r\n\r\nhello world"
        );
        let plain = b"From: a@example.com\nSubject: plain\n\nbody\n";
        assert_eq!(
            Message::parse(plain).binary(&[]).unwrap().unwrap(),
            b"From: a@example.com\r\nSubject: plain\r\n\r\nbody\r\n"
        );
    }
}
