//! A message's text for searching (the full-text index): its parts in the
//! MIME tree FETCH serves, each with what the index needs to know of it.

use super::{Message, binary, data, part};

/// What a [`TextPart`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// The content of a text part (or of a message/* leaf such as a
    /// delivery status).
    Body,
    /// The header of an attached message: text a reader sees.
    MessageHeader,
    /// The MIME header of a part (Content-Type and the like).
    PartHeader,
    /// Any other leaf: an attachment (PDF, image, ...). Its bytes are
    /// decoded only when the caller asks for them.
    Attachment,
}

/// A file name parameter as written: `extended` for RFC 2231's
/// `filename*=charset'lang'%XX` form (continuations already merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub extended: bool,
    pub value: Vec<u8>,
}

/// One piece of a message's text, for searching its words: the bytes
/// (transfer encoding undone; left as they are where it cannot be) and the
/// declared charset.
pub struct TextPart {
    pub kind: TextKind,
    /// `type/subtype` of a Body or Attachment, lower-case; empty when the
    /// part declares no Content-Type.
    pub media_type: String,
    pub charset: Option<Vec<u8>>,
    /// Content-Disposition's `filename`, else Content-Type's `name`.
    pub file_name: Option<FileName>,
    /// A part of a multipart/alternative that also has a text/plain part
    /// (and is not that part): the same text in another form.
    pub plain_alternative: bool,
    pub bytes: Vec<u8>,
}

impl Message<'_> {
    /// The text of the message in the same MIME tree FETCH serves: the
    /// content of every text/* and message/* leaf (and of leaves without a
    /// Content-Type), the header of every attached message, every part's
    /// MIME header, and every other leaf as an attachment. The bytes of a
    /// leaf are decoded when `wanted(part, encoded length)` says so.
    pub fn text_parts(&self, wanted: &dyn Fn(&TextPart, usize) -> bool) -> Vec<TextPart> {
        let mut out = Vec::new();
        walk_text(&self.crlf, &self.root, true, false, wanted, &mut out);
        out
    }
}

/// `type/subtype`, lower-case; empty when the part declares none.
fn media_type(data: &data::PartData) -> String {
    match (&data.content_type, &data.subtype) {
        (Some(t), Some(sub)) => format!(
            "{}/{}",
            String::from_utf8_lossy(t),
            String::from_utf8_lossy(sub)
        )
        .to_ascii_lowercase(),
        (Some(t), None) => String::from_utf8_lossy(t).to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn walk_text(
    s: &[u8],
    part: &part::Part,
    root: bool,
    plain_sibling: bool,
    wanted: &dyn Fn(&TextPart, usize) -> bool,
    out: &mut Vec<TextPart>,
) {
    let header = |kind, part: &part::Part| TextPart {
        kind,
        media_type: String::new(),
        charset: None,
        file_name: None,
        plain_alternative: false,
        bytes: s[part.hdr_start..part.hdr_end].to_vec(),
    };
    if !root {
        out.push(header(TextKind::PartHeader, part));
    }
    match part.kind {
        part::Kind::Leaf => {
            let data = data::parse(s, &part.fields);
            let searchable = data.content_type.as_deref().is_none_or(|t| {
                t.eq_ignore_ascii_case(b"text") || t.eq_ignore_ascii_case(b"message")
            });
            let param = |params: &data::Params, name: &str| {
                params.iter().find_map(|(key, value)| {
                    let extended = key.strip_suffix(b"*").unwrap_or(key);
                    extended
                        .eq_ignore_ascii_case(name.as_bytes())
                        .then(|| FileName {
                            extended: extended.len() < key.len(),
                            value: value.clone(),
                        })
                })
            };
            let media_type = media_type(&data);
            let mut text = TextPart {
                kind: if searchable {
                    TextKind::Body
                } else {
                    TextKind::Attachment
                },
                plain_alternative: plain_sibling
                    && !matches!(media_type.as_str(), "text/plain" | ""),
                media_type,
                charset: data
                    .params
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(b"charset"))
                    .map(|(_, value)| value.clone()),
                file_name: param(&data.disposition_params, "filename")
                    .or_else(|| param(&data.params, "name")),
                bytes: Vec::new(),
            };
            if wanted(&text, part.body().len()) {
                text.bytes = binary::decode_text(s, part);
            }
            out.push(text);
        }
        part::Kind::Message => {
            for child in &part.children {
                out.push(header(TextKind::MessageHeader, child));
                walk_text(s, child, true, false, wanted, out);
            }
        }
        part::Kind::Multipart => {
            let alternative = data::parse(s, &part.fields)
                .subtype
                .is_some_and(|t| t.eq_ignore_ascii_case(b"alternative"));
            let plain = alternative
                && part.children.iter().any(|c| {
                    c.kind == part::Kind::Leaf
                        && matches!(
                            media_type(&data::parse(s, &c.fields)).as_str(),
                            "text/plain" | ""
                        )
                });
            for child in &part.children {
                walk_text(s, child, false, plain, wanted, out);
            }
        }
    }
}
