//! Every Tenancy storage port in memory.
//!
//! Two uses: the store `tenancy serve` runs on when no database is configured
//! (data does not survive a restart), and a test harness for teams that embed the
//! `domain` crate: build a [`domain::Tenancy`] on a [`MemoryStore`] with a
//! [`ManualClock`] and [`SequentialIds`] and every use case runs in-process,
//! deterministically, with no database.
//!
//! All state sits behind one lock, so every port operation is atomic and
//! linearizable: the same guarantees the Postgres adapter gets from transactions.
//! It passes the same contract suite (`test-support`) as every other adapter.

mod clock;
mod data_keys;
mod dns;
mod idempotency;
mod kms;
mod library;
mod mailer;
mod secrets;
mod store;

pub use clock::{ManualClock, SeededSecrets, SequentialIds};
pub use dns::MemoryDns;
pub use kms::MemoryKms;
pub use mailer::MemoryMailer;
pub use store::MemoryStore;
