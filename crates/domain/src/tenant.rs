//! Tenants: one end-customer of an org, with its lifecycle state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::ids::{OrgId, TenantId};
use crate::lifecycle::TenantStatus;
use crate::namespace::NewNamespace;
use crate::region::RegionCode;
use crate::slug::TenantKey;
use crate::values::{Metadata, Name, Owner, Plan, Reason};

/// A tenant as it exists. A deleted tenant is a tombstone: id, key, org, and the
/// lifecycle record of who deleted it and when; name, owner and metadata are purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub org_id: OrgId,
    pub key: TenantKey,
    pub name: Name,
    pub plan: Plan,
    /// Fixed at provisioning.
    pub region: RegionCode,
    pub owner: Option<Owner>,
    pub metadata: Metadata,
    pub lifecycle: Lifecycle,
    /// Fingerprint of the provisioning request, to tell an idempotent replay
    /// (same key, same spec) from a conflicting one.
    pub spec_digest: SpecDigest,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every update; stores refuse a write based on a stale version.
    pub version: u64,
}

/// The tenant's current state and the transition that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: TenantStatus,
    pub changed_at: DateTime<Utc>,
    pub changed_by: Actor,
    /// `None` only for the initial provisioning.
    pub reason: Option<Reason>,
    /// Set while deactivated: when the retention job deletes the tenant.
    pub retention_ends_at: Option<DateTime<Utc>>,
}

/// A request to provision a tenant, with defaults not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionTenant {
    pub key: TenantKey,
    pub name: Name,
    pub plan: Option<Plan>,
    pub region: Option<RegionCode>,
    pub owner: Option<Owner>,
    pub metadata: Metadata,
    /// Empty: one live namespace `{tenant}-live`.
    pub namespaces: Vec<NewNamespace>,
}

impl ProvisionTenant {
    /// Most namespaces one provisioning request may create.
    pub const MAX_NAMESPACES: usize = 50;
}

/// A provisioning request with every default applied: what the digest covers, so a
/// request that spells out a default equals one that leaves it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedSpec {
    pub key: TenantKey,
    pub name: Name,
    pub plan: Plan,
    pub region: RegionCode,
    pub owner: Option<Owner>,
    pub metadata: Metadata,
    pub namespaces: Vec<NewNamespace>,
}

/// SHA-256 over a canonical encoding of a `ResolvedSpec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecDigest([u8; 32]);

impl SpecDigest {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ResolvedSpec {
    pub(crate) fn digest(&self) -> SpecDigest {
        // Length-prefixed fields: no two different specs share an encoding.
        fn field(hasher: &mut Sha256, value: &str) {
            hasher.update((value.len() as u64).to_be_bytes());
            hasher.update(value.as_bytes());
        }
        let mut h = Sha256::new();
        field(&mut h, self.key.as_str());
        field(&mut h, self.name.as_str());
        field(&mut h, self.plan.as_str());
        field(&mut h, self.region.as_str());
        match &self.owner {
            Some(owner) => {
                field(&mut h, "owner");
                field(&mut h, owner.user_id.as_str());
                field(&mut h, owner.email.as_str());
            }
            None => field(&mut h, "no-owner"),
        }
        h.update((self.metadata.len() as u64).to_be_bytes());
        for (k, v) in self.metadata.iter() {
            field(&mut h, k);
            field(&mut h, v);
        }
        h.update((self.namespaces.len() as u64).to_be_bytes());
        for ns in &self.namespaces {
            field(&mut h, ns.key.as_str());
            field(&mut h, ns.name.as_ref().map_or("", Name::as_str));
            field(&mut h, ns.mode.as_str());
        }
        SpecDigest(h.finalize().into())
    }
}

/// A partial update of a tenant: name, plan and a metadata merge-patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPatch {
    pub name: Option<Name>,
    pub plan: Option<Plan>,
    /// `Some(v)` sets a key, `None` removes it.
    pub metadata: BTreeMap<String, Option<String>>,
}

impl TenantPatch {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.plan.is_none() && self.metadata.is_empty()
    }
}
