//! BODY[section] lookups.

use super::part::{Kind, Part};

/// A BODY[...] section, independent of any IMAP codec. `path` holds the
/// part numbers (empty: the message itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionSpec {
    /// `BODY[]` (empty path) or `BODY[1.2]`: the whole message, or a part's body.
    Part(Vec<u32>),
    /// `HEADER`, `1.HEADER` (of an encapsulated message/rfc822).
    Header(Vec<u32>),
    /// `TEXT`, `3.TEXT`.
    Text(Vec<u32>),
    /// `HEADER.FIELDS (...)`.
    HeaderFields(Vec<u32>, Vec<Vec<u8>>),
    /// `HEADER.FIELDS.NOT (...)`.
    HeaderFieldsNot(Vec<u32>, Vec<Vec<u8>>),
    /// `1.MIME`: a part's MIME header.
    Mime(Vec<u32>),
}

impl SectionSpec {
    /// Parses the text between the brackets, e.g. `1.2.HEADER.FIELDS (From To)`.
    pub fn parse(text: &str) -> Option<SectionSpec> {
        let mut path = Vec::new();
        let mut rest = text.trim();
        while let Some(c) = rest.chars().next() {
            if !c.is_ascii_digit() {
                break;
            }
            let end = rest.find('.').unwrap_or(rest.len());
            let n: u32 = rest[..end].parse().ok()?;
            if n == 0 {
                return None;
            }
            path.push(n);
            rest = rest.get(end + 1..).unwrap_or("");
            if end == rest.len() + end {
                break;
            }
        }
        let upper = rest.to_ascii_uppercase();
        let list = |s: &str| -> Option<Vec<Vec<u8>>> {
            let s = s.trim();
            let inner = s.strip_prefix('(')?.strip_suffix(')')?;
            Some(
                inner
                    .split_ascii_whitespace()
                    .map(|f| f.trim_matches('"').as_bytes().to_vec())
                    .collect(),
            )
        };
        Some(match upper.as_str() {
            "" => SectionSpec::Part(path),
            "HEADER" => SectionSpec::Header(path),
            "TEXT" => SectionSpec::Text(path),
            "MIME" if !path.is_empty() => SectionSpec::Mime(path),
            u if u.starts_with("HEADER.FIELDS.NOT") => {
                SectionSpec::HeaderFieldsNot(path, list(&rest["HEADER.FIELDS.NOT".len()..])?)
            }
            u if u.starts_with("HEADER.FIELDS") => {
                SectionSpec::HeaderFields(path, list(&rest["HEADER.FIELDS".len()..])?)
            }
            _ => return None,
        })
    }
}

impl From<&imap_codec::imap_types::fetch::Section<'_>> for SectionSpec {
    fn from(s: &imap_codec::imap_types::fetch::Section<'_>) -> Self {
        use imap_codec::imap_types::fetch::{Part as P, Section as S};
        fn path(p: &P) -> Vec<u32> {
            p.0.as_ref().iter().map(|n| n.get()).collect()
        }
        fn opt(p: &Option<P>) -> Vec<u32> {
            p.as_ref().map(path).unwrap_or_default()
        }
        fn names(v: &[imap_codec::imap_types::core::AString<'_>]) -> Vec<Vec<u8>> {
            v.iter().map(|a| a.as_ref().to_vec()).collect()
        }
        match s {
            S::Part(p) => SectionSpec::Part(path(p)),
            S::Header(p) => SectionSpec::Header(opt(p)),
            S::HeaderFields(p, l) => SectionSpec::HeaderFields(opt(p), names(l.as_ref())),
            S::HeaderFieldsNot(p, l) => SectionSpec::HeaderFieldsNot(opt(p), names(l.as_ref())),
            S::Text(p) => SectionSpec::Text(opt(p)),
            S::Mime(p) => SectionSpec::Mime(path(p)),
        }
    }
}

/// Dovecot's `imap_msgpart_find()`: numbers walk into multiparts; `1` of a
/// non-multipart is the part itself; a message/rfc822 is entered when more
/// numbers follow.
pub fn find<'p>(root: &'p Part, path: &[u32]) -> Option<&'p Part> {
    let mut part = root;
    for (i, &num) in path.iter().enumerate() {
        let more = i + 1 < path.len();
        if part.kind == Kind::Multipart {
            part = part.children.get((num as usize).checked_sub(1)?)?;
        } else if num != 1 || (more && part.kind != Kind::Message) {
            // `1` of a non-multipart is the part itself, and ends the path
            return None;
        }
        if more && part.kind == Kind::Message {
            part = &part.children[0];
        }
    }
    Some(part)
}

/// The message whose header HEADER/TEXT refer to: the root, or the
/// message inside a message/rfc822 part.
fn message<'p>(root: &'p Part, path: &[u32]) -> Option<&'p Part> {
    if path.is_empty() {
        return Some(root);
    }
    let p = find(root, path)?;
    if p.kind == Kind::Message {
        p.children.first()
    } else {
        None
    }
}

