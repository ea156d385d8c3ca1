//! Per-tenant encryption (docs/security.md): the [`Kms`] port that wraps and unwraps data
//! keys under a versioned key-encryption key (KEK), the envelope types it trades
//! in, sealing of secrets with a data key (AES-256-GCM), and [`DataKeys`], the
//! bounded, time-limited cache of unwrapped keys the use cases go through.
//!
//! The port is modelled on AWS KMS `GenerateDataKey` / `Decrypt` / `ReEncrypt`
//! and Vault transit's `datakey` / `rewrap`: a data key is minted and handed out
//! twice, in clear (to use now, then forget) and wrapped (to store). Every
//! [`WrappedKey`] records the KEK and the KEK version that wrapped it, and is
//! bound to an [`EncryptionContext`] (the tenant or org it belongs to): unwrapping
//! it under another context fails, so a key copied into another tenant's row
//! opens nothing.
//!
//! Nothing here does I/O. AES-GCM is a pure computation (the `aes-gcm` crate);
//! its nonces come from the [`SecretSource`] port, like every other randomness
//! of the domain. Plaintext keys live in [`DataKey`], which is zeroized when
//! dropped and never printed.
//!
//! The envelope types and the port are here; sealing with a data key is in
//! `seal.rs`, the cache of unwrapped keys in `cache.rs`.

mod cache;
mod seal;

pub use cache::{DataKeyCacheLimits, DataKeys};
pub use seal::{OpenError, Sealed, aead_open, aead_seal, open, seal};

use std::fmt;

use async_trait::async_trait;
use uuid::Uuid;
use zeroize::Zeroize;

use crate::ids::{OrgId, TenantId};
use crate::ports::SecretSource;

/// Length of a data key and of a KEK: AES-256.
pub const KEY_LEN: usize = 32;

/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// Length of an AES-GCM authentication tag.
pub const TAG_LEN: usize = 16;

/// Names a key-encryption key: a local keyring's id, or an AWS KMS key ARN.
/// 1–256 printable ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekId(String);

impl KekId {
    /// Longest id accepted (an AWS key ARN is well under it).
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, KmsValueError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(KmsValueError::KekId(format!(
                "must be 1 to {} characters long (got {})",
                Self::MAX_LEN,
                raw.len()
            )));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KmsValueError::KekId(
                "must be printable ASCII without spaces".to_owned(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version of a KEK: 1 for the key as created, one more for every rotation.
/// Old versions stay available for unwrapping; new keys are wrapped with the
/// newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekVersion(u32);

impl KekVersion {
    /// The version of a KEK that was never rotated.
    pub const FIRST: Self = Self(1);

    /// `None` for 0, which no KEK has.
    pub const fn new(version: u32) -> Option<Self> {
        if version == 0 {
            None
        } else {
            Some(Self(version))
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    /// The version a rotation creates; `None` past `u32::MAX` rotations.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for KekVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Whom a data key belongs to. A wrapped key opens only under the context it
/// was wrapped for (AWS KMS: its `EncryptionContext`; locally: the AEAD's
/// associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionContext {
    Tenant(TenantId),
    Org(OrgId),
}

impl EncryptionContext {
    /// The context's one key as KMS encryption contexts spell it: `tenant` or `org`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Tenant(_) => "tenant",
            Self::Org(_) => "org",
        }
    }

    pub const fn id(&self) -> Uuid {
        match self {
            Self::Tenant(id) => id.as_uuid(),
            Self::Org(id) => id.as_uuid(),
        }
    }
}

impl fmt::Display for EncryptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind(), self.id())
    }
}

/// The associated data a KMS binds a wrapped key to: a fixed label, the KEK id,
/// the KEK version and the context, each length-prefixed so no two different
/// inputs give the same bytes. Adapters that wrap with AES-GCM themselves use
/// this, so the envelope's header cannot be changed without unwrapping failing.
pub fn envelope_aad(kek_id: &KekId, version: KekVersion, context: &EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64 + kek_id.as_str().len());
    for part in [
        b"tenancy-kms-envelope-v1".as_slice(),
        kek_id.as_str().as_bytes(),
        &version.get().to_be_bytes(),
        context.kind().as_bytes(),
        context.id().as_bytes(),
    ] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

