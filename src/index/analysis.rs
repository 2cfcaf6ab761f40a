//! How text becomes terms, the same way when indexing and when searching.
//!
//! * Substring fields (`grams`): text is [`fold`]ed, and every character
//!   starts a term of the next three characters (fewer at the end of a
//!   value): `ali`, `lic`, ... A substring of three or more characters is
//!   then a phrase of such terms, and a shorter one a prefix of a term: the
//!   index answers RFC 3501's substring semantics exactly, with nothing to
//!   check afterwards. Header fields are given as `name:text` and their
//!   terms carry the name (`from:ali`); `from:` alone says the field
//!   exists. Only the first [`gram_limit`] characters of a header value
//!   are indexed; a longer value adds the term `from:\0`, so a search
//!   knows to check that message itself. Header text (for TEXT) and body
//!   text (`text_grams`) are indexed whole.
//! * Words (`words`, for FUZZY only): runs of letters and digits,
//!   lower-cased, with Latin diacritics folded to ASCII. Characters of
//!   scripts written without spaces (Chinese, Japanese, Korean, Thai, ...)
//!   are words of their own.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

pub const GRAMS: &str = "archimap_grams";
pub const TEXT_GRAMS: &str = "archimap_text_grams";
pub const WORDS: &str = "archimap_words";

/// Characters per gram.
pub const GRAM: usize = 3;

/// Words longer than this (in bytes) are not indexed: they are base64 or
/// other noise, not something a person types.
const LONGEST_WORD: usize = 64;

/// The marker of a value indexed only in part (text never holds a NUL:
/// [`fold`] replaces it).
pub const TRUNCATED: &str = "\0";

/// Text as SEARCH compares it: lower case, one character at a time (so
/// that a search string and the text it stands in fold alike, whatever
/// surrounds them), NUL replaced (it marks truncated values).
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// How many characters of a header value are indexed: the fields people
/// search are indexed whole (up to 8 KiB), most others in their first 256
/// characters, and trace and signature fields (Received, DKIM-Signature,
/// ...: a third of a typical header, searched by nobody) not at all. A
/// search that names a field indexed only in part checks the messages
/// whose value is longer itself.
pub fn gram_limit(name: &str) -> usize {
    match name {
        "from" | "to" | "cc" | "bcc" | "subject" | "reply-to" | "sender" | "message-id" => 8192,
        "received"
        | "x-received"
        | "received-spf"
        | "dkim-signature"
        | "domainkey-signature"
        | "x-google-dkim-signature"
        | "authentication-results" => 0,
        _ if name.starts_with("arc-") => 0,
        _ => 256,
    }
}

/// The grams of the first `limit` characters of `text` (folded) as
/// (position, gram) pairs: a gram starts at every character.
pub fn grams(text: &str, limit: usize) -> impl Iterator<Item = (usize, &str)> {
    text.char_indices()
        .take(limit)
        .enumerate()
        .map(move |(position, (start, _))| {
            let rest = &text[start..];
            let end = rest.char_indices().nth(GRAM).map_or(rest.len(), |(i, _)| i);
            (position, &rest[..end])
        })
}

/// The tokenizer of substring fields: header values given as `name:text`
/// (`named`), or whole texts.
#[derive(Clone)]
pub struct GramTokenizer {
    named: bool,
    token: Token,
}

pub struct GramStream<'a> {
    /// `name:`, or nothing.
    prefix: &'a str,
    terms: Box<dyn Iterator<Item = (usize, &'a str)> + 'a>,
    token: &'a mut Token,
}

impl Tokenizer for GramTokenizer {
    type TokenStream<'a> = GramStream<'a>;

    fn token_stream<'a>(&'a mut self, value: &'a str) -> GramStream<'a> {
        self.token.reset();
        if !self.named {
            return GramStream {
                prefix: "",
                terms: Box::new(grams(value, usize::MAX)),
                token: &mut self.token,
            };
        }
        let (name, text) = value.split_once(':').unwrap_or((value, ""));
        let limit = gram_limit(name);
        let truncated = text.chars().nth(limit).is_some();
        let terms = std::iter::once((0, ""))
            .chain(grams(text, limit))
            .chain(truncated.then_some((limit, TRUNCATED)));
        GramStream {
            prefix: &value[..name.len() + usize::from(name.len() < value.len())],
            terms: Box::new(terms),
            token: &mut self.token,
        }
    }
}

