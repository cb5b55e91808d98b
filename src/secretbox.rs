//! Encryption of the few secrets the portal must read back in clear (an
//! OpenID Connect client secret), as opposed to those it only checks (API
//! keys, sessions, passwords), which are stored hashed.
//!
//! AES-256-GCM with a key derived from the server's `secret_key` (SHA-256 of
//! a purpose label and the key material), a random 96-bit nonce per
//! encryption stored before the ciphertext, and the owning row named in the
//! associated data, so a sealed value copied to another row does not open.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use sha2::{Digest, Sha256};

/// Separates this key from any other derived from the same `secret_key`.
const LABEL: &[u8] = b"scim-portal secretbox v1: stored secrets";
const NONCE_BYTES: usize = 12;

/// Seals and opens stored secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box keyed from `material` (the server's configured or generated `secret_key`).
    pub fn new(material: &[u8]) -> SecretBox {
        let mut hasher = Sha256::new();
        hasher.update(LABEL);
        hasher.update(material);
        let key = hasher.finalize();
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).expect("SHA-256 gives a 256-bit key");
        SecretBox { cipher }
    }

    /// Encrypts `plaintext` for the row named by `context`: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `context`; None
    /// when it was sealed under another key (the `secret_key` changed), for
    /// another row, or was altered.
    pub fn open(&self, sealed: &[u8], context: &str) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        self.cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() }).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let b = SecretBox::new(b"key material");
        let one = b.seal(b"s3cret~value", "tenant 1");
        let two = b.seal(b"s3cret~value", "tenant 1");
        assert_ne!(one, two, "a random nonce per encryption");
        assert!(!one.windows(12).any(|w| w == b"s3cret~value"), "no plaintext in the sealed bytes");
        assert_eq!(b.open(&one, "tenant 1").as_deref(), Some(&b"s3cret~value"[..]));
        assert_eq!(b.open(&two, "tenant 1").as_deref(), Some(&b"s3cret~value"[..]));
    }

    #[test]
    fn refuses_another_key_another_row_and_tampering() {
        let b = SecretBox::new(b"key material");
        let sealed = b.seal(b"secret", "tenant 1");
        assert_eq!(SecretBox::new(b"other material").open(&sealed, "tenant 1"), None);
        assert_eq!(b.open(&sealed, "tenant 2"), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(b.open(&altered, "tenant 1"), None);
        assert_eq!(b.open(&sealed[..5], "tenant 1"), None);
        assert!(!format!("{b:?}").contains("cipher"));
    }
}
