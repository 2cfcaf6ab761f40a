//! The text keys evaluated on one message in memory, as the index answers
//! them: for messages the index does not cover yet, and for header values
//! it holds only in part. FUZZY matches exactly (as a substring) here.

use super::{IndexDoc, TextKey, TextQuery};

impl IndexDoc {
    pub fn matches(&self, query: &TextQuery) -> bool {
        let needle = query.needle.as_str();
        match &query.key {
            TextKey::Header(name) => self
                .fields
                .iter()
                .filter(|f| f.name == *name)
                .any(|f| f.texts.iter().any(|t| t.contains(needle))),
            TextKey::Body => self.body_text.iter().any(|t| t.contains(needle)),
            TextKey::Text => self
                .header_text
                .iter()
                .chain(&self.body_text)
                .any(|t| t.contains(needle)),
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
                texts: vec!["quarterly réport".into()],
            }],
            header_text: vec!["subject: quarterly réport".into()],
            body_text: vec!["please find the invoices attached.".into(), "x".into()],
            sent: None,
            not_extracted: Vec::new(),
        };
        let q = |key: TextKey, needle: &str| doc.matches(&TextQuery::new(key, needle, false));
        assert!(q(TextKey::Header("subject".into()), "RLY RÉ"));
        assert!(!q(TextKey::Header("from".into()), ""));
        assert!(q(TextKey::Header("subject".into()), ""));
        assert!(q(TextKey::Body, "find the invoi"));
        assert!(q(TextKey::Body, "nvoices"));
        assert!(q(TextKey::Body, "INVOICES attached."));
        assert!(
            !q(TextKey::Body, "attached.x"),
            "one text ends where the next begins"
        );
        assert!(!q(TextKey::Body, "quarterly"));
        assert!(!q(TextKey::Body, "report"), "no folding of diacritics");
        assert!(q(TextKey::Text, "quarterly réport"));
        assert!(q(TextKey::Body, ""));
    }
}
