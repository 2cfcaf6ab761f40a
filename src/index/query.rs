//! SEARCH's text keys as index queries.
//!
//! Every key is RFC 3501's case-insensitive substring (both sides
//! [`fold`]ed), answered exactly by the grams fields: a string of three or
//! more characters is a phrase of grams (every third one and the last
//! suffice), a shorter one a prefix of a gram (the union of the postings of
//! every gram it starts: no more work than the index holds for the
//! messages searched), an empty one matches every message (header keys:
//! every message that has the field). Header keys (FROM, TO, CC, BCC,
//! SUBJECT, HEADER) look at the field's decoded value; header values
//! indexed only in part are reported as unsure, to be checked message by
//! message. BODY looks at the body text, TEXT at it and the header text.
//!
//! FUZZY (RFC 6203) is word search instead: every word of the string within
//! one or two edits (by length), in any order, ranked by how many match
//! exactly and how rare they are.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::{DocId, Score, SegmentReader};

use super::analysis::{GRAM, TRUNCATED, fold, grams, word_char, words, words_analyzer};
use super::{BlobSet, Snapshot, failed};
use crate::error::Result;

/// What a text key looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextKey {
    /// A header field, by lower-case name (FROM is `Header("from")`).
    Header(String),
    Body,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub key: TextKey,
    /// Folded (see [`fold`]).
    pub needle: String,
    pub fuzzy: bool,
}

impl TextQuery {
    pub fn new(key: TextKey, needle: &str, fuzzy: bool) -> TextQuery {
        TextQuery {
            key,
            needle: fold(needle),
            fuzzy,
        }
    }

    /// The words of the needle as the index splits them: what the cost of
    /// the query grows with.
    pub fn word_count(&self) -> usize {
        words(&mut words_analyzer(), &self.needle).len()
    }

    /// Whether the last word of a FUZZY string matches as a prefix.
    fn prefix(&self) -> bool {
        self.needle.chars().last().is_some_and(word_char)
    }
}

/// What the index says about a text key.
#[derive(Debug, Default)]
pub struct Hits {
    /// The blobs found, with their scores.
    pub matched: HashMap<i64, Score>,
    /// Blobs whose values the index holds only in part: check them.
    pub unsure: BlobSet,
}

/// Messages whose grams field `field` holds `needle` (folded), each term
/// `prefix` (`name:` for header fields) and a gram.
fn substring_query(field: Field, prefix: &str, needle: &str) -> Box<dyn Query> {
    let term = |gram: &str| Term::from_field_text(field, &format!("{prefix}{gram}"));
    let length = needle.chars().count();
    if length == 0 {
        return if prefix.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(TermQuery::new(term(""), IndexRecordOption::Basic))
        };
    }
    if length < GRAM {
        // A single prefix: tantivy unions the postings of all its terms.
        let mut query = PhrasePrefixQuery::new(vec![term(needle)]);
        query.set_max_expansions(u32::MAX);
        return Box::new(query);
    }
    let last = length - GRAM;
    let mut terms: Vec<(usize, Term)> = grams(needle, length)
        .filter(|(i, _)| *i <= last && (i % GRAM == 0 || *i == last))
        .map(|(i, gram)| (i, term(gram)))
        .collect();
    if terms.len() == 1 {
        let (_, term) = terms.remove(0);
        return Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
    }
    Box::new(PhraseQuery::new_with_offset(terms))
}

/// Fuzzy matching allows one edit in words of 4 to 7 characters, two in
/// longer ones.
fn distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// FUZZY: every word within its distance (the last one as a prefix when
/// `prefix`), scored by the exact ones.
fn fuzzy_query(field: Field, words: &[(usize, String)], prefix: bool) -> Box<dyn Query> {
    let last = words.len() - 1;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, (_, word)) in words.iter().enumerate() {
        let term = Term::from_field_text(field, word);
        let d = distance(word);
        let fuzzy: Box<dyn Query> = if i == last && prefix {
            Box::new(FuzzyTermQuery::new_prefix(term.clone(), d, true))
        } else {
            Box::new(FuzzyTermQuery::new(term.clone(), d, true))
        };
        clauses.push((Occur::Must, fuzzy));
        // Exact words score by their rarity (fuzzy matches score 1).
        clauses.push((
            Occur::Should,
            Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
        ));
    }
    Box::new(BooleanQuery::new(clauses))
}

impl Snapshot {
    /// The index query of a text key.
    fn index_query(&self, query: &TextQuery) -> Box<dyn Query> {
        let fields = &self.fields;
        let needle = &query.needle;
        if let TextKey::Header(name) = &query.key {
            return substring_query(fields.header, &format!("{name}:"), needle);
        }
        let (body, header) = if query.fuzzy {
            let words = words(&mut words_analyzer(), needle);
            if words.is_empty() {
                return Box::new(AllQuery);
            }
            let prefix = query.prefix();
            (
                fuzzy_query(fields.body_words, &words, prefix),
                fuzzy_query(fields.header_words, &words, prefix),
            )
        } else {
            (
                substring_query(fields.body, "", needle),
                substring_query(fields.header_text, "", needle),
            )
        };
        match query.key {
            TextKey::Text => Box::new(BooleanQuery::union(vec![header, body])),
            _ => body,
        }
    }
}

/// Collects the blobs of matching documents that are in a set.
struct Blobs {
    within: Arc<BlobSet>,
    scored: bool,
}

struct SegmentBlobs {
    column: Column<u64>,
    within: Arc<BlobSet>,
    hits: Vec<(i64, Score)>,
}

impl Collector for Blobs {
    type Fruit = Vec<(i64, Score)>;
    type Child = SegmentBlobs;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentBlobs> {
        Ok(SegmentBlobs {
            column: segment.fast_fields().u64("blob")?,
            within: self.within.clone(),
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, Score)>>) -> tantivy::Result<Vec<(i64, Score)>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentBlobs {
    type Fruit = Vec<(i64, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(blob) = self.column.first(doc).map(|b| b as i64)
            && self.within.contains(blob)
        {
            self.hits.push((blob, score));
        }
    }

    fn harvest(self) -> Vec<(i64, Score)> {
        self.hits
    }
}

impl Snapshot {
    /// The blobs of `within` that match `query`; scores when `scored`.
    pub fn search(&self, query: &TextQuery, within: &Arc<BlobSet>, scored: bool) -> Result<Hits> {
        let collect = |q: &dyn Query, scored: bool| {
            self.searcher
                .search(
                    q,
                    &Blobs {
                        within: within.clone(),
                        scored,
                    },
                )
                .map_err(failed("searching"))
        };
        let mut hits = Hits::default();
        for (blob, score) in collect(&*self.index_query(query), scored)? {
            let best = hits.matched.entry(blob).or_insert(score);
            *best = best.max(score);
        }
        if let TextKey::Header(name) = &query.key {
            let partial = Term::from_field_text(self.fields.header, &format!("{name}:{TRUNCATED}"));
            let partial = TermQuery::new(partial, IndexRecordOption::Basic);
            hits.unsure = collect(&partial, false)?
                .into_iter()
                .map(|(blob, _)| blob)
                .filter(|blob| !hits.matched.contains_key(blob))
                .collect();
        }
        Ok(hits)
    }
}
