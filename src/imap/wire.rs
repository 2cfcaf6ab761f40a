//! The served form of a message, streamed: CRLF line ends (the archive's
//! rule, `archive::CrlfWriter`) and no NUL bytes — a NUL cannot travel in a
//! literal, so it goes as 0x80, as Dovecot sends it (BINARY carries the
//! exact bytes). The length does not change with the NULs, so RFC822.SIZE
//! is the stored `crlf_size`.

use crate::archive::CrlfWriter;

#[derive(Default)]
pub struct Served {
    lines: CrlfWriter,
}

impl Served {
    /// Appends the served form of the next chunk to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        self.lines.push(chunk, out);
        without_nuls(&mut out[start..]);
    }

    /// Appends what the end of the message decides.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.lines.finish(out);
    }
}

fn without_nuls(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b == 0) {
        *b = 0x80;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_no_nuls_across_chunks() {
        let stored = b"a\nb\r\nc\rd\0\r\r\ne\r";
        let mut served = Served::default();
        let mut out = Vec::new();
        served.push(&stored[..3], &mut out);
        served.push(&stored[3..12], &mut out);
        served.push(&stored[12..], &mut out);
        served.finish(&mut out);
        assert_eq!(out, b"a\r\nb\r\nc\rd\x80\r\ne");
        assert_eq!(crate::archive::crlf_len(stored), out.len() as u64);
    }
}
