//! Custom domains ([`crate::custom_domain`]): at most one per tenant, each
//! name held by one tenant at most.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::custom_domain::{CustomDomain, DomainName};
use crate::ids::{OrgId, TenantId};

/// A tenant's custom domain as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDomain {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub domain: CustomDomain,
    /// 1 when added, bumped by each write after.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// Tenants' custom domains.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait CustomDomainStore: Send + Sync {
    /// The tenant's domain; `None` when it has none (or it is out of the
    /// scope).
    async fn custom_domain(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<StoredDomain>, StoreError>;

    /// Writes the tenant's domain as `stored`, with `audit` (if any: a check
    /// that changes no status records none) atomically. Version 1 adds it:
    /// `Taken(Unique::Domain)` when another tenant holds the name, `Stale`
    /// when the tenant has a domain already. A later version replaces the
    /// stored `version - 1` of the same name: `Stale` when another write came
    /// first or the domain was removed. `Stale` too when the tenant is gone
    /// or deleted.
    async fn put_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: Option<AuditRecord>,
    ) -> Result<(), StoreError>;

    /// Removes the tenant's domain if it is still `stored.version`, with the
    /// audit record, atomically; `Stale` otherwise.
    async fn remove_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Pending domains whose next check is due (`next_check_at <= now`),
    /// earliest first, at most `limit`. A system path (the background
    /// check), platform scope.
    async fn due_custom_domains(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredDomain>, StoreError>;

    /// The tenant whose *verified* domain is `name`, if any: the public
    /// lookup by `Host`, a system path (platform scope).
    async fn tenant_of_verified_domain(
        &self,
        name: &DomainName,
    ) -> Result<Option<(OrgId, TenantId)>, StoreError>;
}
