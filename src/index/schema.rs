//! The index's documents: one per stored message (blob), keyed by the blob
//! id, so copies and moves between folders never touch the index.

use tantivy::Index;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};

use super::analysis::{GRAMS, WORDS, grams_analyzer, words_analyzer};

/// Bumped whenever what is indexed, or how, changes: an index of another
/// version is rebuilt.
pub const VERSION: u32 = 1;

#[derive(Clone, Copy)]
pub struct Fields {
    /// The blob id (catalog-wide).
    pub blob: Field,
    /// The blob's `fingerprint`: the document counts only if it agrees.
    pub fingerprint: Field,
    /// Header fields as `name:value` grams (FROM, TO, ..., HEADER).
    pub header: Field,
    /// Words of the header block, decoded header values and MIME part
    /// headers (TEXT, beside `body`).
    pub header_words: Field,
    /// Words of the body: text parts, attached messages, attachments (BODY
    /// and TEXT).
    pub body: Field,
    /// The day written in the Date header (days since 1970), when valid.
    pub sent: Field,
}

fn text(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

pub fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        blob: builder.add_u64_field("blob", INDEXED | FAST),
        fingerprint: builder.add_u64_field("fingerprint", FAST),
        header: builder.add_text_field("header", text(GRAMS)),
        header_words: builder.add_text_field("header_words", text(WORDS)),
        body: builder.add_text_field("body", text(WORDS)),
        sent: builder.add_i64_field("sent", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// Makes the index's tokenizers known to it (they are not stored with it).
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(GRAMS, grams_analyzer());
    index.tokenizers().register(WORDS, words_analyzer());
}
