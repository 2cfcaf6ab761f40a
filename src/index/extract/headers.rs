//! Header fields as SEARCH reads them: split where FETCH BODY[HEADER]
//! splits them, each value decoded (RFC 2047 words; addresses also as
//! `Name <addr>`) and folded. The raw value is not searched: the base64 of
//! an encoded word is nothing a person wrote.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderValue, MessageParser};

use crate::index::analysis::fold;

/// Splits a header block into (lower-case name, raw value) fields,
/// unfolding continuation lines; a continuation with no field before it is
/// dropped.
pub fn split_fields(block: &[u8]) -> Vec<(String, Vec<u8>)> {
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
pub fn decoded(parser: &MessageParser, name: &str, value: &[u8]) -> Option<String> {
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
pub fn decode_text(bytes: &[u8], charset: Option<&[u8]>) -> String {
    let ascii = |c: &[u8]| c.eq_ignore_ascii_case(b"us-ascii") || c.eq_ignore_ascii_case(b"ascii");
    match charset.filter(|c| !ascii(c)).and_then(charset_decoder) {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// One header field: lower-case name, and its texts, folded: the value as
/// text with its RFC 2047 words decoded, and for fields mail-parser reads
/// otherwise (addresses as `Name <addr>`) that form too, unless the first
/// holds it already (which adds nothing to a substring search).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    pub name: String,
    pub texts: Vec<String>,
}

/// The fields of a header block.
pub fn fields(parser: &MessageParser, block: &[u8]) -> Vec<HeaderField> {
    split_fields(block)
        .into_iter()
        .map(|(name, value)| {
            let text = decoded(parser, "subject", &value)
                .unwrap_or_else(|| String::from_utf8_lossy(&value).into_owned());
            let mut texts = vec![fold(&text)];
            if let Some(d) = decoded(parser, &name, &value).map(|d| fold(&d))
                && !texts[0].contains(&d)
            {
                texts.push(d);
            }
            HeaderField { name, texts }
        })
        .collect()
}

/// Header fields as TEXT reads them: a line `name: text` for each text.
pub fn lines(fields: &[HeaderField]) -> impl Iterator<Item = String> + '_ {
    fields
        .iter()
        .flat_map(|f| f.texts.iter().map(move |t| format!("{}: {t}", f.name)))
}
