//! The text keys evaluated on one message in memory, with the index's
//! rules: for messages the index does not cover yet, and for header values
//! it holds only in part. FUZZY matches exactly here.

use std::collections::HashMap;

use super::analysis::{words, words_analyzer};
use super::{IndexDoc, TextKey, TextQuery};

/// Whether the words of `needle` stand in `text` as a phrase (the last
/// one as a prefix when `prefix`).
fn phrase_in(text: &[(usize, String)], needle: &[(usize, String)], prefix: bool) -> bool {
    let at: HashMap<usize, &str> = text.iter().map(|(p, w)| (*p, w.as_str())).collect();
    let (first, last) = (needle[0].0, needle.len() - 1);
    text.iter().any(|(start, _)| {
        needle.iter().enumerate().all(|(i, (p, word))| {
            at.get(&(start + p - first)).is_some_and(|w| {
                if i == last && prefix {
                    w.starts_with(word.as_str())
                } else {
                    w == word
                }
            })
        })
    })
}

impl IndexDoc {
    pub fn matches(&self, query: &TextQuery) -> bool {
        let needle = &query.needle;
        match &query.key {
            TextKey::Header(name) => self
                .fields
                .iter()
                .filter(|f| f.name == *name)
                .any(|f| f.texts.iter().any(|t| t.contains(needle.as_str()))),
            TextKey::Body | TextKey::Text => {
                let mut analyzer = words_analyzer();
                let wanted = words(&mut analyzer, needle);
                if wanted.is_empty() {
                    return true;
                }
                let header = self
                    .header_text
                    .iter()
                    .filter(|_| query.key == TextKey::Text);
                header
                    .chain(&self.body_text)
                    .any(|text| phrase_in(&words(&mut analyzer, text), &wanted, query.prefix()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::HeaderField;

    #[test]
    fn keys_on_one_message() {
        let doc = IndexDoc {
            fields: vec![HeaderField {
                name: "subject".into(),
                texts: vec![" quarterly réport".into()],
            }],
            header_text: vec!["subject: quarterly réport".into()],
            body_text: vec!["Please find the invoices attached.".into()],
            sent: None,
        };
        let q = |key: TextKey, needle: &str| doc.matches(&TextQuery::new(key, needle, false));
        assert!(q(TextKey::Header("subject".into()), "RLY RÉ"));
        assert!(!q(TextKey::Header("from".into()), ""));
        assert!(q(TextKey::Header("subject".into()), ""));
        assert!(q(TextKey::Body, "find the invoi"));
        assert!(!q(TextKey::Body, "find the invoi."));
        assert!(q(TextKey::Body, "INVOICES attached."));
        assert!(!q(TextKey::Body, "nvoices"));
        assert!(!q(TextKey::Body, "quarterly"));
        assert!(q(TextKey::Text, "quarterly report"));
        assert!(q(TextKey::Body, "--"));
    }
}