/// A data key in clear: 32 bytes for AES-256-GCM. It is zeroized when dropped,
/// cannot be cloned by accident (share it through an `Arc`), and prints as
/// `DataKey(<redacted>)`.
pub struct DataKey(Box<[u8; KEY_LEN]>);

impl DataKey {
    /// Takes ownership of key bytes, zeroizing the caller's copy.
    pub fn from_bytes(bytes: &mut [u8; KEY_LEN]) -> Self {
        let key = Self(Box::new(*bytes));
        bytes.zeroize();
        key
    }

    /// A key from a slice that must be exactly 32 bytes long (what a KMS returns).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KmsError> {
        let mut key = Box::new([0_u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(KmsError::Unavailable(format!(
                "the KMS returned a data key of {} bytes, expected {KEY_LEN}",
                bytes.len()
            )));
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// A fresh key from `secrets`.
    pub fn generate(secrets: &dyn SecretSource) -> Self {
        let mut key = Box::new([0_u8; KEY_LEN]);
        secrets.fill(key.as_mut_slice());
        Self(key)
    }

    /// The key bytes, for the cipher only. Never log or store them.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A data key wrapped by a KEK: what is stored next to the data it protects.
/// Not secret: it opens only through the KMS, and only under its context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WrappedKey {
    kek_id: KekId,
    kek_version: KekVersion,
    ciphertext: Vec<u8>,
}

/// The first bytes of [`WrappedKey::to_bytes`]: the format and its version.
const WRAPPED_MAGIC: &[u8; 4] = b"TKW1";

impl WrappedKey {
    pub fn new(kek_id: KekId, kek_version: KekVersion, ciphertext: Vec<u8>) -> Self {
        Self {
            kek_id,
            kek_version,
            ciphertext,
        }
    }

    pub fn kek_id(&self) -> &KekId {
        &self.kek_id
    }

    pub fn kek_version(&self) -> KekVersion {
        self.kek_version
    }

    /// The KMS's ciphertext (locally: nonce, encrypted key and tag; AWS: its
    /// `CiphertextBlob`).
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// One byte string for storage: `TKW1`, the KEK id's length (u16, big
    /// endian) and bytes, the version (u32, big endian), then the ciphertext.
    pub fn to_bytes(&self) -> Vec<u8> {
        let id = self.kek_id.as_str().as_bytes();
        let mut bytes = Vec::with_capacity(10 + id.len() + self.ciphertext.len());
        bytes.extend_from_slice(WRAPPED_MAGIC);
        // KekId::parse bounds the length to 256, well within u16.
        bytes.extend_from_slice(&u16::try_from(id.len()).unwrap_or(u16::MAX).to_be_bytes());
        bytes.extend_from_slice(id);
        bytes.extend_from_slice(&self.kek_version.get().to_be_bytes());
        bytes.extend_from_slice(&self.ciphertext);
        bytes
    }

    /// Reads what [`WrappedKey::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KmsValueError> {
        let malformed = |why: &str| KmsValueError::WrappedKey(why.to_owned());
        let rest = bytes
            .strip_prefix(WRAPPED_MAGIC.as_slice())
            .ok_or_else(|| malformed("does not start with the TKW1 marker"))?;
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| malformed("ends before the KEK id"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(malformed("ends inside the KEK id"));
        }
        let (id, rest) = rest.split_at(len);
        let id = std::str::from_utf8(id).map_err(|_| malformed("has a KEK id that is not text"))?;
        let kek_id = KekId::parse(id)?;
        let (version, ciphertext) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| malformed("ends before the KEK version"))?;
        let kek_version = KekVersion::new(u32::from_be_bytes(*version))
            .ok_or_else(|| malformed("has KEK version 0"))?;
        if ciphertext.is_empty() {
            return Err(malformed("has no ciphertext"));
        }
        Ok(Self::new(kek_id, kek_version, ciphertext.to_vec()))
    }
}

