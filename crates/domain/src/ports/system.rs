//! The ports for what the domain takes as input from the machine: time,
//! ids, randomness, and the off-the-hot-path note that a key was used.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::ApiKeyId;

/// Reads the time. Time is an input so tests can fix it.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Mints ids: UUIDv7 in production so that ids sort by creation time.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// MUST return a fresh id, greater than every id it returned before.
    fn new_id(&self) -> Uuid;
}

/// Secure randomness for secrets (API keys). Production: the OS generator.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SecretSource: Send + Sync {
    /// MUST fill `buf` with unpredictable bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// Takes note that a key was used, off the hot path: implementations MUST NOT
/// block; they batch and coarsen the writes (`last_used_at`).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait KeyUsage: Send + Sync {
    fn key_used(&self, key: ApiKeyId, at: DateTime<Utc>);
}
