//! The contract cases, one module per port family. Each case takes the
//! [`StorePorts`] of a fresh, empty store, writes and reads
//! through those port handles only (so a decorator over some ports is checked
//! too) and panics with a message naming the broken rule. The MUSTs they check are the doc comments of
//! `domain::ports`. [`ids`] checks id generators the same way, outside the
//! storage macro: call its functions from the generator's own tests.

pub mod audit;
pub mod audit_chain;
pub mod concurrency;
pub mod data_keys;
pub mod deliveries;
pub mod domains;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod keys;
pub mod kms;
pub mod library;
pub mod members;
pub mod namespaces;
pub mod orgs;
pub mod registrations;
pub mod scopes;
pub mod secrets;
pub mod settings;
pub mod tenants;
pub mod webhooks;

use domain::ports::DataScope;
use domain::ports::Provisioning;
use domain::{
    ApiKey, AuditAction, AuditRecord, KeyHash, KeyLookup, Limit, Namespace, Org, TenantFilter,
    TenantId, TenantQuery, TenantSort,
};

use crate::StorePorts;
use crate::fixtures::Fixtures;

/// A limit larger than anything a case writes: "all of them".
const ALL: usize = 1000;

/// Creates an org with its audit record.
async fn seed_org(store: &StorePorts, f: &Fixtures, key: &str) -> Org {
    let org = f.org(key);
    store
        .orgs
        .create_org(
            &DataScope::Platform,
            &org,
            &f.org_audit(&org, AuditAction::OrgCreated),
        )
        .await
        .expect("creating a fresh org");
    org
}

/// Provisions a tenant of `org` with namespaces of the given keys.
async fn seed_tenant(
    store: &StorePorts,
    f: &Fixtures,
    org: &Org,
    key: &str,
    namespaces: &[&str],
) -> Provisioning {
    let provisioning = f.provisioning(org, key, namespaces);
    store
        .tenants
        .provision(&DataScope::Platform, &provisioning)
        .await
        .expect("provisioning a fresh tenant");
    provisioning
}

/// Creates an API key with its audit record.
async fn seed_key(store: &StorePorts, f: &Fixtures, key: ApiKey) -> ApiKey {
    store
        .keys
        .create_key(
            &DataScope::Platform,
            &key,
            &f.key_audit(&key, AuditAction::ApiKeyCreated),
        )
        .await
        .expect("creating a fresh API key");
    key
}

/// What `find_key` answers for `hash`, unwrapped from its `Arc`.
async fn found(store: &StorePorts, hash: &KeyHash) -> Option<KeyLookup> {
    store
        .keys
        .find_key(hash)
        .await
        .expect("looking a key up by hash")
        .map(|lookup| (*lookup).clone())
}

/// The org's whole audit trail.
async fn trail(store: &StorePorts, org: &Org) -> Vec<AuditRecord> {
    store
        .audit
        .audit_records(&DataScope::Platform, org.id, None, None, ALL)
        .await
        .expect("reading the audit trail")
}

/// Deletes `tenant` (its tombstone written over it), as the retention job or
/// a confirmed `DELETE` does.
async fn delete_tenant(store: &StorePorts, f: &Fixtures, tenant: &domain::Tenant) {
    let gone = crate::fixtures::tombstone(tenant);
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &gone,
            &f.tenant_audit(&gone, AuditAction::TenantDeleted),
        )
        .await
        .expect("deleting a tenant");
}

/// All namespaces of a tenant.
async fn namespaces_of(store: &StorePorts, tenant: TenantId) -> Vec<Namespace> {
    store
        .namespaces
        .list_namespaces(&DataScope::Platform, tenant, None, ALL)
        .await
        .expect("listing namespaces")
}

/// A first-page inventory query.
fn query(filter: TenantFilter, sort: TenantSort, limit: u64) -> TenantQuery {
    TenantQuery::new(
        filter,
        sort,
        None,
        Limit::new(limit).expect("a valid limit"),
    )
    .expect("a query without a cursor")
}

/// The keys of the tenants a query returns, in the order returned.
async fn listed_keys(store: &StorePorts, query: &TenantQuery) -> Vec<String> {
    store
        .tenants
        .list_tenants(&DataScope::Platform, query)
        .await
        .expect("listing tenants")
        .into_iter()
        .map(|t| t.key.as_str().to_owned())
        .collect()
}
