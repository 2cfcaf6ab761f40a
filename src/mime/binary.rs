//! BINARY[section] (RFC 3516): a leaf part's body with its
//! Content-Transfer-Encoding undone, as Dovecot decodes it.

use super::header::{self, Field};
use super::part::{Kind, Part};
use super::rfc822::Parser;

/// Why Dovecot refuses a BINARY fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryError {
    /// `NO [UNKNOWN-CTE]`: an encoding Dovecot cannot decode.
    UnknownCte,
    /// `NO [PARSE]`: invalid quoted-printable (or similar).
    Parse,
    /// Broken base64: Dovecot has already started the literal and drops
    /// the connection (`* BYE`).
    Broken,
    /// Reserved for a part this module cannot convert (not returned at
    /// present: multiparts and message/rfc822 parts are converted the way
    /// Dovecot converts them).
    Unsupported,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cte {
    Identity,
    Base64,
    Qp,
    Unknown,
}

/// `message_decoder_parse_cte()` of the first Content-Transfer-Encoding.
fn cte(s: &[u8], fields: &[Field]) -> Cte {
    let Some(f) = fields.iter().find(|f| f.is(s, "Content-Transfer-Encoding")) else {
        return Cte::Identity;
    };
    let mut p = Parser::new(f.value(s));
    p.skip_lwsp();
    let mut v = Vec::new();
    p.parse_mime_token(&mut v);
    let v = v.to_ascii_lowercase();
    match &v[..] {
        b"7bit" | b"8bit" | b"binary" => Cte::Identity,
        b"base64" => Cte::Base64,
        b"quoted-printable" => Cte::Qp,
        _ => Cte::Unknown,
    }
}

/// What a byte is to base64: its value (0..=63), or one of these.
const B64_SPACE: u8 = 0xfe;
const B64_PAD: u8 = 0xfd;
const B64_BAD: u8 = 0xff;

/// A table, not a `match`: the index decodes every attachment it reads.
const B64: [u8; 256] = {
    let mut table = [B64_BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b' ' as usize] = B64_SPACE;
    table[b'\t' as usize] = B64_SPACE;
    table[b'\r' as usize] = B64_SPACE;
    table[b'\n' as usize] = B64_SPACE;
    table[b'=' as usize] = B64_PAD;
    table
};

/// Base64 with whitespace ignored, as Dovecot 2.3 decodes it: a byte
/// outside the alphabet, too much padding or data after the padding is
/// `Parse`; a last group cut short is `Broken`.
pub fn decode_base64(data: &[u8]) -> Result<Vec<u8>, BinaryError> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    base64_into(data, &mut out)?;
    Ok(out)
}

