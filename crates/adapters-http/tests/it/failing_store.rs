//! A store that fails in the middle of provisioning.

use domain::ports::DataScope;
use std::sync::{Arc, Mutex};

use adapters_memory::MemoryStore;
use domain::ports::{
    AuditLog, MockTenantStore, NamespaceStore, Provisioning, StoreError, TenantStore,
};
use domain::{NamespaceRef, OrgId, TenantKey, TenantRef};
use serde_json::json;
use uuid::Uuid;

use crate::app::{TestApp, ready};

const INTERNAL: &str = "pg: could not write block 7 of relation tenants at 10.0.0.3";

/// Tenant port whose reads use `store` and whose `provision` fails after
/// recording what it was asked to write.
fn failing_tenants(
    store: Arc<MemoryStore>,
    attempted: Arc<Mutex<Vec<Provisioning>>>,
) -> MockTenantStore {
    let mut mock = MockTenantStore::new();
    let reads = store.clone();
    mock.expect_get_tenant()
        .returning(move |scope, r| ready(reads.get_tenant(scope, r)));
    let lists = store;
    mock.expect_list_tenants()
        .returning(move |scope, q| ready(lists.list_tenants(scope, q)));
    mock.expect_provision().returning(move |_, p| {
        attempted.lock().unwrap().push(p.clone());
        Err(StoreError::Unavailable(INTERNAL.to_owned()))
    });
    mock
}

#[tokio::test]
async fn a_store_failing_mid_provision_answers_503_and_leaves_nothing_behind() {
    let store = Arc::new(MemoryStore::new());
    let attempted = Arc::new(Mutex::new(Vec::new()));
    let app = TestApp::builder()
        .store(store.clone())
        .tenants(Arc::new(failing_tenants(store.clone(), attempted.clone())))
        .start()
        .await;
    let org = app.org("signstack").await;
    let spec = json!({"key": "acme", "name": "Acme", "namespaces": [{"key": "acme-prod"}, {"key": "acme-test"}]});

    let reply = app.post("/v1/orgs/signstack/tenants", &spec).await;
    let problem = reply.expect_problem(503, "unavailable");
    assert_eq!(reply.header("retry-after"), Some("1"));
    for leak in ["pg:", "block 7", "10.0.0.3", "relation"] {
        assert!(!reply.text.contains(leak), "{leak:?} leaked: {problem:#}");
    }

    // The adapter was asked for the tenant, two namespaces and the audit record…
    let attempted = attempted.lock().unwrap().clone();
    assert_eq!(attempted.len(), 1);
    let attempt = &attempted[0];
    assert_eq!(attempt.namespaces.len(), 2);
    // …and the memory store holds none of them.
    let key = TenantKey::parse("acme").unwrap();
    assert_eq!(
        ready(store.get_tenant(&DataScope::Platform, &TenantRef::Key(key))).unwrap(),
        None
    );
    assert_eq!(
        ready(store.get_tenant(&DataScope::Platform, &TenantRef::Id(attempt.tenant.id))).unwrap(),
        None
    );
    for ns in &attempt.namespaces {
        let found = ready(store.get_namespace(
            &DataScope::Platform,
            attempt.tenant.id,
            &NamespaceRef::Id(ns.id),
        ))
        .unwrap();
        assert_eq!(found, None);
    }
    assert!(
        ready(store.list_namespaces(&DataScope::Platform, attempt.tenant.id, None, 10))
            .unwrap()
            .is_empty()
    );
    let org_id = OrgId::from_uuid(Uuid::parse_str(org["id"].as_str().unwrap()).unwrap());
    let audit = ready(store.audit_records(&DataScope::Platform, org_id, None, None, 100)).unwrap();
    let actions: Vec<_> = audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["org.created"],
        "no audit record of the failed provisioning"
    );
    assert!(audit.iter().all(|r| r.id != attempt.audit.id));

    // And the API agrees.
    assert!(app.all_pages("/v1/tenants").await.is_empty());
}