/// HEADER.FIELDS of the top-level message as Dovecot answers it from its
/// header cache (where the fields are once ENVELOPE or the same fields have
/// been fetched): the matching fields as they are, then CRLF. (Parsed
/// afresh, Dovecot would also end an unterminated last field with CRLF.)
/// HEADER.FIELDS of an encapsulated message and every HEADER.FIELDS.NOT go
/// through Dovecot's header filter instead: the fields as they are, then
/// CRLF only if the header ended with an empty line.
fn header_fields(s: &[u8], msg: &Part, names: &[Vec<u8>], not: bool, top: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let cached = top && !not;
    for f in &msg.fields {
        let name = f.name(s);
        let hit = names.iter().any(|n| n.eq_ignore_ascii_case(name));
        if hit != not {
            out.extend_from_slice(&s[f.lines.clone()]);
        }
    }
    if msg.cut && !cached {
        // a header cut short by a boundary line: its last line end went to
        // the boundary, Dovecot's filter ends the header properly
        if !out.is_empty() && out.last() != Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    } else if cached || msg.eoh {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The bytes of a section in the CRLF form `s` (NULs not yet replaced).
pub fn get(s: &[u8], root: &Part, spec: &SectionSpec) -> Option<Vec<u8>> {
    Some(match spec {
        SectionSpec::Part(path) if path.is_empty() => s.to_vec(),
        SectionSpec::Part(path) => s[find(root, path)?.body()].to_vec(),
        SectionSpec::Mime(path) => {
            let p = find(root, path)?;
            s[p.hdr_start..p.hdr_end].to_vec()
        }
        SectionSpec::Header(path) => {
            let m = message(root, path)?;
            s[m.hdr_start..m.hdr_end].to_vec()
        }
        SectionSpec::Text(path) => s[message(root, path)?.body()].to_vec(),
        SectionSpec::HeaderFields(path, names) => {
            header_fields(s, message(root, path)?, names, false, path.is_empty())
        }
        SectionSpec::HeaderFieldsNot(path, names) => {
            header_fields(s, message(root, path)?, names, true, path.is_empty())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_codec::imap_types::core::{AString, Vec1};
    use imap_codec::imap_types::fetch::{Part as P, Section as S};
    use std::num::NonZeroU32;

    #[test]
    fn parse_text() {
        assert_eq!(SectionSpec::parse(""), Some(SectionSpec::Part(vec![])));
        assert_eq!(
            SectionSpec::parse("1.2"),
            Some(SectionSpec::Part(vec![1, 2]))
        );
        assert_eq!(
            SectionSpec::parse("HEADER"),
            Some(SectionSpec::Header(vec![]))
        );
        assert_eq!(
            SectionSpec::parse("3.text"),
            Some(SectionSpec::Text(vec![3]))
        );
        assert_eq!(
            SectionSpec::parse("1.MIME"),
            Some(SectionSpec::Mime(vec![1]))
        );
        assert_eq!(SectionSpec::parse("MIME"), None);
        assert_eq!(SectionSpec::parse("0"), None);
        assert_eq!(
            SectionSpec::parse("2.HEADER.FIELDS (From \"Subject\")"),
            Some(SectionSpec::HeaderFields(
                vec![2],
                vec![b"From".to_vec(), b"Subject".to_vec()]
            ))
        );
        assert_eq!(
            SectionSpec::parse("HEADER.FIELDS.NOT (To)"),
            Some(SectionSpec::HeaderFieldsNot(vec![], vec![b"To".to_vec()]))
        );
    }

    #[test]
    fn from_imap_types() {
        let part = |n: u32| P(Vec1::from(NonZeroU32::new(n).unwrap()));
        assert_eq!(
            SectionSpec::from(&S::Part(part(2))),
            SectionSpec::Part(vec![2])
        );
        assert_eq!(
            SectionSpec::from(&S::Mime(part(1))),
            SectionSpec::Mime(vec![1])
        );
        assert_eq!(
            SectionSpec::from(&S::Header(None)),
            SectionSpec::Header(vec![])
        );
        assert_eq!(
            SectionSpec::from(&S::Text(Some(part(3)))),
            SectionSpec::Text(vec![3])
        );
        let names = Vec1::from(AString::try_from("From").unwrap());
        assert_eq!(
            SectionSpec::from(&S::HeaderFields(None, names)),
            SectionSpec::HeaderFields(vec![], vec![b"From".to_vec()])
        );
    }

    #[test]
    fn lookups() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner\r\n--b--\r\n";
        let msg = crate::mime::Message::parse(raw);
        let get = |t: &str| msg.section(&SectionSpec::parse(t).unwrap());
        assert_eq!(get("1").unwrap(), b"one");
        assert_eq!(get("1.MIME").unwrap(), b"\r\n");
        assert_eq!(get("2.HEADER").unwrap(), b"Subject: in\r\n\r\n");
        assert_eq!(get("2.TEXT").unwrap(), b"inner");
        assert_eq!(get("2.1").unwrap(), b"inner");
        assert_eq!(
            get("2.HEADER.FIELDS (subject)").unwrap(),
            b"Subject: in\r\n\r\n"
        );
        assert_eq!(get("3"), None);
        // checked against Dovecot: `1` of a leaf is the leaf, once
        assert_eq!(get("1.1").unwrap(), b"one");
        assert_eq!(get("1.1.1"), None);
        assert_eq!(
            crate::mime::section(b"S: x\n\none\n", &SectionSpec::Part(vec![1, 1])),
            None
        );
        assert_eq!(get("1.HEADER"), None);
    }
}