/// Base64 decoded into `out` up to the first fault (what came before it
/// stays in `out`).
fn base64_into(data: &[u8], out: &mut Vec<u8>) -> Result<(), BinaryError> {
    let (mut acc, mut n, mut pad) = (0u32, 0, 0);
    for &c in data {
        let v = B64[c as usize];
        if v < 64 {
            if pad > 0 {
                return Err(BinaryError::Parse);
            }
            acc = (acc << 6) | u32::from(v);
            n += 1;
            if n == 4 {
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                acc = 0;
                n = 0;
            }
            continue;
        }
        match v {
            B64_SPACE => {}
            B64_PAD => {
                pad += 1;
                if n < 2 || n + pad > 4 {
                    return Err(BinaryError::Parse);
                }
            }
            _ => return Err(BinaryError::Parse),
        }
    }
    match (n, pad) {
        (0, 0) => {}
        (2, 2) => out.push((acc >> 4) as u8),
        (3, 1) => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return Err(BinaryError::Broken),
    }
    Ok(())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Quoted-printable: `=XX`, soft line breaks (`=` then blanks then the line
/// end), trailing blanks of a line dropped; an invalid `=` is an error.
pub fn decode_qp(data: &[u8]) -> Result<Vec<u8>, BinaryError> {
    qp(data, true)
}

/// Quoted-printable as `decode_qp`, but for `strict` false an invalid `=`
/// is kept as it is.
fn qp(data: &[u8], strict: bool) -> Result<Vec<u8>, BinaryError> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        match c {
            b'=' => {
                if let (Some(h), Some(l)) = (
                    data.get(i + 1).and_then(|&c| hex(c)),
                    data.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                let mut j = i + 1;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                if data.get(j) == Some(&b'\n') {
                    i = j + 1;
                    continue;
                }
                if data.get(j) == Some(&b'\r') && data.get(j + 1) == Some(&b'\n') {
                    i = j + 2;
                    continue;
                }
                if !strict {
                    out.push(b'=');
                    i += 1;
                    continue;
                }
                // `=` with only blanks or one hex digit before the end: noticed
                // when the literal has been started
                if j == data.len()
                    || (j == i + 1 && i + 2 == data.len() && hex(data[i + 1]).is_some())
                {
                    return Err(BinaryError::Broken);
                }
                return Err(BinaryError::Parse);
            }
            b' ' | b'\t' => {
                let mut j = i;
                while j < data.len() && matches!(data[j], b' ' | b'\t') {
                    j += 1;
                }
                let at_eol = j == data.len()
                    || data[j] == b'\n'
                    || (data[j] == b'\r' && data.get(j + 1) == Some(&b'\n'));
                if !at_eol {
                    out.extend_from_slice(&data[i..j]);
                }
                i = j;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Collects the encoded leaves below `p` (in order).
fn encoded_leaves<'p>(
    s: &[u8],
    p: &'p Part,
    out: &mut Vec<(&'p Part, Cte)>,
) -> Result<(), BinaryError> {
    for c in &p.children {
        match (c.kind, cte(s, &c.fields)) {
            (_, Cte::Unknown) => return Err(BinaryError::UnknownCte),
            (Kind::Leaf, Cte::Identity) => {}
            (Kind::Leaf, e) => out.push((c, e)),
            _ => encoded_leaves(s, c, out)?,
        }
    }
    Ok(())
}

fn decode_body(s: &[u8], part: &Part, e: Cte) -> Result<Vec<u8>, BinaryError> {
    let body = &s[part.body()];
    match e {
        Cte::Identity => Ok(body.to_vec()),
        Cte::Base64 => decode_base64(body),
        Cte::Qp => decode_qp(body),
        Cte::Unknown => Err(BinaryError::UnknownCte),
    }
}

/// A leaf's body decoded for its text (the full-text index, PREVIEW), as
/// Dovecot decodes text: quoted-printable keeps an invalid `=` as it is,
/// base64 ends at its first fault (keeping what came before), and an
/// unknown encoding leaves the body as it is.
pub fn decode_text(s: &[u8], part: &Part) -> Vec<u8> {
    let body = &s[part.body()];
    match cte(s, &part.fields) {
        Cte::Base64 => {
            let mut out = Vec::with_capacity(body.len() / 4 * 3);
            let _ = base64_into(body, &mut out);
            out
        }
        Cte::Qp => qp(body, false).unwrap_or_else(|_| body.to_vec()),
        Cte::Identity | Cte::Unknown => body.to_vec(),
    }
}

/// The decoded body of a part (`s` is the CRLF form, NULs kept). A
/// multipart or message/rfc822 is served the way Dovecot's binary
/// converter does it: every base64 or quoted-printable part inside is
/// decoded and its Content-Transfer-Encoding field becomes `binary`.
pub fn decode(s: &[u8], part: &Part) -> Result<Vec<u8>, BinaryError> {
    if part.kind == Kind::Leaf {
        return decode_body(s, part, cte(s, &part.fields));
    }
    let mut leaves = Vec::new();
    encoded_leaves(s, part, &mut leaves)?;
    convert(s, part.hdr_end..part.body_end, leaves)
}

/// BINARY[] (RFC 3516): the whole message, its top-level header included,
/// converted like a multipart's body (a single encoded part has its own
/// header's Content-Transfer-Encoding replaced), as Dovecot does.
pub fn whole(s: &[u8], root: &Part) -> Result<Vec<u8>, BinaryError> {
    let mut leaves = Vec::new();
    if root.kind == Kind::Leaf {
        match cte(s, &root.fields) {
            Cte::Identity => {}
            Cte::Unknown => return Err(BinaryError::UnknownCte),
            e => leaves.push((root, e)),
        }
    } else {
        encoded_leaves(s, root, &mut leaves)?;
    }
    convert(s, root.hdr_start..root.body_end, leaves)
}

/// The bytes of `range` with each of `leaves` (in order, inside the range)
/// decoded: its Content-Transfer-Encoding fields dropped, `binary` added
/// at the end of its header, its body decoded.
fn convert(
    s: &[u8],
    range: std::ops::Range<usize>,
    leaves: Vec<(&Part, Cte)>,
) -> Result<Vec<u8>, BinaryError> {
    let mut out = Vec::with_capacity(range.len());
    let mut pos = range.start;
    for (leaf, e) in leaves {
        // the old field goes; `binary` is added at the end of the header
        let mut hdr_end = leaf.hdr_end;
        if leaf.eoh {
            hdr_end -= header::newline_before(s, hdr_end, leaf.hdr_start);
        }
        for f in leaf
            .fields
            .iter()
            .filter(|f| f.is(s, "Content-Transfer-Encoding"))
        {
            out.extend_from_slice(&s[pos..f.lines.start]);
            pos = f.lines.end;
        }
        // A header cut short by a boundary may end inside its last field
        // (a CR before the boundary's line end): that field, which is
        // gone, then runs past the header, and `binary` ends the header.
        let hdr_end = hdr_end.max(pos).min(leaf.hdr_end);
        out.extend_from_slice(&s[pos.min(hdr_end)..hdr_end]);
        out.extend_from_slice(b"Content-Transfer-Encoding: binary\r\n");
        out.extend_from_slice(&s[hdr_end..leaf.hdr_end]);
        out.extend_from_slice(&decode_body(s, leaf, e)?);
        pos = leaf.body_end;
    }
    out.extend_from_slice(&s[pos..range.end]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // expectations checked against Dovecot 2.3.19
    #[test]
    fn base64() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n").unwrap(), b"hello");
        assert_eq!(decode_base64(b"  aGVs  \r\n bG8g ").unwrap(), b"hello ");
        assert_eq!(decode_base64(b"aGVs!").unwrap_err(), BinaryError::Parse);
        assert_eq!(
            decode_base64(b"aGVs\r\nbG8=x").unwrap_err(),
            BinaryError::Parse
        );
        assert_eq!(decode_base64(b"aGVsbG8==").unwrap_err(), BinaryError::Parse);
        assert_eq!(
            decode_base64(b"aGVsbA==\r\n=\r\n").unwrap_err(),
            BinaryError::Parse
        );
        assert_eq!(decode_base64(b"aGVsb").unwrap_err(), BinaryError::Broken);
        assert_eq!(decode_base64(b"aGVsbG8").unwrap_err(), BinaryError::Broken);
    }

    #[test]
    fn qp() {
        assert_eq!(decode_qp(b"a=3db\r\n").unwrap(), b"a=b\r\n");
        assert_eq!(decode_qp(b"a  \r\nb\t\r\n").unwrap(), b"a\r\nb\r\n");
        assert_eq!(decode_qp(b"a= \r\nb").unwrap(), b"ab");
        assert_eq!(decode_qp(b"a=\r\n").unwrap(), b"a");
        assert_eq!(decode_qp(b"a=\nb").unwrap(), b"ab");
        assert_eq!(decode_qp(b"x\ty z  ").unwrap(), b"x\ty z");
        assert_eq!(decode_qp(b"caf=C3=A9 =E9").unwrap(), b"caf\xc3\xa9 \xe9");
        assert_eq!(decode_qp(b"a=G1b").unwrap_err(), BinaryError::Parse);
        assert_eq!(decode_qp(b"a=").unwrap_err(), BinaryError::Broken);
        assert_eq!(decode_qp(b"a=4").unwrap_err(), BinaryError::Broken);
    }
}
