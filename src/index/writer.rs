//! Writing an index: documents in, deletions, commits.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tantivy::schema::Term;
use tantivy::{IndexWriter, TantivyDocument};

use super::schema::Fields;
use super::{IndexDoc, failed};
use crate::error::Result;

/// How often a long-running writer (an import) commits: what is committed
/// is what searches are answered from; the rest they check one by one.
const COMMIT_EVERY: Duration = Duration::from_secs(30);

/// The one writer of an index; dropping it without committing discards
/// what it added (the catalog still has it: reconciliation adds it again).
pub struct Writer {
    inner: IndexWriter,
    fields: Fields,
    committed: Instant,
}

/// Days since 1970-01-01: how the index holds dates.
fn days(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// The date `days` after 1970-01-01.
pub(super) fn date(days: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

impl Writer {
    pub(super) fn new(inner: IndexWriter, fields: Fields) -> Writer {
        Writer {
            inner,
            fields,
            committed: Instant::now(),
        }
    }

    /// Adds the document of a blob (which must not have one), with its
    /// `fingerprint`.
    pub fn add(&mut self, blob: i64, fingerprint: u64, doc: IndexDoc) -> Result<()> {
        let f = &self.fields;
        let mut d = TantivyDocument::new();
        d.add_u64(f.blob, blob as u64);
        d.add_u64(f.fingerprint, fingerprint);
        for field in doc.fields {
            for text in field.texts {
                d.add_text(f.header, format!("{}:{text}", field.name));
            }
        }
        for text in &doc.header_text {
            d.add_text(f.header_text, text);
            d.add_text(f.header_words, text);
        }
        for text in &doc.body_text {
            d.add_text(f.body, text);
            d.add_text(f.body_words, text);
        }
        if let Some(sent) = doc.sent {
            d.add_i64(f.sent, days(sent));
        }
        for reason in doc.not_extracted {
            d.add_u64(f.not_extracted, reason.code());
        }
        self.inner
            .add_document(d)
            .map(|_| ())
            .map_err(failed("adding a document"))
    }

    /// Removes a blob's document (when its last reference goes).
    pub fn delete(&mut self, blob: i64) {
        self.inner
            .delete_term(Term::from_field_u64(self.fields.blob, blob as u64));
    }

    /// Removes every document (before a rebuild).
    pub fn delete_all(&mut self) -> Result<()> {
        self.inner
            .delete_all_documents()
            .map(|_| ())
            .map_err(failed("deleting all documents"))
    }

    /// Makes everything added or deleted so far durable and visible.
    pub fn commit(&mut self) -> Result<()> {
        self.inner.commit().map_err(failed("committing"))?;
        self.committed = Instant::now();
        Ok(())
    }

    /// Commits, and waits for the segment merges under way (dropping a
    /// writer abandons them, leaving the index in more pieces).
    pub fn finish(mut self) -> Result<()> {
        self.commit()?;
        self.inner
            .wait_merging_threads()
            .map_err(failed("merging segments"))
    }

    /// Commits if the last commit is a while ago.
    pub fn commit_if_due(&mut self) -> Result<()> {
        if self.committed.elapsed() >= COMMIT_EVERY {
            self.commit()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_1970() {
        for (y, m, d, n) in [(1970, 1, 2, 1), (1969, 12, 31, -1), (2024, 2, 29, 19782)] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!((days(day), date(n)), (n, Some(day)));
        }
    }
}
