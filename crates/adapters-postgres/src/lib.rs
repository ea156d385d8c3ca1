//! Tenancy's storage on PostgreSQL.
//!
//! Isolation is enforced twice (docs/security.md): the stores filter by org and tenant
//! like any other adapter, **and** every table carries row-level security
//! policies keyed on transaction-local settings, so a query that forgets its
//! filter still sees only its own scope's rows. The pieces:
//!
//! - [`migrate`] applies `migrations/` (embedded at build time) as the owner
//!   role; the server itself connects as the runtime role `tenancy_app`, which
//!   owns no table and cannot bypass row-level security ([`Database::connect`]
//!   refuses to start otherwise).
//! - [`Database::scoped_transaction`] opens the one transaction a store call
//!   runs in, with its [`DataScope`] already set.
//! - [`error::translate`] turns driver errors into the ports' [`StoreError`];
//!   nothing driver-specific, no SQL and no values cross it.
//! - [`PgStore`] implements every storage port, each call in one scoped
//!   transaction.
//! - [`PgStore`]'s key and tenant updates notify the other instances, and
//!   [`InvalidationListener`] applies their notifications to a cache
//!   ([`invalidation`]).
//! - `testing` (feature `testing`) gives each test a fresh migrated database.
//!
//! [`StoreError`]: domain::ports::StoreError

mod database;
pub mod error;
pub mod invalidation;
mod lookups;
mod scope;
mod stores;
#[cfg(feature = "testing")]
pub mod testing;

pub use database::{Database, DatabaseConfig, MIGRATOR, RUNTIME_ROLE, SetupError, migrate};
pub use domain::ports::DataScope;
pub use invalidation::{
    INVALIDATION_CHANNEL, InvalidationListener, InvalidationSink, LISTENER_APPLICATION_NAME,
    ListenError,
};
pub use stores::{OUTBOX_CHANNEL, PgStore};
