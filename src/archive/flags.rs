//! A user's flags on a message, and changes to them. A change is stated
//! as what to set and clear rather than as the result, so that a backend
//! applies it to the flags as they are stored when it writes them: two
//! sessions changing different flags of the same message then both keep
//! their change. Flags are the domain's values; the storage backends keep
//! them as they are.

use crate::error::{Error, Result};

pub const SEEN: u32 = 1;
pub const ANSWERED: u32 = 1 << 1;
pub const FLAGGED: u32 = 1 << 2;
pub const DELETED: u32 = 1 << 3;
pub const DRAFT: u32 = 1 << 4;

/// One user's flags on one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagState {
    /// Bits of the constants above.
    pub bits: u32,
    /// Keywords (IMAP atoms), as first set.
    pub keywords: Vec<String>,
}

/// Keywords per message; more is abuse, not mail handling.
const MAX_KEYWORDS: usize = 64;

/// What to do to one user's flags on one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagChange {
    /// System flags (bits of `archive::flags`) to set.
    pub set: u32,
    /// System flags to clear.
    pub clear: u32,
    pub keywords: KeywordChange,
    /// Only if the message's mod-sequence for the user is at most this
    /// (RFC 7162 UNCHANGEDSINCE); else nothing changes and the change is
    /// refused.
    pub unchanged_since: Option<u64>,
}

/// What to do to the keywords; they compare case-insensitively and keep
/// the spelling they were first set with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KeywordChange {
    #[default]
    Keep,
    Add(Vec<String>),
    Remove(Vec<String>),
    Replace(Vec<String>),
}

impl FlagChange {
    /// The flags after this change to `current`; refused when the message
    /// would end up with more than [`MAX_KEYWORDS`] keywords.
    pub fn apply(&self, current: &FlagState) -> Result<FlagState> {
        let has = |list: &[String], k: &str| list.iter().any(|x| x.eq_ignore_ascii_case(k));
        let (mut keywords, given): (Vec<String>, &[String]) = match &self.keywords {
            KeywordChange::Keep => (current.keywords.clone(), &[]),
            KeywordChange::Add(given) => (current.keywords.clone(), given),
            KeywordChange::Remove(given) => (
                current
                    .keywords
                    .iter()
                    .filter(|k| !has(given, k))
                    .cloned()
                    .collect(),
                &[],
            ),
            KeywordChange::Replace(given) => (Vec::new(), given),
        };
        for keyword in given {
            if !has(&keywords, keyword) {
                keywords.push(keyword.clone());
            }
        }
        if keywords.len() > MAX_KEYWORDS {
            return Err(Error::Limit(format!(
                "At most {MAX_KEYWORDS} keywords per message"
            )));
        }
        Ok(FlagState {
            bits: (current.bits | self.set) & !self.clear,
            keywords,
        })
    }
}

/// A user's flags on a message after a [`FlagChange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFlags {
    pub flags: FlagState,
    /// The change altered the stored flags (else it had nothing to do).
    pub altered: bool,
    /// The folder's mod-sequence the change took; 0 when it altered nothing.
    pub modseq: u64,
    /// Not made: the message changed after `FlagChange::unchanged_since`.
    pub refused: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(bits: u32, keywords: &[&str]) -> FlagState {
        FlagState {
            bits,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn keywords_add_remove_replace() {
        let current = state(0, &["$Forwarded", "Junk"]);
        let given = vec!["junk".to_string(), "$label1".to_string()];
        let apply = |keywords| {
            FlagChange {
                keywords,
                ..FlagChange::default()
            }
            .apply(&current)
            .unwrap()
            .keywords
        };
        assert_eq!(
            apply(KeywordChange::Add(given.clone())),
            ["$Forwarded", "Junk", "$label1"]
        );
        assert_eq!(apply(KeywordChange::Remove(given.clone())), ["$Forwarded"]);
        assert_eq!(apply(KeywordChange::Replace(given)), ["junk", "$label1"]);
        assert_eq!(apply(KeywordChange::Keep), ["$Forwarded", "Junk"]);
    }

    #[test]
    fn bits_change_only_as_asked() {
        let change = FlagChange {
            set: 0b0010,
            clear: 0b0100,
            keywords: KeywordChange::Keep,
            unchanged_since: None,
        };
        assert_eq!(change.apply(&state(0b1101, &[])).unwrap().bits, 0b1011);
    }

    #[test]
    fn too_many_keywords_are_refused() {
        let many = (0..=MAX_KEYWORDS).map(|i| format!("k{i}")).collect();
        let change = FlagChange {
            keywords: KeywordChange::Add(many),
            ..FlagChange::default()
        };
        assert!(matches!(
            change.apply(&FlagState::default()),
            Err(Error::Limit(_))
        ));
    }
}
