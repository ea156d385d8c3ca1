//! Who is calling (the [`Principal`]) and how a presented key is judged
//! ([`VerifyCode`], SPEC §3). Judging is a pure function of the stored key, its
//! tenant's state and the time, so every instance and every cache agrees.

use chrono::{DateTime, Utc};

use crate::api_key::{ApiKey, KeyOwner};
use crate::audit::{Actor, ActorKind};
use crate::ids::{ApiKeyId, NamespaceId, OrgId, TenantId};
use crate::keys::{NamespaceKey, TenantKey};
use crate::lifecycle::TenantStatus;
use crate::ports::DataScope;
use crate::scope::{Scope, Scopes};

/// The outcome of verifying a key, as `POST /v1/keys/verify` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyCode {
    Valid,
    NotFound,
    Malformed,
    Revoked,
    Expired,
    TenantSuspended,
    TenantDeactivated,
    RateLimited,
}

impl VerifyCode {
    pub const ALL: [Self; 8] = [
        Self::Valid,
        Self::NotFound,
        Self::Malformed,
        Self::Revoked,
        Self::Expired,
        Self::TenantSuspended,
        Self::TenantDeactivated,
        Self::RateLimited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::NotFound => "not_found",
            Self::Malformed => "malformed",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantDeactivated => "tenant_deactivated",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// The tenant side of a key lookup: enough to judge the key and to answer who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantBrief {
    pub id: TenantId,
    pub key: TenantKey,
    pub status: TenantStatus,
}

/// The namespace side of a key lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceBrief {
    pub id: NamespaceId,
    pub key: NamespaceKey,
}

/// A stored key with its tenant and namespace, as one lookup by hash returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    pub key: ApiKey,
    /// `None` for org keys.
    pub tenant: Option<TenantBrief>,
    /// `None` for org keys.
    pub namespace: Option<NamespaceBrief>,
}

impl KeyLookup {
    /// Judges the key at `now`. A deactivated tenant's keys are gone for good
    /// whatever else is true of them; a suspended tenant's keys are refused but
    /// otherwise untouched, so they come back as they were on reactivation.
    pub fn judge(&self, now: DateTime<Utc>) -> VerifyCode {
        let status = self.tenant.as_ref().map(|t| t.status);
        if matches!(
            status,
            Some(TenantStatus::Deactivated | TenantStatus::Deleted)
        ) {
            VerifyCode::TenantDeactivated
        } else if self.key.revoked_at.is_some() {
            VerifyCode::Revoked
        } else if self.key.expires_at.is_some_and(|end| end <= now) {
            VerifyCode::Expired
        } else if status == Some(TenantStatus::Suspended) {
            VerifyCode::TenantSuspended
        } else {
            VerifyCode::Valid
        }
    }

    /// The principal a valid key stands for.
    pub fn principal(&self) -> Principal {
        let key = &self.key;
        match key.owner {
            KeyOwner::Org => Principal::Org {
                org_id: key.org_id,
                key_id: key.id,
            },
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => Principal::Namespace(NamespacePrincipal {
                org_id: key.org_id,
                tenant_id,
                namespace_id,
                key_id: key.id,
                scopes: key.access.scopes,
                resources: key.access.resources.clone(),
            }),
        }
    }
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The bootstrap token: everything.
    PlatformAdmin,
    /// An org key: its org and everything under it.
    Org { org_id: OrgId, key_id: ApiKeyId },
    /// A namespace key: its namespace, within its scopes.
    Namespace(NamespacePrincipal),
    /// The platform's own background jobs.
    System(&'static str),
}

/// A namespace key's reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePrincipal {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub namespace_id: NamespaceId,
    pub key_id: ApiKeyId,
    pub scopes: Scopes,
    /// `None`: every resource of the namespace.
    pub resources: Option<Vec<String>>,
}

impl NamespacePrincipal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

impl Principal {
    /// The actor recorded in audit records.
    pub fn actor(&self) -> Actor {
        match self {
            Self::PlatformAdmin => Actor::platform_admin(),
            Self::Org { key_id, .. } => Actor {
                kind: ActorKind::OrgKey,
                id: key_id.to_string(),
            },
            Self::Namespace(ns) => Actor {
                kind: ActorKind::NamespaceKey,
                id: ns.key_id.to_string(),
            },
            Self::System(job) => Actor::system(job),
        }
    }

    /// Whether this principal may manage `org` and everything in it.
    pub fn manages_org(&self, org: OrgId) -> bool {
        match self {
            Self::PlatformAdmin | Self::System(_) => true,
            Self::Org { org_id, .. } => *org_id == org,
            Self::Namespace(_) => false,
        }
    }

    pub fn is_platform_admin(&self) -> bool {
        matches!(self, Self::PlatformAdmin)
    }

    /// The widest data this principal may ever touch, as a store scope.
    pub fn base_scope(&self) -> DataScope {
        match self {
            Self::PlatformAdmin | Self::System(_) => DataScope::Platform,
            Self::Org { org_id, .. } => DataScope::Org(*org_id),
            Self::Namespace(ns) => DataScope::Tenant {
                org: ns.org_id,
                tenant: ns.tenant_id,
            },
        }
    }

    /// The scope for work inside `org`: no wider than the org, and no wider than
    /// the principal (a namespace key stays within its tenant).
    pub fn scope_in(&self, org: OrgId) -> DataScope {
        match self.base_scope() {
            DataScope::Platform | DataScope::Org(_) => DataScope::Org(org),
            tenant @ DataScope::Tenant { .. } => tenant,
        }
    }
}