/// A freshly minted data key: in clear to use now, wrapped to store.
#[derive(Debug)]
pub struct GeneratedKey {
    pub plaintext: DataKey,
    pub wrapped: WrappedKey,
}

/// What a KMS says about its KEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Which KMS this is, for logs: `local keyring`, `ephemeral keyring`, `aws-kms`.
    pub backend: &'static str,
    pub kek_id: KekId,
    /// The version new keys are wrapped with.
    pub current_version: KekVersion,
    /// Every version that can still unwrap, oldest first (the current one last).
    pub versions: Vec<KekVersion>,
    /// The KEK lives only in this process: keys wrapped by it are lost with it.
    pub ephemeral: bool,
}

/// Why a KMS call failed. None of these carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// The wrapped key does not open under this context: it was wrapped for
    /// another tenant or org, or its bytes (or its header) were altered. AES-GCM
    /// and AWS KMS cannot tell these apart, so neither does this error: both
    /// mean "this envelope is not what it claims to be".
    #[error("the wrapped key does not open: wrong encryption context, or it was altered")]
    Undecryptable,
    /// The wrapped key names a KEK this KMS does not hold.
    #[error("the wrapped key names KEK {0}, which this KMS does not hold")]
    UnknownKek(KekId),
    /// The KEK is known, but not this version of it (never created).
    #[error("KEK {kek_id} has no version {version}")]
    UnknownKeyVersion { kek_id: KekId, version: KekVersion },
    /// This version of the KEK was retired (`tenancy kms retire`): its key
    /// material is destroyed, and nothing it wrapped opens again.
    #[error(
        "KEK {kek_id} version {version} was retired: its key material is destroyed, so \
         what it wrapped cannot be opened"
    )]
    RetiredKeyVersion { kek_id: KekId, version: KekVersion },
    /// The KMS will not do this, and nothing changed: retiring the version
    /// new keys are wrapped with, or something its backend does not offer.
    /// The text says why and what to do instead.
    #[error("the KMS refused: {0}")]
    Refused(String),
    /// The KMS could not be reached or did not do the work (network, access
    /// denied, a disabled key, a keyring file that cannot be written); the
    /// text says which, without secrets. Retrying may help.
    #[error("the KMS is unavailable: {0}")]
    Unavailable(String),
}

/// A KMS value that cannot exist: a bad KEK id, an unreadable stored envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsValueError {
    #[error("invalid KEK id: {0}")]
    KekId(String),
    #[error("the wrapped key {0}")]
    WrappedKey(String),
    #[error("the sealed value {0}")]
    Sealed(String),
}

