//! The storage ports of the core hierarchy: orgs, tenants (and their
//! provisioning), namespaces and the audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DataScope, StoreError};
use crate::api_key::ApiKey;
use crate::audit::{AuditFilter, AuditLink, AuditRecord, ChainHead};
use crate::ids::{NamespaceId, OrgId, TenantId};
use crate::ids::{NamespaceRef, OrgRef, TenantRef};
use crate::kms::WrappedKey;
use crate::namespace::Namespace;
use crate::org::Org;
use crate::query::TenantQuery;
use crate::tenant::Tenant;

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

/// Reads the audit trail, and appends the records of reads worth auditing.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `record` on its own: for a read that is audited but changes
    /// nothing (a tenant export). Every change writes its record in its own
    /// operation instead. `OutOfScope` if the record's org or tenant is not
    /// visible in `scope`.
    async fn append(&self, scope: &DataScope, record: &AuditRecord) -> Result<(), StoreError>;

    /// The org's records in the order written (which may differ from id order
    /// when writers race), optionally only one tenant's, strictly after the
    /// record `after` in that order, at most `limit`. An `after` the store does
    /// not know yields nothing. [`Self::audit_events`] without their links.
    async fn audit_records(
        &self,
        scope: &DataScope,
        org: OrgId,
        tenant: Option<TenantId>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let links = self
            .audit_events(scope, org, &AuditFilter::tenant(tenant), after, limit)
            .await?;
        Ok(links.into_iter().map(|l| l.record).collect())
    }

    /// The org's records that `filter` matches ([`AuditFilter::matches`]),
    /// each with its chain link as stored, in the order written, strictly
    /// after the record `after` in that order (whether or not it matches),
    /// at most `limit`. An `after` the store does not know yields nothing.
    async fn audit_events(
        &self,
        scope: &DataScope,
        org: OrgId,
        filter: &AuditFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError>;

    /// The org's chain as stored: its links with `seq` strictly greater than
    /// `after_seq`, in `seq` order, at most `limit`. Records out of the
    /// scope's sight are left out (a tenant scope sees gaps). The store MUST
    /// have assigned each appended record the next `seq` of its org (1, 2, 3…
    /// with no gaps, in the order written) and the hash
    /// [`crate::audit::ChainHead::next`] computes from the previous link, in
    /// the same atomic operation as the append.
    async fn audit_chain(
        &self,
        scope: &DataScope,
        org: OrgId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError>;

    /// The org's last link in sight (greatest `seq`): the genesis head
    /// ([`ChainHead::GENESIS`]) when it has none.
    async fn audit_head(&self, scope: &DataScope, org: OrgId) -> Result<ChainHead, StoreError>;
}
