//! SEARCH's text keys as index queries.
//!
//! * Header keys (FROM, TO, CC, BCC, SUBJECT, HEADER): the lower-cased
//!   string as a substring of the field's raw or decoded value: a phrase of
//!   grams (three characters each, every third one and the last suffice),
//!   or, for one or two characters, a prefix of a gram. Values indexed
//!   only in part are reported as unsure, to be checked message by message.
//! * BODY and TEXT: the string's words as a phrase; its last word matches
//!   as a prefix unless the string ends with a non-word character. A
//!   string without words matches every message. FUZZY: every word within
//!   one or two edits (by length), in any order, ranked by how many match
//!   exactly and how rare they are. A phrase whose last word is the prefix
//!   of very many words (a letter or two) is answered by checking the
//!   messages that have the other words and some word with that prefix.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{
    AllQuery, BooleanQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::{DocId, Score, SegmentReader};

use super::analysis::{GRAM, TRUNCATED, grams, word_char, words, words_analyzer};
use super::schema::Fields;
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
    /// For header keys, lower-case.
    pub needle: String,
    pub fuzzy: bool,
}

impl TextQuery {
    pub fn new(key: TextKey, needle: &str, fuzzy: bool) -> TextQuery {
        let needle = match key {
            TextKey::Header(_) => needle.to_lowercase(),
            _ => needle.to_string(),
        };
        TextQuery { key, needle, fuzzy }
    }

    /// Whether the last word of a BODY or TEXT string matches as a prefix.
    pub(super) fn prefix(&self) -> bool {
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

/// The most words a phrase's last word may be the prefix of in a segment:
/// each takes memory while the phrase is matched.
const MAX_EXPANSIONS: usize = 2048;

/// The first byte string after every string starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn prefix_query(term: Term) -> Box<dyn Query> {
    let mut query = PhrasePrefixQuery::new(vec![term]);
    query.set_max_expansions(u32::MAX);
    Box::new(query)
}

fn header_query(fields: &Fields, name: &str, needle: &str) -> Box<dyn Query> {
    let term = |gram: &str| Term::from_field_text(fields.header, &format!("{name}:{gram}"));
    let length = needle.chars().count();
    if length == 0 {
        return Box::new(TermQuery::new(term(""), IndexRecordOption::Basic));
    }
    if length < GRAM {
        return prefix_query(term(needle));
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

/// A words query, and whether it finds a superset to check.
struct Words {
    query: Box<dyn Query>,
    approximate: bool,
}

impl Words {
    fn exact(query: Box<dyn Query>) -> Words {
        Words {
            query,
            approximate: false,
        }
    }
}

fn phrase(mut terms: Vec<(usize, Term)>) -> Box<dyn Query> {
    if terms.len() == 1 {
        let (_, term) = terms.remove(0);
        return Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
    }
    Box::new(PhraseQuery::new_with_offset(terms))
}

fn words_query(
    snapshot: &Snapshot,
    field: Field,
    words: &[(usize, String)],
    prefix: bool,
    fuzzy: bool,
) -> Result<Words> {
    let first = words[0].0;
    let mut terms: Vec<(usize, Term)> = words
        .iter()
        .map(|(p, w)| (p - first, Term::from_field_text(field, w)))
        .collect();
    if fuzzy {
        let last = words.len() - 1;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, (word, (_, term))) in words.iter().map(|(_, w)| w).zip(&terms).enumerate() {
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
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
            ));
        }
        return Ok(Words::exact(Box::new(BooleanQuery::new(clauses))));
    }
    if !prefix {
        return Ok(Words::exact(phrase(terms)));
    }
    let (_, last) = terms.pop().expect("a phrase has words");
    if terms.is_empty() {
        return Ok(Words::exact(prefix_query(last)));
    }
    let expansions = snapshot.expansions(&last)?;
    if expansions > MAX_EXPANSIONS {
        let query = BooleanQuery::intersection(vec![phrase(terms), prefix_query(last)]);
        return Ok(Words {
            query: Box::new(query),
            approximate: true,
        });
    }
    let offset = words[words.len() - 1].0 - first;
    terms.push((offset, last));
    let mut query = PhrasePrefixQuery::new_with_offset(terms);
    query.set_max_expansions(expansions.max(1) as u32);
    Ok(Words::exact(Box::new(query)))
}

impl Snapshot {
    /// The number of words `prefix` starts, in the segment where it starts
    /// most (counted up to just past the limit).
    fn expansions(&self, prefix: &Term) -> Result<usize> {
        let bytes = prefix.serialized_value_bytes();
        let mut most = 0;
        for segment in self.searcher.segment_readers() {
            let index = segment
                .inverted_index(prefix.field())
                .map_err(failed("reading terms"))?;
            let mut range = index.terms().range().ge(bytes);
            if let Some(end) = prefix_end(bytes) {
                range = range.lt(end);
            }
            let mut stream = range
                .into_stream()
                .map_err(|e| failed("reading terms")(e.into()))?;
            let mut n = 0;
            while n <= MAX_EXPANSIONS && stream.advance() {
                n += 1;
            }
            most = most.max(n);
        }
        Ok(most)
    }

    /// The index query of a text key.
    fn index_query(&self, query: &TextQuery) -> Result<Words> {
        let fields = &self.fields;
        if let TextKey::Header(name) = &query.key {
            return Ok(Words::exact(header_query(fields, name, &query.needle)));
        }
        let words = words(&mut words_analyzer(), &query.needle);
        if words.is_empty() {
            return Ok(Words::exact(Box::new(AllQuery)));
        }
        let (prefix, fuzzy) = (query.prefix(), query.fuzzy);
        let body = words_query(self, fields.body, &words, prefix, fuzzy)?;
        if query.key == TextKey::Body {
            return Ok(body);
        }
        let header = words_query(self, fields.header_words, &words, prefix, fuzzy)?;
        Ok(Words {
            approximate: header.approximate || body.approximate,
            query: Box::new(BooleanQuery::union(vec![header.query, body.query])),
        })
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
        let words = self.index_query(query)?;
        for (blob, score) in collect(&*words.query, scored)? {
            if words.approximate {
                hits.unsure.insert(blob);
            } else {
                let best = hits.matched.entry(blob).or_insert(score);
                *best = best.max(score);
            }
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
