//! Settings documents ([`crate::settings`]): one JSON document per owner (an
//! org's branding defaults, a tenant's groups, a namespace's branding
//! override) and group, versioned for `If-Match`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::ids::{NamespaceId, OrgId, TenantId};
use crate::settings::SettingsGroup as _;

/// Whose settings a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsOwner {
    /// An org's defaults (its tenants' branding falls back to them).
    Org(OrgId),
    Tenant {
        org: OrgId,
        tenant: TenantId,
    },
    /// A namespace's override of its tenant's branding.
    Namespace {
        org: OrgId,
        tenant: TenantId,
        namespace: NamespaceId,
    },
}

impl SettingsOwner {
    pub fn org(self) -> OrgId {
        match self {
            Self::Org(org) | Self::Tenant { org, .. } | Self::Namespace { org, .. } => org,
        }
    }

    /// Whether `scope` may write the owner's documents: its org's own in
    /// org scope, a tenant's (and its namespaces') in that tenant's scope.
    pub fn writable_in(self, scope: &DataScope) -> bool {
        scope.sees(self.org(), self.tenant())
    }

    /// Whether `scope` may read them: as for writing, and a tenant scope
    /// also reads its org's defaults, which its branding falls back to.
    pub fn readable_in(self, scope: &DataScope) -> bool {
        match self.tenant() {
            None => scope.sees_org(self.org()),
            Some(tenant) => scope.sees_tenant(self.org(), tenant),
        }
    }

    /// The tenant the document belongs to, if any.
    /// The tenant whose API keys the `group` document of this owner governs:
    /// a tenant's `security` group holds the IP allowlist its keys are judged
    /// by, so the key lookup reads it and a write of it must reach every
    /// verification cache at once, like a suspension. `None` for every other
    /// document.
    pub fn governs_keys_of(self, group: &str) -> Option<TenantId> {
        match self {
            Self::Tenant { tenant, .. } if group == crate::settings::SecuritySettings::NAME => {
                Some(tenant)
            }
            _ => None,
        }
    }

    pub fn tenant(self) -> Option<TenantId> {
        match self {
            Self::Org(_) => None,
            Self::Tenant { tenant, .. } | Self::Namespace { tenant, .. } => Some(tenant),
        }
    }
}

/// A stored settings document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    /// The group's JSON ([`crate::settings::SettingsGroup::to_json`]).
    pub document: Value,
    /// 1 for the first write, bumped by each one after.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// Settings documents.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The owner's document of `group`; `None` when it was never written (or
    /// is out of the scope).
    async fn settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
    ) -> Result<Option<StoredSettings>, StoreError>;

    /// Writes the owner's document of `group` as `stored` (its `version` is
    /// the stored one plus one; 1 when none is stored) with the audit record,
    /// atomically. `Stale` if the stored version is not `stored.version - 1`
    /// (another write came first), or the owner's tenant is gone or deleted.
    async fn put_settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
        stored: &StoredSettings,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}
