//! Random secrets and their stored form. Sessions, API tokens and setup links
//! are 256-bit random strings; the database keeps only their SHA-256, so a
//! leaked dump opens nothing.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// Prefix that makes an API token recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "mm_";

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Constant-time comparison for secrets held in memory (CSRF tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashes_stable() {
        let a = random_secret();
        assert_ne!(a, random_secret());
        assert_eq!(a.len(), 43);
        assert!(new_api_token().starts_with("mm_"));
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same_secret("x1", "x1") && !same_secret("x1", "x2") && !same_secret("x", "xx"));
    }
}
