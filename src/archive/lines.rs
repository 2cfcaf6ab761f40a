//! Line ends of stored messages as IMAP serves them. The archive keeps a
//! message's bytes exactly; IMAP needs CRLF line ends. The rule is
//! Dovecot's, so both servers agree on RFC822.SIZE and every offset: a CR
//! is added before a bare LF, a run of k CRs before an LF becomes
//! max(k - 1, 1) CRs, a lone CR elsewhere stays, and one CR at the very end
//! of the message is dropped.

/// Converts a message to CRLF form chunk by chunk.
#[derive(Debug, Default)]
pub struct CrlfWriter {
    /// CRs seen but not yet written: what follows decides their number.
    pending: usize,
}

impl CrlfWriter {
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &b in chunk {
            match b {
                b'\r' => self.pending += 1,
                b'\n' => {
                    out.extend(std::iter::repeat_n(b'\r', self.pending.max(2) - 1));
                    out.push(b'\n');
                    self.pending = 0;
                }
                _ => {
                    out.extend(std::iter::repeat_n(b'\r', self.pending));
                    out.push(b);
                    self.pending = 0;
                }
            }
        }
    }

    /// Writes what the end of the message decides.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(b'\r', self.pending.saturating_sub(1)));
        self.pending = 0;
    }
}

/// The length of a message in CRLF form.
pub fn crlf_len(bytes: &[u8]) -> u64 {
    let (mut len, mut pending) = (0u64, 0u64);
    for &b in bytes {
        match b {
            b'\r' => pending += 1,
            b'\n' => {
                len += pending.max(2) - 1 + 1;
                pending = 0;
            }
            _ => {
                len += pending + 1;
                pending = 0;
            }
        }
    }
    len + pending.saturating_sub(1)
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
    fn line_ends_become_crlf() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"a\nb\n", b"a\r\nb\r\n"),
            (b"a\r\nb\r\n", b"a\r\nb\r\n"),
            (b"a\r\r\nb", b"a\r\nb"),
            (b"a\r\r\r\nb", b"a\r\r\nb"),
            (b"a\rb", b"a\rb"),
            (b"a\r", b"a"),
            (b"a\r\r", b"a\r"),
        ];
        for (stored, served) in cases {
            assert_eq!(convert(&[stored]), served, "{stored:?}");
            assert_eq!(crlf_len(stored), served.len() as u64, "{stored:?}");
            // Split anywhere, the result is the same.
            for at in 0..=stored.len() {
                assert_eq!(
                    convert(&[&stored[..at], &stored[at..]]),
                    served,
                    "{stored:?} split at {at}"
                );
            }
        }
    }
}
