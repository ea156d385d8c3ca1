//! API keys (docs/api.md §3): their format, minting, and what is stored of them.
//!
//! A key reads `{prefix}_{mode}_{body}`: `tny_live_3Jf…`. The body is 40 random
//! base62 characters (≥ 238 bits) and 6 base62 characters of the CRC32 of
//! everything before them, so a mistyped or truncated key is refused without a
//! store lookup and secret scanners can recognise real ones. Only the SHA-256 of
//! the whole key is stored: the key's entropy makes a slow hash unnecessary.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::ids::{ApiKeyId, NamespaceId, OrgId, TenantId};
use crate::ports::SecretSource;
use crate::scope::{Role, Scopes};
use crate::values::{InvalidValue, Mode, Name};

const RANDOM_LEN: usize = 40;
const CHECKSUM_LEN: usize = 6;
const BODY_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;
/// How much of a key is kept in clear to tell keys apart in listings.
pub const DISPLAY_LEN: usize = 12;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The deployment's key prefix (`tny` unless configured): 2–10 characters of
/// `[a-z0-9]`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = (2..=10).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok {
            return Err(InvalidValue(
                "key prefix must be 2 to 10 characters of a-z and 0-9, starting with a letter"
                    .into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("tny".to_owned())
    }
}

/// The middle part of a key: a namespace key's mode, or `org` for org keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyMode {
    Live,
    Test,
    Org,
}

impl KeyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
            Self::Org => "org",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Live, Self::Test, Self::Org]
            .into_iter()
            .find(|m| m.as_str() == raw)
    }
}

impl From<Mode> for KeyMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Live => Self::Live,
            Mode::Test => Self::Test,
        }
    }
}

/// A key in clear. Exists only between minting and the one response that shows
/// it; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlaintextKey(String);

impl PlaintextKey {
    /// The key itself, for the one response that returns it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaintextKey(<redacted>)")
    }
}

/// SHA-256 of a whole key: what is stored and looked up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyHash {
    // A hash is not a secret, but it identifies a key: keep it out of logs too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(<redacted>)")
    }
}

/// A freshly minted key: the secret to show once and what to store.
#[derive(Debug, Clone)]
pub struct MintedKey {
    pub plaintext: PlaintextKey,
    pub hash: KeyHash,
    pub display: String,
}

/// A presented key that has the right shape and checksum (not yet looked up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedKey {
    pub hash: KeyHash,
    pub mode: KeyMode,
}

/// A presented string that cannot be a key of this deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed API key")]
pub struct MalformedKey;

fn checksum(head: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = crc32fast::hash(head.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

impl KeyPrefix {
    /// Mints a new key from `entropy`.
    pub fn mint(&self, mode: KeyMode, entropy: &dyn SecretSource) -> MintedKey {
        let mut random = String::with_capacity(RANDOM_LEN);
        let mut buf = [0u8; 64];
        while random.len() < RANDOM_LEN {
            entropy.fill(&mut buf);
            // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                if random.len() == RANDOM_LEN {
                    break;
                }
                random.push(char::from(BASE62[usize::from(*b % 62)]));
            }
        }
        let head = format!("{}_{}_{random}", self.0, mode.as_str());
        let sum = checksum(&head);
        let key = format!(
            "{head}{}",
            std::str::from_utf8(&sum).expect("base62 is ASCII")
        );
        MintedKey {
            hash: KeyHash::of(&key),
            display: key[..DISPLAY_LEN].to_owned(),
            plaintext: PlaintextKey(key),
        }
    }

    /// Checks a presented key's shape and checksum, without any lookup.
    pub fn check(&self, raw: &str) -> Result<PresentedKey, MalformedKey> {
        let rest = raw
            .strip_prefix(self.0.as_str())
            .and_then(|r| r.strip_prefix('_'))
            .ok_or(MalformedKey)?;
        let (mode, body) = rest.split_once('_').ok_or(MalformedKey)?;
        let mode = KeyMode::parse(mode).ok_or(MalformedKey)?;
        if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedKey);
        }
        let (head, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
        if checksum(head) != sum.as_bytes() {
            return Err(MalformedKey);
        }
        Ok(PresentedKey {
            hash: KeyHash::of(raw),
            mode,
        })
    }
}

