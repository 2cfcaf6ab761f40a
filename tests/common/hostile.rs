//! Hostile mail, made on the spot (nothing downloaded): PDFs that send a
//! parser into endless recursion or an endless loop, decompression bombs
//! (PDF Flate streams, DOCX and ODT zips) and MIME nesting bombs. Each mail
//! also carries an ordinary text part with the word it is given, to check
//! that its other text is still indexed.

use std::io::Write;

use base64::Engine;

/// A PDF of `objects` (object n is `objects[n - 1]`, the catalog is 1),
/// with a correct cross-reference table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

fn obj(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

const FONT: &str =
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// An ordinary one-page PDF whose text says `words`.
pub fn normal_pdf(words: &str) -> Vec<u8> {
    pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        ),
        stream(
            "",
            format!("BT /F1 18 Tf 20 80 Td ({words}) Tj ET").as_bytes(),
        ),
        obj(FONT),
    ])
}

/// A page that draws Form XObject X0, which draws itself (`/X0 Do` in its
/// own content stream): endless recursion in a naive text extractor.
pub fn self_drawing_pdf() -> Vec<u8> {
    pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R /Resources << /XObject << /X0 5 0 R >> /Font << /F1 6 0 R >> >> >>",
        ),
        stream("", b"/X0 Do"),
        stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 400 144] /Resources << /XObject << /X0 5 0 R >> /Font << /F1 6 0 R >> >>",
            b"BT /F1 12 Tf (loop) Tj ET /X0 Do",
        ),
        obj(FONT),
    ])
}

/// A page that is its own `/Parent` and inherits its MediaBox and
/// Resources: an extractor walking up the page tree never stops.
/// `variant` makes the bytes differ (each is stored once).
pub fn own_parent_pdf(variant: usize) -> Vec<u8> {
    pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj("<< /Type /Page /Parent 3 0 R /Contents 4 0 R >>"),
        stream(
            "",
            format!("BT /F1 12 Tf (variant {variant}) Tj ET").as_bytes(),
        ),
    ])
}

/// `size` bytes of spaces, zlib-compressed (about 1 KiB per MiB).
fn zlib_of_spaces(size: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        encoder.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    encoder.finish().unwrap()
}

/// A PDF whose page content is a Flate stream of `size` bytes (1 GiB:
/// about 1 MB compressed).
pub fn flate_bomb_pdf(size: usize) -> Vec<u8> {
    pdf(&[
        obj("<< /Type /Catalog /Pages 2 0 R >>"),
        obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        obj(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        ),
        stream("/Filter /FlateDecode", &zlib_of_spaces(size)),
        obj(FONT),
    ])
}

/// A zip holding `member` (deflated) of `size` bytes of XML: an XML
/// element of spaces.
fn zip_bomb(member: &str, extra: &[(&str, &str)], size: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .large_file(size >= u32::MAX as usize);
    for (name, text) in extra {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.start_file(member, deflated).unwrap();
    zip.write_all(b"<?xml version=\"1.0\"?><document><body><p>")
        .unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        zip.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    zip.write_all(b"</p></body></document>").unwrap();
    zip.finish().unwrap().into_inner()
}

/// A DOCX whose word/document.xml inflates to `size` bytes.
pub fn docx_bomb(size: usize) -> Vec<u8> {
    zip_bomb(
        "word/document.xml",
        &[("[Content_Types].xml", "<Types/>")],
        size,
    )
}

/// An ODT whose content.xml inflates to `size` bytes.
pub fn odt_bomb(size: usize) -> Vec<u8> {
    zip_bomb(
        "content.xml",
        &[("mimetype", "application/vnd.oasis.opendocument.text")],
        size,
    )
}

/// A mail with a text part saying `word` and `file` attached as `name`
/// (`media_type`), base64-encoded.
pub fn mail_with_attachment(word: &str, name: &str, media_type: &str, file: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(file);
    let mut out = format!(
        "From: Mallory <mallory@example.com>\r\nTo: Alice <alice@example.com>\r\n\
         Subject: {word}\r\nMessage-ID: <{word}@example.com>\r\n\
         Date: Wed, 5 Jun 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         Please see {word} attached.\r\n\
         --b1\r\nContent-Type: {media_type}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push_str("\r\n");
    }
    out.push_str("--b1--\r\n");
    out.into_bytes()
}

pub fn pdf_mail(word: &str, file: &[u8]) -> Vec<u8> {
    mail_with_attachment(word, &format!("{word}.pdf"), "application/pdf", file)
}

fn head(word: &str) -> String {
    format!(
        "From: Mallory <mallory@example.com>\r\nSubject: {word}\r\n\
         Message-ID: <{word}@example.com>\r\nDate: Wed, 5 Jun 2024 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n"
    )
}

/// Multiparts nested `depth` deep, each with its own boundary; the
/// outermost has a text part saying `word` first.
pub fn deep_multipart(word: &str, depth: usize) -> Vec<u8> {
    let mut out = head(word);
    out.push_str("Content-Type: multipart/mixed; boundary=\"d0\"\r\n\r\n");
    out.push_str(&format!(
        "--d0\r\nContent-Type: text/plain\r\n\r\n{word} on top\r\n"
    ));
    for level in 1..depth {
        out.push_str(&format!(
            "--d{}\r\nContent-Type: multipart/mixed; boundary=\"d{level}\"\r\n\r\n",
            level - 1
        ));
    }
    out.push_str(&format!(
        "--d{}\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n",
        depth - 1
    ));
    for level in (0..depth).rev() {
        out.push_str(&format!("--d{level}--\r\n"));
    }
    out.into_bytes()
}

/// Attached messages nested `depth` deep (message/rfc822 in
/// message/rfc822...), after a text part saying `word`.
pub fn deep_rfc822(word: &str, depth: usize) -> Vec<u8> {
    let mut out = head(word);
    out.push_str("Content-Type: multipart/mixed; boundary=\"top\"\r\n\r\n");
    out.push_str(&format!(
        "--top\r\nContent-Type: text/plain\r\n\r\n{word} on top\r\n--top\r\n"
    ));
    for _ in 0..depth {
        out.push_str("Content-Type: message/rfc822\r\n\r\nSubject: nested\r\n");
    }
    out.push_str("Content-Type: text/plain\r\n\r\ninnermost\r\n--top--\r\n");
    out.into_bytes()
}
