//! `ApiKeyStore`: create, find by hash (with the tenant's current status), get,
//! list, revoke, rotate, usage; and what `TenantStore::update_tenant` does to a
//! tenant's keys (deactivation revokes them for good, a tombstone purges them).
//!
//! The cases live in one file per theme (`lookup`, `writes`, `tenant`); the
//! helpers they share are here.

use domain::ports::DataScope;
use domain::ports::{StoreError, Unique};
use domain::{
    ApiKey, ApiKeyId, AuditAction, KeyHash, KeyLookup, KeyMode, KeyOwner, KeyPrefix,
    NamespaceBrief, Tenant, TenantBrief, TenantStatus, VerifyCode,
};
use domain::{Namespace, OrgId};

use super::{ALL, found, seed_key, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{FixedEntropy, Fixtures, at, moved, renamed, revoked, tombstone};

mod lookup;
mod tenant;
mod writes;

pub use lookup::*;
pub use tenant::*;
pub use writes::*;

/// What `find_key` must answer for a namespace key of `tenant` (as stored now).
fn lookup_of(key: &ApiKey, tenant: &Tenant, ns: &Namespace) -> KeyLookup {
    KeyLookup {
        key: key.clone(),
        tenant: Some(TenantBrief {
            id: tenant.id,
            key: tenant.key.clone(),
            status: tenant.lifecycle.status,
            ip_allowlist: None,
        }),
        namespace: Some(NamespaceBrief {
            id: ns.id,
            key: ns.key.clone(),
        }),
    }
}

/// The stored key, by id.
async fn stored(store: &StorePorts, org: OrgId, id: ApiKeyId) -> Option<ApiKey> {
    store
        .keys
        .get_key(&DataScope::Platform, org, id)
        .await
        .expect("reading a key")
}

/// Writes `next` over the stored tenant, with an audit record.
async fn update_tenant(store: &StorePorts, f: &Fixtures, next: &Tenant, action: AuditAction) {
    store
        .tenants
        .update_tenant(&DataScope::Platform, next, &f.tenant_audit(next, action))
        .await
        .expect("updating a tenant from its current version");
}

/// The verdict on the key with `hash` at `now`, as verification would judge it.
async fn verdict(
    store: &StorePorts,
    hash: &KeyHash,
    now: chrono::DateTime<chrono::Utc>,
) -> VerifyCode {
    found(store, hash)
        .await
        .map_or(VerifyCode::NotFound, |lookup| lookup.judge(now, None))
}