/// The key management service: wraps and unwraps data keys under a versioned
/// KEK that never leaves it. Implementations: `adapters-kms` (`LocalKeyring`,
/// `AwsKms`); `test-support`'s KMS contract checks each of them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Kms: Send + Sync {
    /// MUST mint a fresh random 32-byte data key and return it in clear and
    /// wrapped by the current KEK version for `context`, the envelope naming
    /// that KEK and version. Errors: `Unavailable`.
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError>;

    /// MUST return the data key inside `wrapped` if it was wrapped by this KMS
    /// for exactly `context`, by any version it still holds. Errors:
    /// `UnknownKek` (another KEK), `UnknownKeyVersion` (a version it does not
    /// hold), `Undecryptable` (another context, or altered bytes or header),
    /// `Unavailable`. MUST NOT panic on any input.
    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError>;

    /// MUST return the same data key wrapped by the current KEK version, for
    /// the same `context`, without handing the key out in clear (AWS KMS
    /// `ReEncrypt`, Vault `rewrap`). A key already at the current version comes
    /// back wrapped anew. Errors: as [`Kms::unwrap`].
    async fn rewrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, KmsError>;

    /// MUST add a KEK version and make it current, keeping every older one for
    /// unwrapping, and durably so when the KMS is durable; returns the new
    /// state. Errors: `Unavailable` (nothing changed then).
    async fn rotate(&self) -> Result<KeyInfo, KmsError>;

    /// MUST describe the KEK: its id, current version and the versions that
    /// still unwrap. Errors: `Unavailable`.
    async fn key_info(&self) -> Result<KeyInfo, KmsError>;

    /// MUST destroy the key material of `version`, durably when the KMS is
    /// durable, so that nothing it wrapped opens again (`RetiredKeyVersion`
    /// from then on), and return the new state; retiring a retired version
    /// changes nothing and succeeds. The caller checks first that no stored
    /// envelope uses `version` (`Tenancy::retire_kek_version`). Errors:
    /// `Refused` for the current version, and from a KMS that cannot destroy
    /// one version (saying what to do instead); `UnknownKeyVersion` for a
    /// version it never had; `Unavailable`. Nothing changes on error.
    async fn retire(&self, version: KekVersion) -> Result<KeyInfo, KmsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: u128) -> EncryptionContext {
        EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(n)))
    }

    #[test]
    fn wrapped_keys_round_trip_through_bytes_and_refuse_garbage() {
        let wrapped = WrappedKey::new(
            KekId::parse("arn:aws:kms:eu-west-1:111122223333:key/abc").unwrap(),
            KekVersion::new(7).unwrap(),
            vec![1, 2, 3],
        );
        assert_eq!(
            WrappedKey::from_bytes(&wrapped.to_bytes()).unwrap(),
            wrapped
        );
        let bytes = wrapped.to_bytes();
        let header = 4 + 2 + wrapped.kek_id().as_str().len() + 4;
        for cut in 0..=header {
            assert!(
                WrappedKey::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut zero_version = bytes.clone();
        let at = 4 + 2 + wrapped.kek_id().as_str().len();
        zero_version[at..at + 4].copy_from_slice(&[0; 4]);
        assert!(WrappedKey::from_bytes(&zero_version).is_err());
        assert!(WrappedKey::from_bytes(b"XXXX\0\x01a\0\0\0\x01z").is_err());
    }

    #[test]
    fn kek_ids_are_printable_and_bounded() {
        assert!(KekId::parse("local-0192").is_ok());
        for bad in ["", "has space", "tab\t", &"x".repeat(257), "é"] {
            assert!(KekId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(KekVersion::new(0), None);
        assert_eq!(KekVersion::FIRST.next(), KekVersion::new(2));
        assert_eq!(KekVersion::new(u32::MAX).unwrap().next(), None);
    }

    #[test]
    fn the_envelope_aad_differs_for_every_part() {
        let id = KekId::parse("k").unwrap();
        let base = envelope_aad(&id, KekVersion::FIRST, &tenant(1));
        assert_ne!(base, envelope_aad(&id, KekVersion::FIRST, &tenant(2)));
        assert_ne!(
            base,
            envelope_aad(&id, KekVersion::new(2).unwrap(), &tenant(1))
        );
        assert_ne!(
            base,
            envelope_aad(&KekId::parse("k2").unwrap(), KekVersion::FIRST, &tenant(1))
        );
        let org = EncryptionContext::Org(OrgId::from_uuid(Uuid::from_u128(1)));
        assert_ne!(base, envelope_aad(&id, KekVersion::FIRST, &org));
    }

    #[test]
    fn data_keys_never_show_their_bytes() {
        let mut bytes = [0xAB_u8; KEY_LEN];
        let key = DataKey::from_bytes(&mut bytes);
        assert_eq!(bytes, [0; KEY_LEN], "the caller's copy is zeroized");
        let shown = format!("{key:?}");
        assert_eq!(shown, "DataKey(<redacted>)");
        assert!(!shown.to_lowercase().contains("ab"));
        assert!(DataKey::from_slice(&[0; 31]).is_err());
        assert!(DataKey::from_slice(&[0; 33]).is_err());
    }
}
