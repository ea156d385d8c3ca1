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
//! `retention_expired` and `record_usage` (background jobs).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api_key::{ApiKey, KeyHash, KeyOwner};
use crate::audit::AuditRecord;
use crate::auth::KeyLookup;
use crate::idempotency::{Claimed, IdempotencyClaim, IdempotencyKey};
use crate::ids::{ApiKeyId, InstallId, ListingId, NamespaceId, OrgId, TenantId};
use crate::ids::{ListingRef, NamespaceRef, OrgRef, TenantRef};
use crate::keys::{NamespaceKey, ResourceKey};
use crate::kms::{KekId, KekVersion, WrappedKey};
use crate::library::{Install, Listing, ListingVersion, Resource, Semver, VersionInfo};
use crate::namespace::Namespace;
use crate::org::Org;
use crate::query::TenantQuery;
use crate::secret::{SecretName, StoredSecret};
use crate::tenant::Tenant;

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

/// A tenant, its first namespaces, its first API key, its data key (wrapped
/// by the KMS) and the audit record of its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    pub tenant: Tenant,
    pub namespaces: Vec<Namespace>,
    pub keys: Vec<ApiKey>,
    pub data_key: WrappedKey,
    pub audit: AuditRecord,
}

/// Orgs.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Inserts `org` with its audit record. `Taken(OrgKey)` if the key is used.
    async fn create_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The org with this id or key, if any.
    async fn get_org(&self, scope: &DataScope, org: &OrgRef) -> Result<Option<Org>, StoreError>;

    /// Orgs in id order, strictly after `after`, at most `limit` of them.
    async fn list_orgs(
        &self,
        scope: &DataScope,
        after: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<Org>, StoreError>;

    /// Replaces the org whose stored version is `org.version - 1`, with its audit
    /// record. `Stale` if the stored version differs or the org is gone.
    async fn update_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}

/// Tenants.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Inserts the tenant, its namespaces, its keys, its wrapped data key and
    /// the audit record, all or nothing.
    /// `Taken(TenantKey)` if the tenant key is used on the platform (deleted
    /// tenants' tombstones keep their key); `Taken(NamespaceKey)` if two of the
    /// namespaces share a key.
    async fn provision(
        &self,
        scope: &DataScope,
        provisioning: &Provisioning,
    ) -> Result<(), StoreError>;

    /// The tenant (or tombstone) with this id or key, if any.
    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError>;

    /// The tenants matching `query` (filter and cursor), in its order, at most
    /// `query.fetch_limit()` of them.
    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError>;

    /// Replaces the tenant whose stored version is `tenant.version - 1`, with its
    /// audit record. `Stale` if the stored version differs. In the same
    /// operation: when `tenant` is deactivated, MUST revoke every API key of the
    /// tenant (at `tenant.lifecycle.changed_at`), for good; when it is deleted (a
    /// tombstone), MUST purge everything the tenant owns (namespaces, keys,
    /// resources, secrets, the idempotent responses about it) and destroy its
    /// wrapped data key: crypto-shredding, so a copy of its sealed rows taken
    /// before can never be opened again.
    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Deactivated tenants whose retention ended at or before `now`, oldest first,
    /// at most `limit`.
    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError>;
}

/// Namespaces, always within one tenant.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait NamespaceStore: Send + Sync {
    /// Inserts the namespace with its audit record. `Taken(NamespaceKey)` if its
    /// tenant already has that key; `Stale` if the tenant is gone or no longer
    /// active (checked in the same atomic operation as the write).
    async fn create_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The namespace of `tenant` with this id or key, if any.
    async fn get_namespace(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        ns: &NamespaceRef,
    ) -> Result<Option<Namespace>, StoreError>;

    /// Namespaces of `tenant` in id order, strictly after `after`, at most `limit`.
    async fn list_namespaces(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<NamespaceId>,
        limit: usize,
    ) -> Result<Vec<Namespace>, StoreError>;

    /// Replaces the namespace whose stored version is `ns.version - 1`, with its
    /// audit record. `Stale` if the stored version differs, it is gone, or its
    /// tenant is no longer active.
    async fn update_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}

