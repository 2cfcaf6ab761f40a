//! BODY and BODYSTRUCTURE as Dovecot's `imap-bodystructure.c` writes them.

use super::data::{self, Params, PartData};
use super::envelope;
use super::part::{Kind, Part};
use super::rfc822::Parser;
use super::strings::{append_nstring_nolf, append_string};

const EMPTY_BODY: &[u8] = b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
const EMPTY_BODYSTRUCTURE: &[u8] =
    b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

fn params_write(out: &mut Vec<u8>, params: &Params, default_charset: bool) {
    if !default_charset && params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    let mut seen_charset = false;
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if default_charset && k.eq_ignore_ascii_case(b"charset") {
            seen_charset = true;
        }
        append_string(out, k);
        out.push(b' ');
        append_string(out, v);
    }
    if default_charset && !seen_charset {
        if !params.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"charset\" \"us-ascii\"");
    }
    out.push(b')');
}

fn write_extension(out: &mut Vec<u8>, d: &PartData) {
    out.push(b' ');
    match &d.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some(disp) => {
            out.push(b'(');
            append_string(out, disp);
            out.push(b' ');
            params_write(out, &d.disposition_params, false);
            out.push(b')');
        }
    }
    out.push(b' ');
    match &d.language {
        None => out.extend_from_slice(b"NIL"),
        Some(langs) => {
            out.push(b'(');
            for (i, l) in langs.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                append_string(out, l);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    append_nstring_nolf(out, d.location.as_deref());
}

fn lines(s: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', s).count()
}

fn write_part(out: &mut Vec<u8>, s: &[u8], part: &Part, extended: bool) {
    let mut d = data::parse(s, &part.fields);
    if part.overflow {
        d.content_type = Some(b"application".to_vec());
        d.subtype = Some(b"octet-stream".to_vec());
    }
    if part.kind == Kind::Multipart {
        if part.children.is_empty() {
            out.extend_from_slice(if extended {
                EMPTY_BODYSTRUCTURE
            } else {
                EMPTY_BODY
            });
        }
        for c in &part.children {
            out.push(b'(');
            write_part(out, s, c, extended);
            out.push(b')');
        }
        out.push(b' ');
        append_string(out, d.subtype.as_deref().unwrap_or(b""));
        if !extended {
            return;
        }
        out.push(b' ');
        params_write(out, &d.params, false);
        write_extension(out, &d);
        return;
    }
    let text;
    if part.kind == Kind::Message {
        // message/global only when it encapsulates (IMAP4rev2); a digest's
        // part without a Content-Type is message/rfc822.
        let global = d
            .subtype
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(b"global"));
        out.extend_from_slice(match global {
            true => b"\"message\" \"global\"",
            false => b"\"message\" \"rfc822\"",
        });
        text = false;
    } else if let Some(ct) = &d.content_type {
        text = ct.eq_ignore_ascii_case(b"text");
        append_string(out, ct);
        out.push(b' ');
        append_string(out, d.subtype.as_deref().unwrap_or(b""));
    } else {
        text = true;
        out.extend_from_slice(b"\"text\" \"plain\"");
    }
    out.push(b' ');
    params_write(out, &d.params, text);
    out.push(b' ');
    append_nstring_nolf(out, d.id.as_deref());
    out.push(b' ');
    append_nstring_nolf(out, d.description.as_deref());
    out.push(b' ');
    match &d.encoding {
        Some(e) => append_string(out, e),
        None => out.extend_from_slice(b"\"7bit\""),
    }
    let body = &s[part.body()];
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    if text {
        out.extend_from_slice(format!(" {}", lines(body)).as_bytes());
    } else if part.kind == Kind::Message {
        let child = &part.children[0];
        out.extend_from_slice(b" (");
        envelope::write(out, &envelope::parse(s, &child.fields));
        out.extend_from_slice(b") (");
        write_part(out, s, child, extended);
        out.push(b')');
        out.extend_from_slice(format!(" {}", lines(body)).as_bytes());
    }
    if !extended {
        return;
    }
    out.push(b' ');
    append_nstring_nolf(out, d.md5.as_deref());
    write_extension(out, &d);
}

/// The message parser's TEXT flag: the first Content-Type is `text` or
/// `text/...`, or there is none.
fn parser_text_flag(s: &[u8], part: &Part) -> bool {
    let Some(f) = part.fields.iter().find(|f| f.is(s, "Content-Type")) else {
        return true;
    };
    let mut p = Parser::new(f.value(s));
    p.skip_lwsp();
    let mut ct = Vec::new();
    p.parse_content_type(&mut ct);
    ct.len() >= 4 && ct[..4].eq_ignore_ascii_case(b"text") && (ct.len() == 4 || ct[4] == b'/')
}

/// `message_part_data_is_plain_7bit()`: Dovecot then answers from a fixed
/// template (lower-case "7bit" and "us-ascii" whatever the header says).
fn is_plain_7bit(s: &[u8], root: &Part, d: &PartData) -> bool {
    root.kind == Kind::Leaf
        && parser_text_flag(s, root)
        && d.subtype
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(b"plain"))
        && (d.params.is_empty()
            || (d.params.len() == 1
                && d.params[0].0.eq_ignore_ascii_case(b"charset")
                && d.params[0].1.eq_ignore_ascii_case(b"us-ascii")))
        && d.id.is_none()
        && d.description.is_none()
        && d.encoding
            .as_deref()
            .is_none_or(|e| e.eq_ignore_ascii_case(b"7bit"))
        && d.md5.is_none()
        && d.disposition.is_none()
        && d.language.is_none()
        && d.location.is_none()
}

/// BODYSTRUCTURE (`extended`) or BODY of the parsed message, with the
/// outer parentheses.
pub fn write(s: &[u8], root: &Part, extended: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    if is_plain_7bit(s, root, &data::parse(s, &root.fields)) {
        let body = &s[root.body()];
        out.extend_from_slice(
            format!(
                "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" {} {}{})",
                body.len(),
                lines(body),
                if extended { " NIL NIL NIL NIL" } else { "" }
            )
            .as_bytes(),
        );
        return out;
    }
    out.push(b'(');
    write_part(&mut out, s, root, extended);
    out.push(b')');
    out
}
