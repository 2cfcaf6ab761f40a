//! Our MIME reader and what FETCH builds from it: ENVELOPE, BODY and
//! BODYSTRUCTURE, BODY[section], BINARY[part], and the text the index reads.
#![no_main]

use archimap::mime::{Message, SectionSpec};

const SECTIONS: &[&str] = &["", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1", "2.HEADER", "1.2.TEXT", "3.1.2"];
const PARTS: &[&[u32]] = &[&[], &[1], &[2], &[1, 1], &[1, 2, 1], &[3]];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let message = Message::parse(data);
    let _ = message.size();
    let _ = message.envelope();
    let _ = message.body_structure(true);
    let _ = message.body_structure(false);
    for text in SECTIONS {
        if let Some(spec) = SectionSpec::parse(text) {
            let _ = message.section(&spec);
        }
    }
    for path in PARTS {
        let _ = message.binary(path);
    }
    let _ = message.text_parts(&|_, _| true);
});
