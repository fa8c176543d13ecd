//! The fake's random numbers: a per-fake `RandomState`'s hash of a count.

use std::hash::{BuildHasher, Hasher};

pub(super) fn random_u64(random: &std::collections::hash_map::RandomState, salt: u64) -> u64 {
    let mut hasher = random.build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}
