//! The production implementations of the domain's `Clock`, `IdGenerator` and
//! `SecretSource` ports: the only code allowed to read the system clock, mint
//! random ids or draw secret randomness.

use chrono::{DateTime, Utc};
use domain::ports::{Clock, IdGenerator, SecretSource};
use rand::TryRngCore;
use rand::rngs::OsRng;
use uuid::Uuid;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "this is the Clock port's adapter"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// UUIDv7 ids. The `uuid` crate keeps a per-process counter, so ids minted by
/// one process are strictly increasing even within one millisecond.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    #[allow(
        clippy::disallowed_methods,
        reason = "this is the IdGenerator port's adapter"
    )]
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// The operating system's secure random generator, for API key secrets.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsSecrets;

impl SecretSource for OsSecrets {
    fn fill(&self, buf: &mut [u8]) {
        // Without the OS generator no secret can be minted safely: stop rather
        // than hand out guessable keys.
        OsRng
            .try_fill_bytes(buf)
            .expect("the operating system's random generator failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_within_a_burst() {
        let ids: Vec<_> = (0..10_000).map(|_| UuidV7Ids.new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
    }
}
