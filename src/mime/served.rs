//! The bytes of a message as IMAP serves them. The archive keeps a
//! message's bytes exactly; IMAP needs CRLF line ends. The rule is
//! Dovecot's, so both servers agree on RFC822.SIZE and every offset: a CR
//! is added before a bare LF, a run of k CRs before an LF becomes
//! max(k - 1, 1) CRs, a lone CR elsewhere stays, and one CR at the very end
//! of the message is dropped. In BODY[]/RFC822 literals every NUL byte goes
//! as 0x80, as Dovecot sends it (a NUL cannot travel in a literal; the
//! length does not change); BINARY keeps the NULs.

use std::borrow::Cow;

/// Converts a message to CRLF form chunk by chunk.
#[derive(Debug, Default)]
pub struct CrlfWriter {
    /// CRs seen but not yet written: what follows decides their number.
    pending: usize,
}

impl CrlfWriter {
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 32);
        while let Some(&first) = chunk.first() {
            if self.pending > 0 {
                // The byte after a run of CRs decides how many are written.
                match first {
                    b'\r' => self.pending += 1,
                    b'\n' => {
                        out.extend(std::iter::repeat_n(b'\r', self.pending.max(2) - 1));
                        out.push(b'\n');
                        self.pending = 0;
                    }
                    _ => {
                        out.extend(std::iter::repeat_n(b'\r', self.pending));
                        out.push(first);
                        self.pending = 0;
                    }
                }
                chunk = &chunk[1..];
                continue;
            }
            // Copy up to the next line-end byte in one go.
            let Some(at) = memchr::memchr2(b'\r', b'\n', chunk) else {
                out.extend_from_slice(chunk);
                return;
            };
            out.extend_from_slice(&chunk[..at]);
            if chunk[at] == b'\n' {
                out.extend_from_slice(b"\r\n");
            } else {
                self.pending = 1;
            }
            chunk = &chunk[at + 1..];
        }
    }

    /// Writes what the end of the message decides.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(b'\r', self.pending.saturating_sub(1)));
        self.pending = 0;
    }
}

/// The served form (CRLF, no NULs), streamed: what BODY[] sends.
#[derive(Debug, Default)]
pub struct Served {
    lines: CrlfWriter,
}

impl Served {
    /// Appends the served form of the next chunk to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        self.lines.push(chunk, out);
        replace_nuls(&mut out[start..]);
    }

    /// Appends what the end of the message decides.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.lines.finish(out);
    }
}

/// The length of a message in CRLF form: RFC822.SIZE.
pub fn crlf_len(bytes: &[u8]) -> u64 {
    let mut len = bytes.len() as u64;
    // The current run of CRs: its length and where it ends.
    let (mut run, mut run_end) = (0u64, usize::MAX);
    for at in memchr::memchr2_iter(b'\r', b'\n', bytes) {
        if at != run_end {
            run = 0;
        }
        if bytes[at] == b'\r' {
            run += 1;
            run_end = at + 1;
            continue;
        }
        // A bare LF gains a CR; two or more CRs before an LF lose one.
        match run {
            0 => len += 1,
            1 => {}
            _ => len -= 1,
        }
        run = 0;
    }
    if run > 0 && run_end == bytes.len() {
        len -= 1; // the last CR of the message is dropped
    }
    len
}

/// CRLF form, NUL bytes kept (the form the MIME parser works on and BINARY
/// serves); borrowed when the message already is in that form.
pub fn crlf(raw: &[u8]) -> Cow<'_, [u8]> {
    if already_crlf(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut writer = CrlfWriter::default();
    writer.push(raw, &mut out);
    writer.finish(&mut out);
    Cow::Owned(out)
}

/// Whether every LF has exactly one CR before it and no CR ends the message.
fn already_crlf(raw: &[u8]) -> bool {
    raw.last() != Some(&b'\r')
        && memchr::memchr_iter(b'\n', raw)
            .all(|i| i > 0 && raw[i - 1] == b'\r' && (i < 2 || raw[i - 2] != b'\r'))
}

/// NUL -> 0x80 (what Dovecot does to BODY[] and RFC822 output).
pub fn no_nuls(data: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    if memchr::memchr(0, &data).is_none() {
        return data;
    }
    let mut v = data.into_owned();
    replace_nuls(&mut v);
    Cow::Owned(v)
}

