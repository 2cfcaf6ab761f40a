//! PREVIEW (RFC 8970): the start of a message's text as its reader sees
//! it, from the text the index extracts of it (text parts, HTML as text;
//! not attachments nor attached messages' headers), in its own case, its
//! white space collapsed.

use mail_parser::decoders::html::html_to_text;

use super::headers::decode_text;
use crate::mime::{self, TextKind};

/// Characters at most (RFC 8970 says a preview SHOULD have no more than
/// 200, and MUST NOT have more than 256).
const MAX_CHARS: usize = 200;

pub fn preview(message: &mime::Message) -> String {
    // A text part with a file name is an attachment all the same.
    let body = |part: &mime::TextPart, _: usize| {
        part.kind == TextKind::Body
            && part.file_name.is_none()
            && !(part.plain_alternative && part.media_type == "text/html")
    };
    let mut out = String::new();
    let mut chars = 0;
    for part in message.text_parts(&body) {
        if part.kind != TextKind::Body || part.file_name.is_some() {
            continue;
        }
        let text = decode_text(&part.bytes, part.charset.as_deref());
        let text = match part.media_type.as_str() {
            "text/html" => html_to_text(&text),
            _ => text,
        };
        for word in text.split_whitespace() {
            if chars > 0 {
                out.push(' ');
                chars += 1;
            }
            for c in word.chars().filter(|c| !c.is_control()) {
                if chars == MAX_CHARS {
                    return out;
                }
                out.push(c);
                chars += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(raw: &str) -> String {
        preview(&mime::Message::parse(raw.as_bytes()))
    }

    #[test]
    fn the_text_as_read_cut_to_200_characters() {
        assert_eq!(
            of("Subject: x\r\n\r\nHello  Bob,\r\n\r\n\tsee\r\nyou.\r\n"),
            "Hello Bob, see you."
        );
        let html = "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Gr\u{fc}\u{df}e <b>aus</b> K\u{f6}ln</p>";
        assert_eq!(of(html), "Gr\u{fc}\u{df}e aus K\u{f6}ln");
        let long = format!("Subject: x\r\n\r\n{}", "\u{e9}t\u{e9} ".repeat(100));
        let cut = of(&long);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.starts_with("\u{e9}t\u{e9} \u{e9}t\u{e9}"));
        // Attachments are not the message's text.
        let attached = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--b--\r\n";
        assert_eq!(of(attached), "body");
        assert_eq!(of("Subject: empty\r\n\r\n"), "");
    }
}
