//! The served form of a message: what IMAP sends of the archived bytes.
//! Bare LF line ends become CRLF (IMAP requires CRLF); everything else is
//! sent as stored. RFC822.SIZE, partial fetches and BODY[] all count on
//! this form.

use std::io::{self, Read};

/// The served length of a stream of stored bytes.
pub fn served_len(mut stored: impl Read) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut len, mut previous) = (0u64, 0u8);
    loop {
        let n = stored.read(&mut buf)?;
        if n == 0 {
            return Ok(len);
        }
        for &b in &buf[..n] {
            len += if b == b'\n' && previous != b'\r' {
                2
            } else {
                1
            };
            previous = b;
        }
    }
}

/// Appends the served form of `chunk` to `out`; `previous` carries the last
/// byte of the previous chunk.
pub fn serve_chunk(chunk: &[u8], previous: &mut u8, out: &mut Vec<u8>) {
    for &b in chunk {
        if b == b'\n' && *previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        *previous = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf() {
        let stored = b"a\nb\r\nc\rd\n";
        let mut out = Vec::new();
        let mut previous = 0;
        serve_chunk(&stored[..3], &mut previous, &mut out);
        serve_chunk(&stored[3..], &mut previous, &mut out);
        assert_eq!(out, b"a\r\nb\r\nc\rd\r\n");
        assert_eq!(served_len(&stored[..]).unwrap(), out.len() as u64);
    }
}
