//! Why an attachment's text was not extracted. Each is the outcome of one
//! attachment, never of the process: the message is archived verbatim,
//! its other text indexed, and the reason kept in its index document, so
//! `index verify` and `index list` can count them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotExtracted {
    /// The parser ran past `attachment_seconds` (wall clock) and was killed.
    Timeout,
    /// The parser needed more than `attachment_memory_mb` of memory.
    Memory,
    /// The parser used up the worker's CPU time limit.
    Cpu,
    /// The parser crashed (stack overflow, abort, panic) or broke the
    /// worker protocol.
    Crashed,
    /// The parser found no document in it (a broken PDF or zip).
    Unreadable,
    /// No worker process could be started.
    Unavailable,
}

impl NotExtracted {
    const ALL: [NotExtracted; 6] = [
        NotExtracted::Timeout,
        NotExtracted::Memory,
        NotExtracted::Cpu,
        NotExtracted::Crashed,
        NotExtracted::Unreadable,
        NotExtracted::Unavailable,
    ];

    /// The number the index keeps (stable: stored in index documents).
    pub fn code(self) -> u64 {
        match self {
            NotExtracted::Timeout => 1,
            NotExtracted::Memory => 2,
            NotExtracted::Cpu => 3,
            NotExtracted::Crashed => 4,
            NotExtracted::Unreadable => 5,
            NotExtracted::Unavailable => 6,
        }
    }

    pub fn from_code(code: u64) -> Option<NotExtracted> {
        NotExtracted::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotExtracted::Timeout => "timeout",
            NotExtracted::Memory => "memory",
            NotExtracted::Cpu => "cpu",
            NotExtracted::Crashed => "crashed",
            NotExtracted::Unreadable => "unreadable",
            NotExtracted::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for NotExtracted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Attachments whose text was not extracted, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotExtractedCounts(BTreeMap<&'static str, u64>);

impl NotExtractedCounts {
    pub fn add(&mut self, reason: NotExtracted) {
        *self.0.entry(reason.as_str()).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// `3 attachments not extracted (crashed 1, timeout 2)`.
impl fmt::Display for NotExtractedCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} attachments not extracted", self.total())?;
        if !self.0.is_empty() {
            let reasons: Vec<String> = self.0.iter().map(|(r, n)| format!("{r} {n}")).collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_counts_print() {
        for reason in NotExtracted::ALL {
            assert_eq!(NotExtracted::from_code(reason.code()), Some(reason));
        }
        let mut counts = NotExtractedCounts::default();
        assert_eq!(counts.to_string(), "0 attachments not extracted");
        counts.add(NotExtracted::Timeout);
        counts.add(NotExtracted::Crashed);
        counts.add(NotExtracted::Timeout);
        assert_eq!(
            counts.to_string(),
            "3 attachments not extracted (crashed 1, timeout 2)"
        );
    }
}
