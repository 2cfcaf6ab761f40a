//! Sets of blob ids. Ids are the catalog's dense row ids, so a bit (or a
//! fingerprint) per id is the smallest and fastest set for the millions a
//! store holds.

use crate::store::Sha256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobSet {
    words: Vec<u64>,
    len: usize,
}

impl BlobSet {
    /// Adds `id`; false if it was there already. Negative ids are ignored.
    pub fn insert(&mut self, id: i64) -> bool {
        let Ok(id) = usize::try_from(id) else {
            return false;
        };
        let (word, bit) = (id / 64, 1u64 << (id % 64));
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += usize::from(fresh);
        fresh
    }

    pub fn contains(&self, id: i64) -> bool {
        usize::try_from(id).is_ok_and(|id| {
            self.words
                .get(id / 64)
                .is_some_and(|w| w & (1u64 << (id % 64)) != 0)
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| (i * 64 + b) as i64)
        })
    }
}

impl FromIterator<i64> for BlobSet {
    fn from_iter<I: IntoIterator<Item = i64>>(ids: I) -> Self {
        let mut set = BlobSet::default();
        set.extend(ids);
        set
    }
}

impl Extend<i64> for BlobSet {
    fn extend<I: IntoIterator<Item = i64>>(&mut self, ids: I) {
        for id in ids {
            self.insert(id);
        }
    }
}

/// What identifies a blob's bytes in the index: the first 8 bytes of their
/// SHA-256 (the lowest bit set, so that 0 can mean none). A document counts
/// for a blob only when they agree, so an index that is not this catalog's
/// (restored from elsewhere, or after ids were reused) never answers.
pub fn fingerprint(sha256: &Sha256) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&sha256[..8]);
    u64::from_be_bytes(first) | 1
}

/// Fingerprints by blob id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints(Vec<u64>);

impl Fingerprints {
    /// Records a blob's fingerprint; false if the blob had one already.
    pub fn insert(&mut self, id: i64, fingerprint: u64) -> bool {
        let Ok(id) = usize::try_from(id) else {
            return false;
        };
        if id >= self.0.len() {
            self.0.resize(id + 1, 0);
        }
        let fresh = self.0[id] == 0;
        self.0[id] = fingerprint;
        fresh
    }

    /// Whether `id` is recorded with this fingerprint.
    pub fn matches(&self, id: i64, fingerprint: u64) -> bool {
        usize::try_from(id).is_ok_and(|id| self.0.get(id) == Some(&fingerprint))
    }

    /// (id, fingerprint) pairs, by id.
    pub fn iter(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        (self.0.iter().enumerate())
            .filter(|(_, f)| **f != 0)
            .map(|(id, f)| (id as i64, *f))
    }

    /// The ids whose fingerprint `other` does not have.
    pub fn not_in<'a>(&'a self, other: &'a Fingerprints) -> impl Iterator<Item = i64> + 'a {
        self.iter()
            .filter(|(id, f)| !other.matches(*id, *f))
            .map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_compare_ids_and_bytes() {
        let mut catalog = Fingerprints::default();
        let mut index = Fingerprints::default();
        assert!(catalog.insert(1, fingerprint(&[0; 32])) && catalog.insert(2, 7));
        assert!(index.insert(2, 9) && index.insert(5, 11) && !index.insert(5, 11));
        assert_eq!(fingerprint(&[0; 32]), 1);
        assert!(catalog.matches(1, 1) && !catalog.matches(2, 9) && !catalog.matches(9, 1));
        assert_eq!(catalog.not_in(&index).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(index.not_in(&catalog).collect::<Vec<_>>(), vec![2, 5]);
    }

    #[test]
    fn set_operations() {
        let a: BlobSet = [3, 64, 200, 3].into_iter().collect();
        assert_eq!(a.len(), 3);
        assert!(a.contains(200) && !a.contains(199) && !a.contains(100_000) && !a.contains(-1));
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![3, 64, 200]);
    }
}
