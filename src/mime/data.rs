//! The Content-* data of one part, as Dovecot's `message-part-data.c`
//! collects it for BODYSTRUCTURE.

use super::header::Field;
use super::rfc822::{Parser, rfc2231_parse};

pub use super::rfc822::Params;

#[derive(Debug, Default)]
pub struct PartData {
    /// `None`: no Content-Type at all (text/plain).
    pub content_type: Option<Vec<u8>>,
    pub subtype: Option<Vec<u8>>,
    pub params: Params,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Vec<u8>>,
    pub disposition_params: Params,
    pub language: Option<Vec<Vec<u8>>>,
    pub location: Option<Vec<u8>>,
}

/// Header values are C strings in Dovecot: NUL bytes become U+FFFD.
pub fn header_strdup(v: &[u8]) -> Vec<u8> {
    if !v.contains(&0) {
        return v.to_vec();
    }
    let mut out = Vec::with_capacity(v.len() + 8);
    for &c in v {
        if c == 0 {
            out.extend_from_slice("\u{fffd}".as_bytes());
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_content_type(d: &mut PartData, value: &[u8]) {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut ct = Vec::new();
    let ret = p.parse_content_type(&mut ct);
    match ct.iter().position(|&c| c == b'/') {
        Some(i) => {
            d.content_type = Some(ct[..i].to_vec());
            d.subtype = Some(ct[i + 1..].to_vec());
        }
        None => d.content_type = Some(ct),
    }
    if ret < 0 {
        return;
    }
    d.params = rfc2231_parse(&mut p).0;
}

fn parse_encoding(d: &mut PartData, value: &[u8]) {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut t = Vec::new();
    if p.parse_mime_token(&mut t) >= 0 && p.skip_lwsp() == 0 && !t.is_empty() {
        d.encoding = Some(t);
    }
}

fn parse_disposition(d: &mut PartData, value: &[u8]) {
    let mut p = Parser::new(value);
    p.skip_lwsp();
    let mut t = Vec::new();
    if p.parse_mime_token(&mut t) < 0 {
        return;
    }
    d.disposition = Some(t);
    d.disposition_params = rfc2231_parse(&mut p).0;
}

fn parse_language(d: &mut PartData, value: &[u8]) {
    let mut p = Parser::new(value);
    let mut langs = Vec::new();
    p.skip_lwsp();
    loop {
        let mut t = Vec::new();
        if p.parse_atom(&mut t) < 0 {
            break;
        }
        langs.push(t);
        if p.at_end() || p.cur() != b',' {
            break;
        }
        p.pos += 1;
        p.skip_lwsp();
    }
    if !langs.is_empty() {
        d.language = Some(langs);
    }
}

pub fn parse(s: &[u8], fields: &[Field]) -> PartData {
    let mut d = PartData::default();
    for f in fields {
        let name = f.name(s);
        if name.len() < 8 || !name[..8].eq_ignore_ascii_case(b"Content-") {
            continue;
        }
        let n = &name[8..];
        let value = f.value(s);
        if n.eq_ignore_ascii_case(b"ID") {
            if d.id.is_none() {
                d.id = Some(header_strdup(value));
            }
        } else if n.eq_ignore_ascii_case(b"MD5") {
            if d.md5.is_none() {
                d.md5 = Some(header_strdup(value));
            }
        } else if n.eq_ignore_ascii_case(b"Type") {
            if d.content_type.is_none() {
                parse_content_type(&mut d, value);
            }
        } else if n.eq_ignore_ascii_case(b"Transfer-Encoding") {
            if d.encoding.is_none() {
                parse_encoding(&mut d, value);
            }
        } else if n.eq_ignore_ascii_case(b"Language") {
            if d.language.is_none() {
                parse_language(&mut d, value);
            }
        } else if n.eq_ignore_ascii_case(b"Location") {
            if d.location.is_none() {
                d.location = Some(header_strdup(value));
            }
        } else if n.eq_ignore_ascii_case(b"Description") {
            if d.description.is_none() {
                d.description = Some(header_strdup(value));
            }
        } else if n.eq_ignore_ascii_case(b"Disposition") && d.disposition_params.is_empty() {
            parse_disposition(&mut d, value);
        }
    }
    d
}
