//! The served form of a message: what IMAP sends of the archived bytes.
//! Bare LF line ends become CRLF (IMAP requires CRLF); everything else is
//! sent as stored. RFC822.SIZE, partial fetches and BODY[] all count on
//! this form, whose length the store keeps (`crlf_size`).

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
    }
}
