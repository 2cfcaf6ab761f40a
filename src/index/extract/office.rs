//! Text of Office Open XML (docx, xlsx, pptx) and OpenDocument (odt, ods,
//! odp) files: zip archives whose XML members hold the text.

use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::Event;

/// The members that hold a document's text.
fn holds_text(name: &str) -> bool {
    let xml = name.ends_with(".xml");
    name == "content.xml"
        || name == "word/document.xml"
        || name == "xl/sharedStrings.xml"
        || (xml && name.starts_with("word/header"))
        || (xml && name.starts_with("word/footer"))
        || (xml && name.starts_with("word/footnotes"))
        || (xml && name.starts_with("word/endnotes"))
        || (xml && name.starts_with("ppt/slides/slide"))
        || (xml && name.starts_with("ppt/notesSlides/notesSlide"))
}

/// Elements that end a word: paragraphs, cells, tabs, line breaks.
fn separates(local_name: &str) -> bool {
    matches!(
        local_name,
        "p" | "h" | "si" | "tc" | "table-cell" | "tab" | "br" | "s" | "line-break"
    )
}

/// The text of an OOXML or ODF file, at most `max_text` bytes; each XML
/// member is read to at most `max_member` bytes (zip bombs stay small).
pub fn text(file: &[u8], max_member: u64, max_text: usize) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(file)).ok()?;
    let mut out = String::new();
    for i in 0..archive.len() {
        let Ok(member) = archive.by_index(i) else {
            continue;
        };
        if !member.name().is_ok_and(|name| holds_text(&name)) {
            continue;
        }
        let mut xml = Vec::new();
        if member.take(max_member).read_to_end(&mut xml).is_err() {
            continue;
        }
        xml_text(&xml, &mut out, max_text);
        if out.len() >= max_text {
            break;
        }
    }
    Some(out)
}

/// Appends the character data of an XML document to `out`.
fn xml_text(xml: &[u8], out: &mut String, max_text: usize) {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    while out.len() < max_text {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Text(t)) => out.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => out.push_str(match &*r {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => " ",
                }),
            },
            Ok(Event::End(e)) if separates(e.local_name().as_ref()) => out.push(' '),
            Ok(Event::Empty(e)) if separates(e.local_name().as_ref()) => out.push(' '),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_data_with_word_breaks() {
        let mut out = String::new();
        xml_text(
            br#"<?xml version="1.0"?><w:document xmlns:w="x"><w:p><w:r><w:t>Hel</w:t></w:r><w:r><w:t>lo &amp; w&#246;rld</w:t></w:r></w:p><w:p><w:t>next</w:t><w:tab/><w:t>cell</w:t></w:p></w:document>"#,
            &mut out,
            1000,
        );
        assert_eq!(out, "Hello & wörld next cell ");
    }
}
