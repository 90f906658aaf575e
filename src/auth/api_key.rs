//! API keys: random, shown once, stored as a SHA-256 digest (a key has 190 bits of entropy, so
//! a fast hash is enough and lookups stay one indexed query).

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked key easy to recognise.
pub const PREFIX: &str = "fila_";

/// A new key: `fila_` and 32 random alphanumerics.
pub fn generate() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{PREFIX}{random}")
}

/// The stored digest of a key (hex).
pub fn digest(key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The part shown in listings.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(PREFIX.len() + 4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_digests_stable() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 32);
        assert_eq!(digest(&a), digest(&a));
        assert_eq!(digest(&a).len(), 64);
        assert_eq!(display_prefix("fila_abcdefgh"), "fila_abcd");
    }
}
