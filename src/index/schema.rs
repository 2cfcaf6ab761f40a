//! The index's documents: one per stored message (blob), keyed by the blob
//! id, so copies and moves between folders never touch the index.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};

use super::analysis::{
    GRAMS, TEXT_GRAMS, WORDS, header_grams_analyzer, text_grams_analyzer, words_analyzer,
};

/// Bumped whenever what is indexed, or how, changes: an index of another
/// version is rebuilt (on open: the catalog has everything to fill it).
/// 2: header and body text as grams (substrings), words for FUZZY only.
/// 3: why attachments' text is missing (`not_extracted`).
pub const VERSION: u32 = 3;

#[derive(Clone, Copy)]
pub struct Fields {
    /// The blob id (catalog-wide).
    pub blob: Field,
    /// The blob's `fingerprint`: the document counts only if it agrees.
    pub fingerprint: Field,
    /// Header fields as `name:value` grams (FROM, TO, ..., HEADER).
    pub header: Field,
    /// Grams of the header text: its fields and the MIME headers of its
    /// parts, decoded (TEXT, beside `body`).
    pub header_text: Field,
    /// Grams of the body: text parts, attached messages, attachments (BODY
    /// and TEXT).
    pub body: Field,
    /// Words of `header_text` (FUZZY TEXT, beside `body_words`).
    pub header_words: Field,
    /// Words of `body` (FUZZY BODY and TEXT).
    pub body_words: Field,
    /// The day written in the Date header (days since 1970), when valid.
    pub sent: Field,
    /// Why attachments' text is missing: a `NotExtracted` code per
    /// attachment (version 3).
    pub not_extracted: Field,
}

/// Grams need positions (a substring is a phrase of them); FUZZY's words
/// only frequencies (it matches words in any order).
fn text(tokenizer: &str, record: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    )
}

const POSITIONS: IndexRecordOption = IndexRecordOption::WithFreqsAndPositions;
const FREQS: IndexRecordOption = IndexRecordOption::WithFreqs;

pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        blob: builder.add_u64_field("blob", INDEXED | FAST),
        fingerprint: builder.add_u64_field("fingerprint", FAST),
        header: builder.add_text_field("header", text(GRAMS, POSITIONS)),
        header_text: builder.add_text_field("header_text", text(TEXT_GRAMS, POSITIONS)),
        body: builder.add_text_field("body", text(TEXT_GRAMS, POSITIONS)),
        header_words: builder.add_text_field("header_words", text(WORDS, FREQS)),
        body_words: builder.add_text_field("body_words", text(WORDS, FREQS)),
        sent: builder.add_i64_field("sent", INDEXED | FAST),
        not_extracted: builder.add_u64_field("not_extracted", FAST),
    };
    (builder.build(), fields)
}

/// Makes the index's tokenizers known to it (they are not stored with it).
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(GRAMS, header_grams_analyzer());
    index
        .tokenizers()
        .register(TEXT_GRAMS, text_grams_analyzer());
    index.tokenizers().register(WORDS, words_analyzer());
}
