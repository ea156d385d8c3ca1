//! Namespaces: the isolation units inside a tenant (`acme-prod`, `acme-staging`).

use chrono::{DateTime, Utc};

use crate::ids::{NamespaceId, OrgId, TenantId};
use crate::slug::NamespaceKey;
use crate::values::{Mode, Name};

/// A namespace as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub id: NamespaceId,
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub key: NamespaceKey,
    pub name: Name,
    /// Fixed at creation: API keys carry the mode in their prefix.
    pub mode: Mode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A namespace to create, in provisioning or later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewNamespace {
    pub key: NamespaceKey,
    /// Defaults to the key.
    pub name: Option<Name>,
    pub mode: Mode,
}

/// A partial update of a namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespacePatch {
    pub name: Option<Name>,
}