/// Whom a key belongs to and so what it can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOwner {
    /// Manages its org (its tenants, namespaces and keys), nothing else.
    Org,
    /// Acts inside one namespace only.
    Namespace {
        tenant_id: TenantId,
        namespace_id: NamespaceId,
    },
}

/// What a namespace key may do: its scopes (from a role or listed), and
/// optionally only on some resource keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub role: Option<Role>,
    pub scopes: Scopes,
    /// `None`: every resource of the namespace.
    pub resources: Option<Vec<String>>,
}

impl Access {
    /// Most resources a key may be restricted to.
    pub const MAX_RESOURCES: usize = 100;
}

/// An API key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub owner: KeyOwner,
    pub mode: KeyMode,
    pub name: Name,
    /// The first [`DISPLAY_LEN`] characters, to recognise the key in listings.
    pub display: String,
    pub hash: KeyHash,
    pub access: Access,
    pub expires_at: Option<DateTime<Utc>>,
    /// Coarse: updated off the hot path, in batches.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set on a key minted by rotation: the key it replaced.
    pub rotated_from: Option<ApiKeyId>,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
    pub version: u64,
}

impl ApiKey {
    pub fn tenant_id(&self) -> Option<TenantId> {
        match self.owner {
            KeyOwner::Org => None,
            KeyOwner::Namespace { tenant_id, .. } => Some(tenant_id),
        }
    }

    pub fn namespace_id(&self) -> Option<NamespaceId> {
        match self.owner {
            KeyOwner::Org => None,
            KeyOwner::Namespace { namespace_id, .. } => Some(namespace_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic "entropy" for format tests.
    struct Counter(std::sync::atomic::AtomicU8);
    impl SecretSource for Counter {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.fetch_add(7, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    fn minted() -> MintedKey {
        KeyPrefix::default().mint(KeyMode::Live, &Counter(0.into()))
    }

    #[test]
    fn minted_keys_have_the_documented_shape() {
        let key = minted();
        let raw = key.plaintext.expose();
        assert!(raw.starts_with("tny_live_"), "{raw}");
        assert_eq!(raw.len(), "tny_live_".len() + 46);
        assert_eq!(key.display, &raw[..12]);
        assert_eq!(key.hash, KeyHash::of(raw));
        let presented = KeyPrefix::default().check(raw).unwrap();
        assert_eq!(
            presented,
            PresentedKey {
                hash: key.hash,
                mode: KeyMode::Live
            }
        );
    }

    #[test]
    fn any_single_character_change_is_refused_by_the_checksum_or_the_shape() {
        let key = minted();
        let raw = key.plaintext.expose();
        for i in 0..raw.len() {
            for replacement in ['a', 'Z', '0', '_'] {
                let mut bytes = raw.as_bytes().to_vec();
                if bytes[i] == replacement as u8 {
                    continue;
                }
                bytes[i] = replacement as u8;
                let changed = String::from_utf8(bytes).unwrap();
                assert_eq!(
                    KeyPrefix::default().check(&changed),
                    Err(MalformedKey),
                    "{changed}"
                );
            }
        }
    }

    #[test]
    fn other_prefixes_truncations_and_junk_are_malformed() {
        let key = minted();
        let raw = key.plaintext.expose();
        let other = KeyPrefix::parse("acme").unwrap();
        for bad in [
            "",
            "tny",
            "tny_live_",
            &raw[..raw.len() - 1],
            &format!("{raw}x"),
            &raw.replace("_live_", "_prod_"),
            "Bearer tny_live_abc",
        ] {
            assert_eq!(
                KeyPrefix::default().check(bad),
                Err(MalformedKey),
                "{bad:?}"
            );
        }
        assert_eq!(other.check(raw), Err(MalformedKey));
    }

    #[test]
    fn debug_output_never_shows_the_secret_or_hash() {
        let key = minted();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.plaintext.expose()[12..]));
        assert!(shown.contains("redacted"));
    }
}
