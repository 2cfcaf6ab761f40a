//! RFC 2047 encoded words decoded as Dovecot's `message_header_decode`
//! decodes them for SORT and THREAD, broken ones included: a base64 word
//! keeps what decodes before its first bad character, a Q word shows a
//! bad `=XY` as it is, an unknown charset is read as UTF-8, and text that
//! is only whitespace before an encoded word goes.

use base64::Engine;
use mail_parser::decoders::charsets::map::charset_decoder;

/// `raw` with its encoded words decoded, as UTF-8.
pub fn decode_words(raw: &[u8]) -> String {
    let mut out = String::new();
    let mut start = 0;
    let mut pos = 0;
    while pos + 1 < raw.len() {
        if &raw[pos..pos + 2] != b"=?" {
            pos += 1;
            continue;
        }
        let Some((decoded, length)) = encoded_word(&raw[pos + 2..]) else {
            pos += 1;
            continue;
        };
        let before = &raw[start..pos];
        if !before
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            out.push_str(&String::from_utf8_lossy(before));
        }
        out.push_str(&decoded);
        pos += 2 + length;
        start = pos;
    }
    out.push_str(&String::from_utf8_lossy(&raw[start..]));
    out
}

/// `charset?encoding?text?=` at the start of `data`: the decoded text and
/// the bytes it took; `None` when it is no encoded word.
fn encoded_word(data: &[u8]) -> Option<(String, usize)> {
    let marks: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'?')
        .map(|(i, _)| i)
        .take(3)
        .collect();
    let &[charset_end, encoding_end, text_end] = marks.as_slice() else {
        return None;
    };
    if data.get(text_end + 1) != Some(&b'=') || encoding_end != charset_end + 2 {
        return None;
    }
    let text = &data[encoding_end + 1..text_end];
    let bytes = match data[charset_end + 1] {
        b'q' | b'Q' => q_decode(text),
        b'b' | b'B' => b_decode(text),
        _ => return None,
    };
    // RFC 2231's language suffix (`charset*lang`) is not the charset's.
    let charset = data[..charset_end]
        .split(|&b| b == b'*')
        .next()
        .unwrap_or_default();
    let decoded = match charset_decoder(charset) {
        Some(decode) if !charset.eq_ignore_ascii_case(b"utf-8") => decode(&bytes),
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Some((decoded, text_end + 2))
}

/// The Q encoding: `_` is a space, `=XY` a byte, a bad `=` shown as is.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Base64: what decodes before the first character that is not base64.
fn b_decode(text: &[u8]) -> Vec<u8> {
    let valid = text
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/')))
        .unwrap_or(text.len());
    let whole = valid - valid % 4;
    let mut out = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&text[..whole])
        .unwrap_or_default();
    let rest = &text[whole..valid];
    if rest.len() >= 2 {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        out.extend(engine.decode(rest).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_decode_as_dovecot_decodes_them() {
        assert_eq!(decode_words(b"=?utf-8?B?!!notbase64!!?="), "");
        assert_eq!(
            decode_words(b" =?utf-8?Q?broken=ZZ_qp?= =?UTF-8?b?w6k=?= plain"),
            "broken=ZZ qp\u{e9} plain"
        );
        assert_eq!(
            decode_words(b"=?x-unknown?Q?Mystery_Sender?="),
            "Mystery Sender"
        );
        assert_eq!(decode_words(b"=?iso-8859-1?q?caf=E9?="), "caf\u{e9}");
        assert_eq!(decode_words(b"Re: =?bad"), "Re: =?bad");
        assert_eq!(decode_words(b"=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
    }
}