fn replace_nuls(bytes: &mut [u8]) {
    let mut from = 0;
    while let Some(at) = memchr::memchr(0, &bytes[from..]) {
        bytes[from + at] = 0x80;
        from += at + 1;
    }
}

/// The message as served in BODY[] / RFC822: bare LF -> CRLF, NUL -> 0x80.
/// RFC822.SIZE is the length of this.
pub fn served(raw: &[u8]) -> Cow<'_, [u8]> {
    no_nuls(crlf(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(chunks: &[&[u8]]) -> Vec<u8> {
        let mut writer = CrlfWriter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            writer.push(chunk, &mut out);
        }
        writer.finish(&mut out);
        out
    }

    #[test]
    fn line_ends() {
        // Checked against Dovecot 2.3.19: CR CR LF is served as CRLF, a CR
        // at the very end is dropped, a lone CR stays.
        let cases: [(&[u8], &[u8]); 14] = [
            (b"a\nb\n", b"a\r\nb\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n"),
            (b"\n\n", b"\r\n\r\n"),
            (b"a\r\nb\nc", b"a\r\nb\r\nc"),
            (b"a\rb\r\n", b"a\rb\r\n"),
            (b"a\r\r\nb", b"a\r\nb"),
            (b"a\r\r\r\nb", b"a\r\r\nb"),
            (
                b"A: 1\r\r\nB: 2\n\nx\r\r\ny\r",
                b"A: 1\r\nB: 2\r\n\r\nx\r\ny",
            ),
            (b"x\ry\n\r\n\n", b"x\ry\r\n\r\n\r\n"),
            (b"a\r", b"a"),
            (b"a\r\r", b"a\r"),
            (b"\r", b""),
            (b"", b""),
            (b"\r\r\nx\n", b"\r\nx\r\n"),
        ];
        for (stored, expected) in cases {
            assert_eq!(&*served(stored), expected, "{stored:?}");
            assert_eq!(crlf_len(stored), expected.len() as u64, "{stored:?}");
            // Split anywhere, the result is the same.
            for at in 0..=stored.len() {
                assert_eq!(
                    convert(&[&stored[..at], &stored[at..]]),
                    expected,
                    "{stored:?} split at {at}"
                );
            }
        }
        assert!(matches!(served(b"a\r\nb\r\n"), Cow::Borrowed(_)));
    }

    /// Random bytes rich in CR, LF and NUL, converted in random pieces,
    /// against the rule written out byte by byte.
    #[test]
    fn matches_the_rule_on_random_input() {
        fn by_rule(bytes: &[u8]) -> Vec<u8> {
            let (mut out, mut pending) = (Vec::new(), 0);
            for &b in bytes {
                match b {
                    b'\r' => pending += 1,
                    b'\n' => {
                        out.extend(std::iter::repeat_n(b'\r', usize::max(pending, 2) - 1));
                        out.push(b'\n');
                        pending = 0;
                    }
                    _ => {
                        out.extend(std::iter::repeat_n(b'\r', pending));
                        out.push(b);
                        pending = 0;
                    }
                }
            }
            out.extend(std::iter::repeat_n(
                b'\r',
                usize::saturating_sub(pending, 1),
            ));
            out
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| b"ab\r\n\r\n\0"[(next() % 7) as usize])
                .collect();
            let cut = (next() as usize) % (len + 1);
            let expected = by_rule(&bytes);
            assert_eq!(
                convert(&[&bytes[..cut], &bytes[cut..]]),
                expected,
                "{bytes:?}"
            );
            assert_eq!(crlf_len(&bytes), expected.len() as u64, "{bytes:?}");
            assert_eq!(&*crlf(&bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn nul_bytes() {
        assert_eq!(&*served(b"n\0l\n"), b"n\x80l\r\n");
        assert_eq!(&*crlf(b"n\0l\n"), b"n\0l\r\n");
        let mut served = Served::default();
        let mut out = Vec::new();
        let stored = b"a\nb\r\nc\rd\0\r\r\ne\r";
        served.push(&stored[..3], &mut out);
        served.push(&stored[3..12], &mut out);
        served.push(&stored[12..], &mut out);
        served.finish(&mut out);
        assert_eq!(out, b"a\r\nb\r\nc\rd\x80\r\ne");
        assert_eq!(crlf_len(stored), out.len() as u64);
    }
}
