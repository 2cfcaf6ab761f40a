//! PREVIEW (RFC 8970): the start of a message's text as its reader sees
//! it, read as the index reads text parts (HTML as text), in its own case,
//! its white space collapsed; from the first text part only and without
//! quoted lines, as Dovecot makes it (`conformance/PREVIEW-DIFFERENCES.md`
//! lists where the two still differ).

use super::headers::decode_text;
use super::html::text_of_html;
use crate::mime::{self, TextKind};

/// Characters at most (RFC 8970 says a preview SHOULD have no more than
/// 200, and MUST NOT have more than 256).
const MAX_CHARS: usize = 200;

/// The preview of a message: from its first text part (the plain one of
/// an alternative), as Dovecot takes it, without quoted lines (`>`).
pub fn preview(message: &mime::Message) -> String {
    // The HTML of an alternative with a plain text is passed over (not
    // decoded, listed all the same).
    let html_twin =
        |part: &mime::TextPart| part.plain_alternative && part.media_type == "text/html";
    let wanted =
        |part: &mime::TextPart, _: usize| part.kind != TextKind::Attachment && !html_twin(part);
    let parts = message.text_parts(&wanted);
    let Some(part) = parts
        .iter()
        .find(|p| p.kind == TextKind::Body && !html_twin(p))
    else {
        return String::new();
    };
    let text = decode_text(&part.bytes, part.charset.as_deref());
    let text = match part.media_type.as_str() {
        "text/html" => text_of_html(&text),
        _ => text,
    };
    let mut out = String::new();
    let mut chars = 0;
    let words = text
        .lines()
        .filter(|line| !line.starts_with('>'))
        // ASCII white space, as Dovecot: a no-break space stays.
        .flat_map(str::split_ascii_whitespace);
    for word in words {
        if chars > 0 {
            // No space at the end: a word must follow it.
            if chars + 1 >= MAX_CHARS {
                return out;
            }
            out.push(' ');
            chars += 1;
        }
        for c in word.chars().filter(|c| !c.is_control()) {
            if chars >= MAX_CHARS {
                return out;
            }
            out.push(c);
            chars += 1;
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
        assert_eq!(cut.chars().count(), 199);
        assert!(!cut.ends_with(' '));
        let word = format!("Subject: x\r\n\r\n{} and more", "x".repeat(250));
        assert_eq!(of(&word), "x".repeat(200));
        assert!(cut.starts_with("\u{e9}t\u{e9} \u{e9}t\u{e9}"));
        // Attachments are not the message's text.
        let attached = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--b--\r\n";
        assert_eq!(of(attached), "body");
        // The plain text of an alternative.
        let alternative = "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b\r\n\r\nplain\r\n--b--\r\n";
        assert_eq!(of(alternative), "plain");
        // The first text part only; quoted lines left out.
        let parts = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nOn Monday Bob wrote:\r\n> old\r\n>> older\r\nnew\r\n--b\r\n\r\nsecond\r\n--b--\r\n";
        assert_eq!(of(parts), "On Monday Bob wrote: new");
        assert_eq!(of("Subject: empty\r\n\r\n"), "");
    }
}
