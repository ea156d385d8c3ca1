//! How a tenant looks on the wire: its status, owner, the tenant itself and the
//! tombstone a deleted tenant leaves.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::{Email, Owner, Tenant, TenantStatus, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::audit::ActorView;
use crate::validate::Validator;

/// Where a tenant is in its lifecycle.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TenantStatus)]
pub(crate) enum StatusView {
    Active,
    Suspended,
    Deactivated,
    Deleted,
}

impl From<TenantStatus> for StatusView {
    fn from(status: TenantStatus) -> Self {
        match status {
            TenantStatus::Active => Self::Active,
            TenantStatus::Suspended => Self::Suspended,
            TenantStatus::Deactivated => Self::Deactivated,
            TenantStatus::Deleted => Self::Deleted,
        }
    }
}

/// A tenant's owner: a reference into the SaaS builder's identity system.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with userId and email"
)]
#[schema(as = Owner)]
pub(crate) struct OwnerBody {
    #[schema(schema_with = crate::fields::user_id)]
    user_id: String,
    #[schema(schema_with = crate::fields::email_address)]
    email: String,
}

impl OwnerBody {
    pub(super) fn validate(&self, v: &mut Validator, prefix: &str) -> Option<Owner> {
        let user_id = v.check(format!("{prefix}userId"), UserId::parse(&self.user_id));
        let email = v.check(format!("{prefix}email"), Email::parse(&self.email));
        Some(Owner {
            user_id: user_id?,
            email: email?,
        })
    }
}

impl From<&Owner> for OwnerBody {
    fn from(owner: &Owner) -> Self {
        Self {
            user_id: owner.user_id.as_str().to_owned(),
            email: owner.email.as_str().to_owned(),
        }
    }
}

/// A tenant that exists (any status but `deleted`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Tenant)]
pub(crate) struct TenantView {
    id: Uuid,
    org_id: Uuid,
    /// Unique on the platform; also the tenant's subdomain.
    #[schema(example = "acme")]
    key: String,
    #[schema(example = "Acme Corp")]
    name: String,
    #[schema(example = "free")]
    plan: String,
    /// Fixed at provisioning.
    #[schema(example = "global")]
    region: String,
    status: StatusView,
    #[schema(required = true)]
    owner: Option<OwnerBody>,
    metadata: BTreeMap<String, String>,
    /// `{key}.{base domain}` when the deployment has a base domain.
    #[schema(example = "acme.tenancy.example", required = true)]
    subdomain: Option<String>,
    status_changed_at: DateTime<Utc>,
    status_changed_by: ActorView,
    /// Why the last transition happened; `null` right after provisioning.
    #[schema(required = true)]
    status_reason: Option<String>,
    /// When a deactivated tenant will be deleted unless restored.
    #[schema(required = true)]
    retention_ends_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What remains of a deleted tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TenantTombstone)]
pub(crate) struct TombstoneView {
    id: Uuid,
    org_id: Uuid,
    key: String,
    /// Always `deleted`.
    status: StatusView,
    deleted_at: DateTime<Utc>,
    deleted_by: ActorView,
}

/// A tenant, or its tombstone once deleted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = TenantOrTombstone)]
pub(crate) enum AnyTenantView {
    // Boxed: tombstones are much smaller than live tenants.
    Tenant(Box<TenantView>),
    Tombstone(TombstoneView),
}

impl AnyTenantView {
    pub(crate) fn new(tenant: Tenant, base_domain: Option<&str>) -> Self {
        let status = tenant.lifecycle.status;
        if status == TenantStatus::Deleted {
            return Self::Tombstone(TombstoneView {
                id: tenant.id.as_uuid(),
                org_id: tenant.org_id.as_uuid(),
                key: tenant.key.to_string(),
                status: status.into(),
                deleted_at: tenant.lifecycle.changed_at,
                deleted_by: ActorView::from(&tenant.lifecycle.changed_by),
            });
        }
        Self::Tenant(Box::new(TenantView {
            id: tenant.id.as_uuid(),
            org_id: tenant.org_id.as_uuid(),
            subdomain: base_domain.map(|domain| format!("{}.{domain}", tenant.key)),
            key: tenant.key.to_string(),
            name: tenant.name.to_string(),
            plan: tenant.plan.to_string(),
            region: tenant.region.to_string(),
            status: status.into(),
            owner: tenant.owner.as_ref().map(OwnerBody::from),
            metadata: tenant
                .metadata
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            status_changed_at: tenant.lifecycle.changed_at,
            status_changed_by: ActorView::from(&tenant.lifecycle.changed_by),
            status_reason: tenant.lifecycle.reason.map(|r| r.as_str().to_owned()),
            retention_ends_at: tenant.lifecycle.retention_ends_at,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }))
    }
}

impl AppState {
    pub(super) fn tenant_view(&self, tenant: Tenant) -> AnyTenantView {
        AnyTenantView::new(tenant, self.base_domain.as_deref())
    }
}
