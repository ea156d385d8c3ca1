//! The deployment's audit checkpoint key: an Ed25519 key ([`CheckpointKey`])
//! implementing `domain::ports::CheckpointSigner`. Its 32-byte seed lives in
//! the keyring file (`checkpoint_seed`, created by `tenancy kms init`, added
//! by `tenancy kms rotate` to a keyring made before it, kept by
//! `tenancy kms retire`, which only removes master key versions), or is made
//! up at start for an ephemeral keyring.

use std::fmt;

use domain::ports::{CheckpointSigner, SecretSource};
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// The length of a seed.
pub const SEED_LEN: usize = 32;

/// An Ed25519 key that signs audit checkpoints. Its `Debug` shows the key
/// id only.
pub struct CheckpointKey {
    key: SigningKey,
    key_id: String,
}

impl CheckpointKey {
    /// The key of `seed` (zeroized by the caller's `Zeroizing`; the signing
    /// key zeroizes its copy when dropped).
    pub fn from_seed(seed: &Zeroizing<[u8; SEED_LEN]>) -> Self {
        let key = SigningKey::from_bytes(seed);
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        let key_id = format!("ed25519:{}", domain::audit::chain::hex(&digest[..8]));
        Self { key, key_id }
    }

    /// A new seed from `secrets`.
    pub fn new_seed(secrets: &dyn SecretSource) -> Zeroizing<[u8; SEED_LEN]> {
        let mut seed = Zeroizing::new([0_u8; SEED_LEN]);
        secrets.fill(seed.as_mut_slice());
        seed
    }
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner for CheckpointKey {
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_key_and_its_signatures_verify_with_the_public_key() {
        let seed = Zeroizing::new([7_u8; SEED_LEN]);
        let key = CheckpointKey::from_seed(&seed);
        let again = CheckpointKey::from_seed(&seed);
        assert_eq!(key.key_id(), again.key_id());
        assert_eq!(key.public_key(), again.public_key());
        assert!(key.key_id().starts_with("ed25519:") && key.key_id().len() == 24);
        let other = CheckpointKey::from_seed(&Zeroizing::new([8_u8; SEED_LEN]));
        assert_ne!(key.key_id(), other.key_id());

        let public = VerifyingKey::from_bytes(&key.public_key()).unwrap();
        let signature = Signature::from_bytes(&key.sign(b"checkpoint"));
        assert!(public.verify(b"checkpoint", &signature).is_ok());
        assert!(public.verify(b"checkpoinT", &signature).is_err());
        assert!(
            !format!("{key:?}").contains("07"),
            "no key material in Debug"
        );
    }
}
