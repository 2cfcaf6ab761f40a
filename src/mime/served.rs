//! The bytes of a message as IMAP serves them.
//!
//! Dovecot serves every bare LF as CRLF (an existing CRLF stays, a lone CR
//! stays a lone CR) and, in BODY[]/RFC822 literals, every NUL byte as 0x80
//! (the length does not change). BINARY[] keeps the NULs.

use std::borrow::Cow;

/// Line ends as Dovecot serves them, NUL bytes kept (the form the MIME
/// parser works on and BINARY serves). Dovecot stores a message with LF line
/// ends (one CR before each LF removed) and serves it with a CR added
/// before every LF not preceded by one: a bare LF becomes CRLF, CRLF stays,
/// CR CR LF becomes CRLF (k CRs before a LF become max(k-1, 1)), a lone CR
/// elsewhere stays, and a CR as the very last byte is dropped.
pub fn crlf(raw: &[u8]) -> Cow<'_, [u8]> {
    let clean = raw.last() != Some(&b'\r')
        && memchr::memchr_iter(b'\n', raw)
            .all(|i| i > 0 && raw[i - 1] == b'\r' && (i < 2 || raw[i - 2] != b'\r'));
    if clean {
        return Cow::Borrowed(raw);
    }
    let mut v = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut crs = 0;
    for &c in raw {
        match c {
            b'\r' => crs += 1,
            b'\n' => {
                v.extend(std::iter::repeat_n(b'\r', crs.max(2) - 1));
                v.push(b'\n');
                crs = 0;
            }
            _ => {
                v.extend(std::iter::repeat_n(b'\r', crs));
                v.push(c);
                crs = 0;
            }
        }
    }
    v.extend(std::iter::repeat_n(b'\r', crs.saturating_sub(1)));
    Cow::Owned(v)
}

/// NUL -> 0x80 (what Dovecot does to BODY[] and RFC822 output).
pub fn no_nuls(data: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    if !data.contains(&0) {
        return data;
    }
    let mut v = data.into_owned();
    for c in v.iter_mut() {
        if *c == 0 {
            *c = 0x80;
        }
    }
    Cow::Owned(v)
}

/// The message as served in BODY[] / RFC822: bare LF -> CRLF, NUL -> 0x80.
/// RFC822.SIZE is the length of this.
pub fn served(raw: &[u8]) -> Cow<'_, [u8]> {
    no_nuls(crlf(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends() {
        assert_eq!(&*served(b"a\r\nb\r\n"), b"a\r\nb\r\n");
        assert!(matches!(served(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert_eq!(&*served(b"a\nb\n"), b"a\r\nb\r\n");
        assert_eq!(&*served(b"\n\n"), b"\r\n\r\n");
        assert_eq!(&*served(b"a\r\nb\nc"), b"a\r\nb\r\nc");
        // a lone CR is served unchanged
        assert_eq!(&*served(b"a\rb\r\n"), b"a\rb\r\n");
        // checked against Dovecot 2.3.19: CR CR LF is served as CRLF, a CR
        // at the very end is dropped
        assert_eq!(&*served(b"a\r\r\nb"), b"a\r\nb");
        assert_eq!(&*served(b"a\r\r\r\nb"), b"a\r\r\nb");
        assert_eq!(
            &*served(b"A: 1\r\r\nB: 2\n\nx\r\r\ny\r"),
            b"A: 1\r\nB: 2\r\n\r\nx\r\ny"
        );
        assert_eq!(&*served(b"x\ry\n\r\n\n"), b"x\ry\r\n\r\n\r\n");
        assert_eq!(&*served(b"\r"), b"");
        assert_eq!(&*served(b""), b"");
    }

    #[test]
    fn nul_bytes() {
        assert_eq!(&*served(b"n\0l\n"), b"n\x80l\r\n");
        assert_eq!(&*crlf(b"n\0l\n"), b"n\0l\r\n");
    }
}
