//! IMAP string formatting exactly as Dovecot 2.3 writes it (`imap-quote.c`):
//! NIL, quoted strings with backslash escapes, and `{n}\r\n` literals.

/// Appends a string (never NIL) the way Dovecot's `imap_append_string()`
/// does: a quoted string unless the value contains CR, LF, an 8-bit byte or
/// more than four `"`/`\` characters, in which case a literal.
pub fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    let mut escapes = 0;
    let mut literal = false;
    for &c in s {
        match c {
            b'"' | b'\\' => {
                escapes += 1;
                if escapes > 4 {
                    literal = true;
                    break;
                }
            }
            b'\r' | b'\n' => {
                literal = true;
                break;
            }
            c if c >= 0x80 => {
                literal = true;
                break;
            }
            _ => {}
        }
    }
    if literal {
        append_literal(out, s);
    } else {
        append_quoted(out, s);
    }
}

/// `"..."` with `"` and `\` escaped.
pub fn append_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        if c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// `{n}\r\n` followed by the bytes.
pub fn append_literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// `imap_append_nstring()`: NIL for `None`, else [`append_string`].
pub fn append_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => append_string(out, s),
    }
}

/// `imap_append_nstring_nolf()`: CR and LF are removed first; where a line
/// break is removed and the next byte is not whitespace (or the end), a
/// space is inserted.
pub fn append_nstring_nolf(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) if s.iter().any(|&c| c == b'\r' || c == b'\n') => {
            let mut v = Vec::with_capacity(s.len());
            for (i, &c) in s.iter().enumerate() {
                if c != b'\r' && c != b'\n' {
                    v.push(c);
                } else if !matches!(s.get(i + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    v.push(b' ');
                }
            }
            append_string(out, &v);
        }
        _ => append_nstring(out, s),
    }
}

/// `imap_append_string_for_humans()` (ENVELOPE subjects and display names):
/// whitespace runs (SP, TAB, CR, LF) collapse to one space, leading and
/// trailing whitespace is dropped and NUL becomes 0x80. If nothing had to
/// change the value is sent quoted as is; otherwise (and whenever it holds
/// `"`, `\`, TAB, CR, LF, NUL or 8-bit bytes) as a literal, or `""` when only
/// whitespace remains.
pub fn append_string_for_humans(out: &mut Vec<u8>, s: &[u8]) {
    let mut v = Vec::with_capacity(s.len());
    let mut last_lwsp = true;
    let mut special = false;
    for &c in s {
        match c {
            0 => {
                special = true;
                v.push(0x80);
                last_lwsp = false;
            }
            b'\r' | b'\n' | b'\t' | b' ' => {
                if c != b' ' {
                    special = true;
                }
                if !last_lwsp {
                    v.push(b' ');
                }
                last_lwsp = true;
            }
            b'"' | b'\\' => {
                special = true;
                v.push(c);
                last_lwsp = false;
            }
            c => {
                if c >= 0x80 {
                    special = true;
                }
                v.push(c);
                last_lwsp = false;
            }
        }
    }
    if last_lwsp && v.last() == Some(&b' ') {
        v.pop();
    }
    if !special && v.len() == s.len() {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    } else if v.is_empty() {
        out.extend_from_slice(b"\"\"");
    } else {
        append_literal(out, &v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn quoted_and_literal() {
        assert_eq!(s(|o| append_string(o, b"abc")), b"\"abc\"");
        assert_eq!(s(|o| append_string(o, b"")), b"\"\"");
        assert_eq!(s(|o| append_string(o, b"a\"b\\c")), b"\"a\\\"b\\\\c\"");
        // a fifth escape switches to a literal
        assert_eq!(
            s(|o| append_string(o, b"\"\"\"\"")),
            b"\"\\\"\\\"\\\"\\\"\""
        );
        assert_eq!(s(|o| append_string(o, b"\"\"\"\"\"")), b"{5}\r\n\"\"\"\"\"");
        assert_eq!(s(|o| append_string(o, b"a\r\nb")), b"{4}\r\na\r\nb");
        assert_eq!(s(|o| append_string(o, "ü".as_bytes())), b"{2}\r\n\xc3\xbc");
        assert_eq!(s(|o| append_nstring(o, None)), b"NIL");
    }

    #[test]
    fn nolf() {
        assert_eq!(s(|o| append_nstring_nolf(o, Some(b"a\r\n b"))), b"\"a b\"");
        assert_eq!(s(|o| append_nstring_nolf(o, Some(b"a\r\nb"))), b"\"a b\"");
        assert_eq!(s(|o| append_nstring_nolf(o, Some(b"a\r\n"))), b"\"a\"");
        assert_eq!(s(|o| append_nstring_nolf(o, None)), b"NIL");
    }

    #[test]
    fn for_humans() {
        assert_eq!(
            s(|o| append_string_for_humans(o, b"plain text")),
            b"\"plain text\""
        );
        assert_eq!(s(|o| append_string_for_humans(o, b"")), b"\"\"");
        assert_eq!(s(|o| append_string_for_humans(o, b"  ")), b"\"\"");
        assert_eq!(s(|o| append_string_for_humans(o, b"a  b")), b"{3}\r\na b");
        assert_eq!(s(|o| append_string_for_humans(o, b" a")), b"{1}\r\na");
        assert_eq!(
            s(|o| append_string_for_humans(o, b"a\r\n\tb ")),
            b"{3}\r\na b"
        );
        assert_eq!(
            s(|o| append_string_for_humans(o, b"say \"hi\"")),
            b"{8}\r\nsay \"hi\""
        );
        assert_eq!(
            s(|o| append_string_for_humans(o, b"n\0l")),
            b"{3}\r\nn\x80l"
        );
    }
}
