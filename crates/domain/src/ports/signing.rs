//! The deployment key that signs audit checkpoints (SPEC §7): the domain
//! hands it bytes and never sees the private key.

/// Signs with the deployment's Ed25519 checkpoint key.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait CheckpointSigner: Send + Sync {
    /// A short, stable name of the key, quoted in every checkpoint it signs.
    fn key_id(&self) -> String;

    /// The Ed25519 public key (32 bytes), for clients that check signatures.
    fn public_key(&self) -> [u8; 32];

    /// The Ed25519 signature (64 bytes) of `message`. Infallible: the key is
    /// held in memory.
    fn sign(&self, message: &[u8]) -> [u8; 64];
}
