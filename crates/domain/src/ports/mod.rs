//! The ports: what the domain needs from the outside world. Adapters implement
//! them (`adapters-memory`, later Postgres); `test-support` holds the contract suite
//! every storage adapter must pass.
//!
//! Storage ports are coarse: each mutating method is one atomic operation that
//! writes the change *and* its audit record, or nothing at all. No transaction
//! object ever leaves an adapter.
//!
//! Every storage call names its [`DataScope`], derived by the use case from the
//! caller; adapters enforce it underneath (Postgres with row-level security).
//! Three calls are system paths that run with the platform scope by design:
//! `find_key` (verification cannot know the tenant before the lookup),
//! `retention_expired`, `record_usage` and `purge_registrations` (background
//! jobs).
//!
//! One file a port family: `system.rs` (clock, ids, randomness, key usage),
//! `stores.rs` (orgs, tenants, namespaces, the audit trail), `keys.rs` (API
//! keys), `library.rs`, `data_keys.rs` (tenant and org data keys) and
//! `secrets.rs` (secrets, idempotency), `events.rs` (the outbox's feed),
//! `mail.rs` (sending email), `members.rs` (a tenant's members),
//! `registrations.rs` (pending self-service registrations), `settings.rs`
//! (settings documents), `dns.rs` (the TXT lookups that verify a custom domain),
//! `domains.rs` (tenants' custom domains).
//! Everything is re-exported here, so `domain::ports::X` names every port.

mod data_keys;
mod dns;
mod domains;
mod events;
mod keys;
mod library;
mod mail;
mod members;
mod registrations;
mod secrets;
mod settings;
mod signing;
mod stores;
mod system;

pub use data_keys::*;
pub use dns::*;
pub use domains::*;
pub use events::*;
pub use keys::*;
pub use library::*;
pub use mail::*;
pub use members::*;
pub use registrations::*;
pub use secrets::*;
pub use settings::*;
pub use signing::*;
pub use stores::*;
pub use system::*;

use crate::ids::{OrgId, TenantId};

/// Which rows a store call may see and write: what row-level security in a
/// database (and the in-memory store, identically) enforces underneath the
/// application's own checks, so a filter the application forgets still cannot
/// leak or touch another org's or tenant's rows.
///
/// - `Platform`: everything (platform admin paths, background jobs).
/// - `Org(o)`: org `o`'s row and every row of its tenants.
/// - `Tenant { org, tenant }`: the org's row (read), and the tenant's own rows;
///   never another tenant's, never org-level rows such as org keys.
///
/// Rows outside the scope are invisible (reads answer as if absent, updates
/// are `Stale`); creating one is `OutOfScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataScope {
    Platform,
    Org(OrgId),
    Tenant { org: OrgId, tenant: TenantId },
}

impl DataScope {
    /// Whether the org's own row is visible.
    pub fn sees_org(&self, org: OrgId) -> bool {
        match *self {
            Self::Platform => true,
            Self::Org(o) | Self::Tenant { org: o, .. } => o == org,
        }
    }

    /// Whether a row owned by `tenant` of `org` is visible.
    pub fn sees_tenant(&self, org: OrgId, tenant: TenantId) -> bool {
        match *self {
            Self::Platform => true,
            Self::Org(o) => o == org,
            Self::Tenant { org: o, tenant: t } => o == org && t == tenant,
        }
    }

    /// Whether an org-level row (owned by the org, by no tenant) is visible.
    pub fn sees_org_level(&self, org: OrgId) -> bool {
        match *self {
            Self::Platform => true,
            Self::Org(o) => o == org,
            Self::Tenant { .. } => false,
        }
    }

    /// Whether a row of `org` owned by `tenant`, or by no tenant, is visible.
    pub fn sees(&self, org: OrgId, tenant: Option<TenantId>) -> bool {
        match tenant {
            Some(tenant) => self.sees_tenant(org, tenant),
            None => self.sees_org_level(org),
        }
    }
}

/// Which unique key a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    OrgKey,
    TenantKey,
    NamespaceKey,
    /// A listing key within its org.
    ListingKey,
    /// A version of one resource (or of one listing) stored twice.
    Version,
    /// A namespace installing a listing (or a listing key) it has installed.
    Install,
    /// A user who is already in the tenant (a member, or its owner).
    Member,
    /// A custom domain name another tenant holds.
    Domain,
}

/// How a storage operation failed. Adapters translate their driver's errors into
/// these; nothing driver-specific crosses the port.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique key is already used; nothing was written.
    #[error("{0:?} already taken")]
    Taken(Unique),
    /// The object was changed (or removed) since it was read; nothing was written.
    #[error("stale write: the object changed since it was read")]
    Stale,
    /// The write would create a row outside the call's `DataScope`; nothing was
    /// written. Always an application bug: the scope is there to catch it.
    #[error("write outside the data scope refused")]
    OutOfScope,
    /// A limit the call named (a quota) is reached: `used` of it is in use;
    /// nothing was written.
    #[error("limit reached: {used} in use")]
    LimitReached { used: u64 },
    /// A read examined more than the store allows one query to (it ran out
    /// of its time): only `TenantStore::list_tenants` answers this, and a
    /// narrower query may succeed.
    #[error("the query examined too much and was stopped")]
    QueryTooBroad,
    /// The store could not be reached or failed; the message is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}
