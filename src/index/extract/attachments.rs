//! Attachments: which to read, their file names, and their text (PDF,
//! Office Open XML, OpenDocument), read by a worker process within the
//! configured bounds (`pool`).

use mail_parser::MessageParser;

use super::headers::{decode_text, decoded};
use super::outcome::NotExtracted;
use super::pool::{self, WorkerLimits};
use super::protocol::DocKind as Kind;
use super::{Limits, MAX_TEXT};
use crate::mime::{FileName, TextKind, TextPart};

fn extension(part: &TextPart) -> Option<String> {
    let name = &part.file_name.as_ref()?.value;
    let dot = name.iter().rposition(|&b| b == b'.')?;
    Some(String::from_utf8_lossy(&name[dot + 1..]).to_ascii_lowercase())
}

/// What the part says it is.
fn declared(part: &TextPart) -> Option<Kind> {
    let media = part.media_type.as_str();
    let ext = extension(part);
    if matches!(media, "application/pdf" | "application/x-pdf") || ext.as_deref() == Some("pdf") {
        return Some(Kind::Pdf);
    }
    let office_type = media.starts_with("application/vnd.openxmlformats-officedocument.")
        || media.starts_with("application/vnd.oasis.opendocument.");
    let office_ext = matches!(
        ext.as_deref(),
        Some(
            "docx"
                | "docm"
                | "dotx"
                | "xlsx"
                | "xlsm"
                | "pptx"
                | "pptm"
                | "ppsx"
                | "odt"
                | "ott"
                | "ods"
                | "odp"
        )
    );
    (office_type || office_ext).then_some(Kind::Office)
}

/// Whether to decode a part: text, but not the HTML form of a text also
/// sent as plain text (the same words); an attachment that says it is a
/// PDF or an office document, or a generic one (octet-stream) that may
/// be, within the size bound (`encoded` is its transfer-encoded length,
/// base64 being 4/3 of the decoded size).
pub fn wanted(part: &TextPart, encoded: usize, limits: &Limits) -> bool {
    if part.kind != TextKind::Attachment {
        return !(part.plain_alternative && part.media_type == "text/html");
    }
    let generic = matches!(part.media_type.as_str(), "application/octet-stream" | "");
    encoded / 4 * 3 <= limits.attachment_bytes && (generic || declared(part).is_some())
}

/// The text of a decoded attachment, if it is of a kind that has one; or
/// why it could not be had (logged here, once per attachment).
pub fn text(part: &TextPart, limits: &Limits) -> Option<Result<String, NotExtracted>> {
    let bytes = &part.bytes;
    if bytes.is_empty() || bytes.len() > limits.attachment_bytes {
        return None;
    }
    let kind = declared(part).or_else(|| {
        if bytes.starts_with(b"%PDF-") {
            Some(Kind::Pdf)
        } else if bytes.starts_with(b"PK\x03\x04") {
            Some(Kind::Office)
        } else {
            None
        }
    })?;
    let worker = WorkerLimits {
        memory: limits.attachment_memory,
        time: limits.attachment_time,
    };
    // Zip members are read to at most four times the attachment limit:
    // a zip bomb's text stays small.
    let max_member = limits.attachment_bytes as u64 * 4;
    Some(
        pool::extract(kind, bytes, max_member, MAX_TEXT, worker).map_err(|failed| {
            let name = part
                .file_name
                .as_ref()
                .map(|n| String::from_utf8_lossy(&n.value).into_owned());
            tracing::warn!(
                kind = kind.as_str(),
                file_name = name.as_deref().unwrap_or(""),
                bytes = bytes.len(),
                reason = %failed.reason,
                detail = %failed.detail,
                "attachment text not extracted; the message is archived and its other text indexed"
            );
            failed.reason
        }),
    )
}

/// A file name as text: RFC 2231 (`charset'lang'%XX`), RFC 2047 words, or
/// as written.
pub fn file_name(parser: &MessageParser, name: &FileName) -> String {
    let value = &name.value;
    if name.extended {
        let mut parts = value.splitn(3, |&b| b == b'\'');
        if let (Some(charset), Some(_), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        {
            return decode_text(&percent_decode(encoded), Some(charset));
        }
    }
    if value.windows(2).any(|w| w == b"=?")
        && let Some(text) = decoded(parser, "subject", value)
    {
        return text;
    }
    decode_text(value, None)
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_in_every_form() {
        let parser = MessageParser::default();
        let name = |extended, value: &str| FileName {
            extended,
            value: value.as_bytes().to_vec(),
        };
        assert_eq!(
            file_name(&parser, &name(true, "utf-8''Gr%C3%BC%C3%9Fe.pdf")),
            "Grüße.pdf"
        );
        assert_eq!(
            file_name(&parser, &name(false, "=?iso-8859-1?q?R=E9sum=E9.docx?=")),
            "Résumé.docx"
        );
        assert_eq!(file_name(&parser, &name(false, "plain.txt")), "plain.txt");
    }
}
