//! Deterministic time and ids for tests and embedders.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::ports::{Clock, IdGenerator, SecretSource};
use uuid::Uuid;

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = now;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Default for ManualClock {
    /// 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::at(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
        )
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Ids 1, 2, 3, … shaped as UUIDv7 (version and variant bits set), so they sort
/// in creation order like the production generator's.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdGenerator for SequentialIds {
    fn new_id(&self) -> Uuid {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        // 48-bit "timestamp" = n, version 7, variant 0b10, random bits zero.
        let bits = (u128::from(n) << 80) | (0x7 << 76) | (0b10 << 62);
        Uuid::from_u128(bits)
    }
}

/// Reproducible "randomness" for tests (SplitMix64 from a seed): keys minted
/// with it are well-formed but predictable. Never use it to serve real traffic.
#[derive(Debug)]
pub struct SeededSecrets(Mutex<u64>);

impl SeededSecrets {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(seed))
    }
}

impl Default for SeededSecrets {
    fn default() -> Self {
        Self::new(0x5eed)
    }
}

impl SecretSource for SeededSecrets {
    fn fill(&self, buf: &mut [u8]) {
        let mut state = self.0.lock().expect("secrets lock");
        for chunk in buf.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}
