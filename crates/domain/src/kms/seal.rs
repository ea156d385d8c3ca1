//! Sealing values with a data key (AES-256-GCM), and the AEAD both sealing
//! and the envelope of a KMS that wraps keys itself use.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::{DataKey, KEY_LEN, KmsValueError, NONCE_LEN, TAG_LEN};
use crate::ports::SecretSource;

/// A value sealed with a data key: AES-256-GCM, a random 96-bit nonce, and the
/// caller's associated data bound in (not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    nonce: [u8; NONCE_LEN],
    /// The encrypted value followed by the 16-byte tag.
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// Nonce, then ciphertext and tag: one byte string for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(NONCE_LEN + self.ciphertext.len());
        bytes.extend_from_slice(&self.nonce);
        bytes.extend_from_slice(&self.ciphertext);
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KmsValueError> {
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(KmsValueError::Sealed(format!(
                "is {} bytes long, shorter than a nonce and a tag ({})",
                bytes.len(),
                NONCE_LEN + TAG_LEN
            )));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let mut fixed = [0_u8; NONCE_LEN];
        fixed.copy_from_slice(nonce);
        Ok(Self {
            nonce: fixed,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// Why [`open`] refused: the key, the associated data or the bytes are not the
/// ones it was sealed with. Deliberately says no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value does not open with this key and associated data")]
pub struct OpenError;

/// Encrypts `plaintext` with `key`, binding `aad` (e.g. the row's id, so a
/// sealed value moved to another row no longer opens). The nonce comes from
/// `secrets`.
pub fn seal(key: &DataKey, plaintext: &[u8], aad: &[u8], secrets: &dyn SecretSource) -> Sealed {
    let mut nonce = [0_u8; NONCE_LEN];
    secrets.fill(&mut nonce);
    Sealed {
        nonce,
        ciphertext: aead_seal(key.expose(), &nonce, plaintext, aad),
    }
}

/// Decrypts what [`seal`] produced with the same key and associated data. The
/// plaintext is zeroized when dropped.
pub fn open(key: &DataKey, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    aead_open(key.expose(), &sealed.nonce, &sealed.ciphertext, aad).ok_or(OpenError)
}

/// AES-256-GCM encryption with a 32-byte key: ciphertext followed by the tag.
/// For adapters that wrap keys themselves (the local keyring).
pub fn aead_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    // Encryption fails only for inputs beyond GCM's limit (64 GiB), which no
    // key or secret comes near; an empty result then makes `open` fail cleanly.
    cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

/// AES-256-GCM decryption; `None` when the key, nonce, associated data or bytes
/// are not the ones it was sealed with.
pub fn aead_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Counting "randomness": distinct nonces and keys, reproducible.
    struct Counter(Mutex<u8>);

    impl SecretSource for Counter {
        fn fill(&self, buf: &mut [u8]) {
            let mut n = self.0.lock().unwrap();
            for b in buf {
                *n = n.wrapping_add(1);
                *b = *n;
            }
        }
    }

    fn secrets() -> Counter {
        Counter(Mutex::new(0))
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_associated_data_only() {
        let s = secrets();
        let key = DataKey::generate(&s);
        let other = DataKey::generate(&s);
        let sealed = seal(&key, b"webhook secret", b"row-1", &s);
        assert_eq!(
            open(&key, &sealed, b"row-1").unwrap().as_slice(),
            b"webhook secret"
        );
        assert_eq!(open(&key, &sealed, b"row-2"), Err(OpenError));
        assert_eq!(open(&other, &sealed, b"row-1"), Err(OpenError));
        let mut bytes = sealed.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Sealed::from_bytes(&bytes).unwrap();
        assert_eq!(open(&key, &tampered, b"row-1"), Err(OpenError));
    }

    #[test]
    fn sealing_twice_uses_two_nonces() {
        let s = secrets();
        let key = DataKey::generate(&s);
        let a = seal(&key, b"same", b"", &s);
        let b = seal(&key, b"same", b"", &s);
        assert_ne!(a.to_bytes(), b.to_bytes());
        assert_eq!(Sealed::from_bytes(&a.to_bytes()).unwrap(), a);
    }

    #[test]
    fn short_sealed_bytes_are_refused_not_panicked_on() {
        for len in [0, 1, NONCE_LEN, NONCE_LEN + TAG_LEN - 1] {
            assert!(Sealed::from_bytes(&vec![0; len]).is_err(), "{len}");
        }
        assert!(Sealed::from_bytes(&[0; NONCE_LEN + TAG_LEN]).is_ok());
    }
}
