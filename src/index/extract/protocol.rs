//! What the index process and an extraction worker say to each other over
//! the worker's stdin and stdout, little-endian:
//!
//! - request: kind (1 byte: 1 PDF, 2 office document), the most bytes to
//!   read of one zip member (8), the most text to return (8), the length of
//!   the file (8), the file;
//! - reply: status (1 byte: 0 text, 1 unreadable, 2 the parser panicked),
//!   retiring (1 byte: the worker exits after this reply), the length of
//!   the text (8), the text (UTF-8, at most the requested maximum).

use std::io::{self, Read, Write};

/// A kind of document a worker reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Pdf,
    /// Office Open XML or OpenDocument (zip archives of XML).
    Office,
}

impl DocKind {
    fn code(self) -> u8 {
        match self {
            DocKind::Pdf => 1,
            DocKind::Office => 2,
        }
    }

    fn from_code(code: u8) -> Option<DocKind> {
        match code {
            1 => Some(DocKind::Pdf),
            2 => Some(DocKind::Office),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Pdf => "PDF",
            DocKind::Office => "office document",
        }
    }
}

/// What a worker is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RequestHeader {
    pub kind: DocKind,
    pub max_member: u64,
    pub max_text: u64,
    pub len: u64,
}

pub const REQUEST_HEADER_LEN: usize = 25;

impl RequestHeader {
    pub fn encode(&self) -> [u8; REQUEST_HEADER_LEN] {
        let mut out = [0; REQUEST_HEADER_LEN];
        out[0] = self.kind.code();
        out[1..9].copy_from_slice(&self.max_member.to_le_bytes());
        out[9..17].copy_from_slice(&self.max_text.to_le_bytes());
        out[17..25].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// The next request's header; `None` at the end of the input.
    pub fn read(input: &mut impl Read) -> io::Result<Option<RequestHeader>> {
        let mut raw = [0; REQUEST_HEADER_LEN];
        match input.read_exact(&mut raw) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let number = |at: usize| u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
        let kind = DocKind::from_code(raw[0])
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown document kind"))?;
        Ok(Some(RequestHeader {
            kind,
            max_member: number(1),
            max_text: number(9),
            len: number(17),
        }))
    }
}

/// How an extraction ended in the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Text,
    Unreadable,
    Panicked,
}

pub const REPLY_HEADER_LEN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyHeader {
    pub status: Status,
    pub retiring: bool,
    pub len: u64,
}

impl ReplyHeader {
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut raw = [0; REPLY_HEADER_LEN];
        raw[0] = match self.status {
            Status::Text => 0,
            Status::Unreadable => 1,
            Status::Panicked => 2,
        };
        raw[1] = u8::from(self.retiring);
        raw[2..].copy_from_slice(&self.len.to_le_bytes());
        out.write_all(&raw)
    }

    pub fn decode(raw: &[u8; REPLY_HEADER_LEN]) -> Option<ReplyHeader> {
        let status = match raw[0] {
            0 => Status::Text,
            1 => Status::Unreadable,
            2 => Status::Panicked,
            _ => return None,
        };
        let retiring = match raw[1] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let len = u64::from_le_bytes(raw[2..].try_into().expect("8 bytes"));
        Some(ReplyHeader {
            status,
            retiring,
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let request = RequestHeader {
            kind: DocKind::Office,
            max_member: 7,
            max_text: 9,
            len: 1 << 40,
        };
        let decoded = RequestHeader::read(&mut &request.encode()[..])
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                decoded.kind,
                decoded.max_member,
                decoded.max_text,
                decoded.len
            ),
            (DocKind::Office, 7, 9, 1 << 40)
        );
        assert!(RequestHeader::read(&mut &[][..]).unwrap().is_none());
        let reply = ReplyHeader {
            status: Status::Panicked,
            retiring: true,
            len: 3,
        };
        let mut raw = Vec::new();
        reply.write(&mut raw).unwrap();
        assert_eq!(ReplyHeader::decode(&raw.try_into().unwrap()), Some(reply));
        assert_eq!(ReplyHeader::decode(&[9; REPLY_HEADER_LEN]), None);
    }
}
