//! Password hashing: argon2id with the argon2 crate's default parameters,
//! stored as a PHC string.

use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use memmap2::MmapMut;

use crate::error::{Error, Result};

/// Stored hashes asking for more working memory than this are not checked:
/// a check must not be able to take the server's memory.
const MAX_WORK_MEMORY: usize = 256 << 20;

pub fn hash_password(password: &str) -> Result<String> {
    if password.is_empty() {
        return Err(Error::Invalid("the password is empty".into()));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Invalid(format!("hashing the password: {e}")))
}

/// False for a wrong password and for a malformed stored hash alike.
pub fn verify_password(password: &str, phc: &str) -> bool {
    recompute_matches(password, phc).unwrap_or(false)
}

/// Recomputes the hash of `password` with the stored hash's parameters and
/// salt and compares in constant time (`Output`'s `==`); `None` when the
/// stored hash cannot be used.
fn recompute_matches(password: &str, phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let (salt, expected) = (hash.salt?, hash.hash?);
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
        .ok()?;
    let params = Params::try_from(&hash).ok()?;
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).ok()?;
    let mut memory = WorkMemory::new(params.block_count())?;
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, memory.blocks())
        .ok()?;
    Some(Output::new(&computed).ok()? == expected)
}

/// A hash in the stored form that no password matches (its output is
/// random), costing a check exactly what a real user's default hash costs:
/// checked for unknown users, so that they are not told apart by time.
pub fn unmatchable_hash() -> String {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let output = Output::new(&rand::random::<[u8; Params::DEFAULT_OUTPUT_LEN]>())
        .expect("the default output length is valid");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).expect("the default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string()
}

/// argon2's working memory (19 MiB with the default parameters), mapped
/// for one check and unmapped when it ends. Taken from the allocator
/// instead, glibc keeps blocks this size in the thread's arena for good:
/// every first login grew the server by 19 MiB.
struct WorkMemory {
    map: MmapMut,
    blocks: usize,
}

impl WorkMemory {
    fn new(blocks: usize) -> Option<WorkMemory> {
        let bytes = blocks.checked_mul(Block::SIZE)?;
        if bytes > MAX_WORK_MEMORY {
            tracing::warn!(
                bytes,
                "a stored password hash asks for too much memory to check"
            );
            return None;
        }
        let map = MmapMut::map_anon(bytes)
            .inspect_err(|e| tracing::error!(error = %e, "mapping argon2 working memory"))
            .ok()?;
        Some(WorkMemory { map, blocks })
    }

    fn blocks(&mut self) -> &mut [Block] {
        // SAFETY: an anonymous mapping is page-aligned (a Block needs 64
        // bytes' alignment), `blocks * Block::SIZE` bytes long and filled
        // with zeroes, a valid value of a Block (128 u64s). The slice
        // borrows the mapping mutably, so it neither outlives nor aliases it.
        unsafe {
            std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Block>(), self.blocks)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(hash_password("").is_err());
    }

    #[test]
    fn the_unmatchable_hash_has_the_default_parameters() {
        let dummy = unmatchable_hash();
        let real = hash_password("x").unwrap();
        let params = |phc: &str| {
            let hash = PasswordHash::new(phc).unwrap();
            (
                hash.algorithm.to_string(),
                hash.version,
                hash.params.to_string(),
            )
        };
        assert_eq!(params(&dummy), params(&real));
        assert!(!verify_password("x", &dummy));
    }
}
