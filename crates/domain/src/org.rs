//! Orgs: the SaaS builders (provider accounts) that own tenants.

use chrono::{DateTime, Utc};

use crate::ids::OrgId;
use crate::slug::OrgKey;
use crate::values::Name;

/// An org as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub key: OrgKey,
    pub name: Name,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every update; stores refuse a write based on a stale version.
    pub version: u64,
}

/// A request to create an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrg {
    pub key: OrgKey,
    pub name: Name,
}

/// A partial update of an org (absent fields stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgPatch {
    pub name: Option<Name>,
}
