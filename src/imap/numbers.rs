//! Sequence sets and UID sets as sorted, merged ranges: what a set costs
//! depends on how many ranges it has and how many messages the mailbox
//! holds, never on the numbers written in it (`1:4294967295` is one range,
//! not four billion numbers).

use std::num::NonZeroU32;

use imap_codec::imap_types::sequence::{Sequence, SequenceSet};

/// The numbers a set names, as disjoint inclusive ranges in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberSet {
    ranges: Vec<(u32, u32)>,
}

impl NumberSet {
    /// The set with `*` standing for `largest` (the highest sequence number
    /// or UID in the mailbox; RFC 3501 9: `*` in an empty mailbox is
    /// taken as 1 here, which names no message).
    pub fn new(set: &SequenceSet, largest: u32) -> NumberSet {
        let largest = NonZeroU32::new(largest).unwrap_or(NonZeroU32::MIN);
        let mut ranges: Vec<(u32, u32)> = set
            .0
            .as_ref()
            .iter()
            .map(|element| match element {
                Sequence::Single(x) => {
                    let x = x.expand(largest).get();
                    (x, x)
                }
                Sequence::Range(a, b) => {
                    let (a, b) = (a.expand(largest).get(), b.expand(largest).get());
                    (a.min(b), a.max(b))
                }
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (low, high) in ranges {
            match merged.last_mut() {
                Some(last) if low <= last.1.saturating_add(1) => last.1 = last.1.max(high),
                _ => merged.push((low, high)),
            }
        }
        NumberSet { ranges: merged }
    }

    /// The set of `numbers` (any order).
    pub fn of(numbers: &[u32]) -> NumberSet {
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for n in sorted {
            match ranges.last_mut() {
                Some(last) if n <= last.1.saturating_add(1) => last.1 = last.1.max(n),
                _ => ranges.push((n, n)),
            }
        }
        NumberSet { ranges }
    }

    /// Whether `n` is in the set: a binary search over the ranges.
    pub fn contains(&self, n: u32) -> bool {
        let after = self.ranges.partition_point(|&(low, _)| low <= n);
        after > 0 && n <= self.ranges[after - 1].1
    }

    /// The highest number named, if any.
    pub fn highest(&self) -> Option<u32> {
        self.ranges.last().map(|&(_, high)| high)
    }

    /// The ranges, ascending and disjoint.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, largest: u32) -> NumberSet {
        NumberSet::new(&SequenceSet::try_from(text).unwrap(), largest)
    }

    #[test]
    fn merges_and_sorts_ranges() {
        assert_eq!(set("9,1:3,2,4,7:*", 8).ranges(), &[(1, 4), (7, 9)]);
        assert_eq!(set("*:5", 3).ranges(), &[(3, 5)]);
        assert_eq!(
            set("7:4294967295", 1).ranges(),
            &[(7, u32::MAX)],
            "one range, whatever its numbers"
        );
        assert_eq!(set("1:4294967295,5", 1).ranges(), &[(1, u32::MAX)]);
    }

    #[test]
    fn membership() {
        let s = set("2,4:6,4294967295", 10);
        for (n, inside) in [
            (1, false),
            (2, true),
            (3, false),
            (4, true),
            (6, true),
            (7, false),
            (u32::MAX, true),
        ] {
            assert_eq!(s.contains(n), inside, "{n}");
        }
        assert_eq!(s.highest(), Some(u32::MAX));
    }
}