/// Reads the audit trail.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// The org's records in the order written (which may differ from id order
    /// when writers race), optionally only one tenant's, strictly after the
    /// record `after` in that order, at most `limit`. An `after` the store does
    /// not know yields nothing.
    async fn audit_records(
        &self,
        scope: &DataScope,
        org: OrgId,
        tenant: Option<TenantId>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// API keys. Only hashes are stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key with its audit record. `Stale` if its org or namespace no
    /// longer exists, the namespace is not the key's tenant's, or (for namespace
    /// keys) the tenant is no longer active: checked in the same atomic operation.
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The key with this hash, with its tenant (and that tenant's current status)
    /// and namespace: everything verification needs, in one lookup.
    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError>;

    /// The key `id` of `org`, if any.
    async fn get_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: ApiKeyId,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// The keys of `owner` within `org` (org keys, or one namespace's keys), in
    /// id order after `after`, at most `limit`.
    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError>;

    /// Replaces the key whose stored version is `key.version - 1` (revocation),
    /// with its audit record. `Stale` otherwise.
    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Rotation, atomically: replaces `old` (version check as `update_key`) and
    /// inserts `new` (checked as `create_key`), with one audit record.
    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Records when keys were last used (batched by the caller; later times win,
    /// unknown ids are ignored). No audit: this is telemetry, not a change.
    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError>;
}

/// The library: namespace resources, listings with their versions and grants,
/// and installs. Versions are immutable: nothing here updates or deletes one.
///
/// Visibility follows [`DataScope`] with one addition for listings: a listing
/// (and its versions) is an org-level row of its publisher, and is visible
/// besides to the tenant scopes of every org it is granted to; a version is
/// visible as well to a tenant that has installed the listing, so a pin keeps
/// resolving after its grant is revoked.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LibraryStore: Send + Sync {
    /// The stored versions of resource `key` of `namespace`, without content,
    /// oldest first.
    async fn resource_history(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
    ) -> Result<Vec<VersionInfo>, StoreError>;

    /// Stores a resource version with its audit record, atomically checking:
    /// the tenant is active and the greatest stored version of the key is
    /// `after` (`Stale` otherwise); when the key is new to the namespace, the
    /// tenant holds fewer than `max_resources` resources (distinct keys over all
    /// its namespaces; `LimitReached` otherwise); `Taken(Version)` if that
    /// version is stored.
    async fn create_resource(
        &self,
        scope: &DataScope,
        resource: &Resource,
        after: Option<Semver>,
        max_resources: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Resource `key` of `namespace` at `version`, or at its greatest version.
    async fn get_resource(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
        version: Option<Semver>,
    ) -> Result<Option<Resource>, StoreError>;

    /// The greatest version of each resource of `namespace`, in key order,
    /// strictly after `after`, at most `limit`.
    async fn list_resources(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Publishes a version: inserts `listing` when `listing.version` is 1
    /// (`Taken(ListingKey)` if its org has the key), otherwise replaces the
    /// listing whose stored version is `listing.version - 1` (`Stale` if it
    /// differs); stores `version` (`Taken(Version)` if stored); with the audit
    /// record; all or nothing.
    async fn publish_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        version: &ListingVersion,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Replaces the listing whose stored version is `listing.version - 1`
    /// (its description or grants), with its audit record. `Stale` otherwise.
    async fn update_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The listing of `org` with this key, if visible.
    async fn get_listing(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &ResourceKey,
    ) -> Result<Option<Listing>, StoreError>;

    /// The listing with this id, if visible.
    async fn get_listing_by_id(
        &self,
        scope: &DataScope,
        id: ListingId,
    ) -> Result<Option<Listing>, StoreError>;

    /// The listings `org` published, in key order, strictly after `after`, at
    /// most `limit`.
    async fn list_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError>;

    /// The listings granted to namespaces keyed `namespace` of `org`, whoever
    /// published them (only those keyed `key` when given), in id order,
    /// strictly after `after`, at most `limit`.
    async fn granted_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        namespace: &NamespaceKey,
        key: Option<ResourceKey>,
        after: Option<ListingId>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError>;

    /// The versions of a listing, without content, oldest first.
    async fn listing_history(
        &self,
        scope: &DataScope,
        listing: ListingId,
    ) -> Result<Vec<VersionInfo>, StoreError>;

    /// One version of a listing, with its content, if visible.
    async fn listing_version(
        &self,
        scope: &DataScope,
        listing: ListingId,
        version: &Semver,
    ) -> Result<Option<ListingVersion>, StoreError>;

    /// Stores an install with its audit record. `Stale` if the tenant is not
    /// active; `Taken(Install)` if the namespace has installed the listing, or
    /// a listing with the same key.
    async fn create_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The install of `namespace` of the listing with this id, or with this
    /// key, if any.
    async fn get_install(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        listing: &ListingRef,
    ) -> Result<Option<Install>, StoreError>;

    /// The installs of `namespace` in id order, strictly after `after`, at most
    /// `limit`.
    async fn list_installs(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<InstallId>,
        limit: usize,
    ) -> Result<Vec<Install>, StoreError>;

    /// Replaces the install whose stored version is `install.version - 1` (an
    /// upgrade), with its audit record. `Stale` otherwise, or if the tenant is
    /// not active.
    async fn update_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}

/// A tenant's data key as stored, for the rewrap after a KEK rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub wrapped: WrappedKey,
}

/// Tenant data keys and tenant secrets. Secret values are stored sealed only;
/// a store never sees a value or a data key in clear.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The tenant's wrapped data key, if it has one (none once deleted).
    async fn data_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<WrappedKey>, StoreError>;

    /// Stores `secret` with its audit record: inserts it when `secret.version`
    /// is 1 (`Stale` if the tenant has a secret of that name), otherwise
    /// replaces the one whose stored version is `secret.version - 1` (`Stale`
    /// otherwise). With `new_data_key`, MUST also store it as the tenant's
    /// data key (for tenants provisioned before data keys existed), `Stale`
    /// if the tenant has one by then; without it, `Stale` if the tenant has
    /// none. `Stale` as well if the tenant is not active. All or nothing.
    async fn put_secret(
        &self,
        scope: &DataScope,
        secret: &StoredSecret,
        new_data_key: Option<WrappedKey>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The tenant's secret of this name, if any.
    async fn get_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError>;

    /// The tenant's secret of this name, appending `audit` (the record of its
    /// disclosure) in the same operation; nothing is appended when there is
    /// no such secret.
    async fn reveal_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        audit: &AuditRecord,
    ) -> Result<Option<StoredSecret>, StoreError>;

    /// The tenant's secrets in name order, strictly after `after`, at most `limit`.
    async fn list_secrets(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<SecretName>,
        limit: usize,
    ) -> Result<Vec<StoredSecret>, StoreError>;

    /// Deletes the tenant's secret of this name whose stored version is
    /// `version`, with its audit record. `Stale` if it is gone, at another
    /// version, or the tenant is not active.
    async fn delete_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Every tenant's data key in tenant id order, strictly after `after`, at
    /// most `limit`: the rewrap job's system path, in the platform scope.
    async fn data_keys(
        &self,
        after: Option<TenantId>,
        limit: usize,
    ) -> Result<Vec<StoredDataKey>, StoreError>;

    /// Replaces the tenant's data key with `new` (the same key wrapped anew)
    /// if it is still `old`; `Stale` otherwise (the tenant was deleted, or
    /// another rewrap won). No audit: the key itself does not change.
    async fn replace_data_key(
        &self,
        tenant: TenantId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// How many tenant data keys are wrapped by version `version` of KEK
    /// `kek`, over every tenant (the platform scope's system path): what
    /// retiring that version would make unreadable.
    async fn count_data_keys(&self, kek: &KekId, version: KekVersion) -> Result<u64, StoreError>;
}

/// Idempotent responses (SPEC §2) and the org data keys that seal them. A
/// store sees responses sealed only. Records belong to an org: an org scope
/// sees its own, a tenant scope none.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The org's wrapped data key, if it has one yet.
    async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Option<WrappedKey>, StoreError>;

    /// Stores the org's first data key; `Stale` if it has one already (a
    /// concurrent first use won), `OutOfScope` if the scope cannot see the
    /// org. No audit: it protects data, it is not a change an operator made.
    async fn put_org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        wrapped: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// Atomically: stores `claim` when its key is free in its org, or when
    /// the record holding it yields to the claim
    /// ([`crate::idempotency::IdempotencyRecord::yields_to`]), replacing that
    /// record; otherwise stores nothing and returns the record met.
    async fn claim(
        &self,
        scope: &DataScope,
        claim: &IdempotencyClaim,
    ) -> Result<Claimed, StoreError>;

    /// Completes the pending claim `token` on `key` with the sealed response,
    /// noting the tenant of `org` it is about, if any (a tombstone of that
    /// tenant deletes the record). `Stale` if that claim is no longer there,
    /// pending (taken over, or completed already), or if `about` names a
    /// tenant that is not the org's or is deleted (checked in the same atomic
    /// operation as the write, so a deletion is wholly before or after it).
    async fn complete(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
        about: Option<TenantId>,
        sealed_response: &[u8],
    ) -> Result<(), StoreError>;

    /// Deletes the pending claim `token` on `key`, if it is still there.
    async fn release(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
    ) -> Result<(), StoreError>;

    /// Deletes at most `limit` records whose replay window ended by `now`,
    /// returning how many: a background job's system path.
    async fn purge_idempotency(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Every org's data key in org id order, strictly after `after`, at most
    /// `limit`: the rewrap job's system path.
    async fn org_data_keys(
        &self,
        after: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<(OrgId, WrappedKey)>, StoreError>;

    /// Replaces the org's data key with `new` if it is still `old`; `Stale`
    /// otherwise.
    async fn replace_org_data_key(
        &self,
        org: OrgId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// How many org data keys are wrapped by version `version` of KEK `kek`,
    /// over every org (the platform scope's system path).
    async fn count_org_data_keys(
        &self,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError>;
}
