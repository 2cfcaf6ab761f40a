//! Remembering recent successful password checks, so that a mail client
//! opening several connections does not pay for argon2 on each. Entries
//! are keyed by an HMAC of user and password under a key made at start-up
//! (the password itself is never kept), hold the password hash they were
//! verified against, and expire after a few minutes. A changed password
//! hash therefore misses at once; failures are never cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const TTL: Duration = Duration::from_secs(5 * 60);
const MAX_ENTRIES: usize = 10_000;

pub struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

impl Default for VerifiedCache {
    fn default() -> Self {
        VerifiedCache {
            key: rand::random(),
            entries: Mutex::default(),
        }
    }
}

impl VerifiedCache {
    fn fingerprint(&self, user_id: i64, password: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length works");
        mac.update(&user_id.to_be_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Was `password` verified for this user against `password_hash` lately?
    pub fn hit(&self, user_id: i64, password: &str, password_hash: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&self.fingerprint(user_id, password))
            .is_some_and(|(hash, at)| hash == password_hash && at.elapsed() < TTL)
    }

    pub fn remember(&self, user_id: i64, password: &str, password_hash: &str) {
        let fingerprint = self.fingerprint(user_id, password);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(fingerprint, (password_hash.to_string(), Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::VerifiedCache;

    #[test]
    fn hits_only_the_same_password_and_hash() {
        let cache = VerifiedCache::default();
        cache.remember(1, "secret", "$argon2id$one");
        assert!(cache.hit(1, "secret", "$argon2id$one"));
        assert!(!cache.hit(1, "Secret", "$argon2id$one"));
        assert!(!cache.hit(2, "secret", "$argon2id$one"));
        assert!(
            !cache.hit(1, "secret", "$argon2id$two"),
            "a changed password misses"
        );
    }
}