impl TokenStream for GramStream<'_> {
    fn advance(&mut self) -> bool {
        let Some((position, gram)) = self.terms.next() else {
            return false;
        };
        self.token.text.clear();
        self.token.text.push_str(self.prefix);
        self.token.text.push_str(gram);
        self.token.position = position;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Characters of scripts written without spaces between words: each one
/// is a word.
pub fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF          // Thai, Lao
        | 0x1000..=0x109F        // Myanmar
        | 0x1780..=0x17FF        // Khmer
        | 0x3040..=0x30FF        // Hiragana, Katakana
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF        // Han
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FFFF
        | 0xAC00..=0xD7AF        // Hangul syllables
        | 0xFF66..=0xFF9F) // half-width Katakana
}

/// Is `c` part of a word?
pub fn word_char(c: char) -> bool {
    c.is_alphanumeric() || unspaced(c)
}

/// Splits text into words (before lower-casing and folding).
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

pub struct WordStream<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        self.token.reset();
        WordStream {
            text,
            chars: text.char_indices().peekable(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        while let Some((start, c)) = self.chars.next() {
            if !word_char(c) {
                continue;
            }
            let mut end = start + c.len_utf8();
            if !unspaced(c) {
                while let Some(&(i, next)) = self.chars.peek() {
                    if !next.is_alphanumeric() || unspaced(next) {
                        break;
                    }
                    end = i + next.len_utf8();
                    self.chars.next();
                }
            }
            self.token.text.clear();
            self.token.text.push_str(&self.text[start..end]);
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

fn grams_analyzer(named: bool) -> TextAnalyzer {
    TextAnalyzer::builder(GramTokenizer {
        named,
        token: Token::default(),
    })
    .build()
}

/// Header values, `name:text`.
pub fn header_grams_analyzer() -> TextAnalyzer {
    grams_analyzer(true)
}

/// Header and body text.
pub fn text_grams_analyzer() -> TextAnalyzer {
    grams_analyzer(false)
}

pub fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words of `text` with their positions, as the index holds them.
pub fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    analyzer
        .token_stream(text)
        .process(&mut |token| out.push((token.position, token.text.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t| out.push((t.position, t.text.clone())));
        out
    }

    #[test]
    fn header_values_become_positioned_grams() {
        let mut a = header_grams_analyzer();
        assert_eq!(
            tokens(&mut a, "to:abcd"),
            vec![
                (0, "to:".to_string()),
                (0, "to:abc".into()),
                (1, "to:bcd".into()),
                (2, "to:cd".into()),
                (3, "to:d".into()),
            ]
        );
        assert_eq!(
            tokens(&mut a, "subject:"),
            vec![(0, "subject:".to_string())]
        );
        let long = format!("x-long:{}", "é".repeat(300));
        let t = tokens(&mut a, &long);
        assert_eq!(t.len(), 1 + 256 + 1);
        assert_eq!(t[256], (255, "x-long:ééé".to_string()));
        assert_eq!(t[257], (256, "x-long:\0".to_string()));
    }

    #[test]
    fn texts_become_grams_whole() {
        let mut a = text_grams_analyzer();
        assert_eq!(
            tokens(&mut a, "né:x"),
            vec![
                (0, "né:".to_string()),
                (1, "é:x".into()),
                (2, ":x".into()),
                (3, "x".into()),
            ]
        );
        assert_eq!(tokens(&mut a, &"y".repeat(10_000)).len(), 10_000);
    }

    #[test]
    fn folding_is_per_character() {
        assert_eq!(fold("ΟΔΟΣ Straße\0İ"), "οδοσ straße\u{fffd}i\u{307}");
    }

    #[test]
    fn words_fold_case_and_diacritics_and_split_unspaced_scripts() {
        let mut analyzer = words_analyzer();
        let mut a = |text: &str| -> Vec<String> {
            words(&mut analyzer, text)
                .into_iter()
                .map(|(_, w)| w)
                .collect()
        };
        assert_eq!(
            a("Café-Bar, naïve résumé 42x ß"),
            vec!["cafe", "bar", "naive", "resume", "42x", "ss"]
        );
        assert_eq!(
            a("東京タワー abc"),
            vec!["東", "京", "タ", "ワ", "ー", "abc"]
        );
        assert_eq!(a("Привет, мир"), vec!["привет", "мир"]);
        assert!(a(&"x".repeat(100)).is_empty());
    }
}
