//! Stores that fail: mocks (the `mock` feature) wrap a real in-memory store and
//! fail where a test says, so the use cases' reaction is visible behind them.

use domain::ports::DataScope;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};

use adapters_memory::MemoryStore;
use chrono::{TimeZone, Utc};
use domain::ports::{
    AuditLog, MockClock, MockIdGenerator, MockTenantStore, NamespaceStore, Provisioning,
    StoreError, TenantStore,
};
use domain::{
    LifecycleAction, OrgRef, Ports, ProvisionError, Settings, Tenancy, TenantError, TenantFilter,
    TenantQuery, TenantRef, TenantSort, TenantStatus,
};

use crate::support::{App, admin, name, namespace_key, org_key, reason, spec, tenant_key};

/// The in-memory store never waits, so its futures finish on their first poll:
/// that lets a mock's synchronous `returning` closure delegate to it.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

/// A tenant store that reads from `store`; writes are left to each test.
fn reading_through(store: &Arc<MemoryStore>) -> MockTenantStore {
    let mut tenants = MockTenantStore::new();
    let s = store.clone();
    tenants
        .expect_get_tenant()
        .returning(move |scope, t| ready(s.get_tenant(scope, t)));
    let s = store.clone();
    tenants
        .expect_list_tenants()
        .returning(move |scope, q| ready(s.list_tenants(scope, q)));
    tenants
}

#[tokio::test]
async fn a_store_failing_mid_provision_leaves_nothing_and_the_retry_creates_one_tenant() {
    // The org is created on a plain harness over the same store.
    let app = App::new();
    let org = app.org("signstack").await;
    let store = app.store.clone();
    let mut tenants = reading_through(&store);
    let attempts = Arc::new(std::sync::Mutex::new(Vec::<Provisioning>::new()));
    let (s, seen) = (store.clone(), attempts.clone());
    tenants
        .expect_provision()
        .times(2)
        .returning(move |scope, p| {
            let mut seen = seen.lock().unwrap();
            seen.push(p.clone());
            if seen.len() == 1 {
                Err(StoreError::Unavailable("connection reset".into()))
            } else {
                ready(s.provision(scope, p))
            }
        });
    let tenancy = app.tenancy_with(Arc::new(tenants));
    let org_ref = OrgRef::Id(org.id);

    let failed = tenancy.provision(&admin(), &org_ref, spec("acme")).await;

    assert!(
        matches!(failed, Err(ProvisionError::Unavailable(_))),
        "{failed:?}"
    );
    let first = attempts.lock().unwrap()[0].clone();
    assert_eq!(
        ready(store.get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))),
        Ok(None)
    );
    assert_eq!(
        ready(store.get_tenant(&DataScope::Platform, &TenantRef::Id(first.tenant.id))),
        Ok(None)
    );
    assert_eq!(
        ready(store.list_namespaces(&DataScope::Platform, first.tenant.id, None, 100)),
        Ok(vec![])
    );
    let trail = ready(store.audit_records(&DataScope::Platform, org.id, None, None, 100)).unwrap();
    assert_eq!(trail.len(), 1, "only the org's creation: {trail:?}");

    let retried = tenancy
        .provision(&admin(), &org_ref, spec("acme"))
        .await
        .unwrap();

    assert!(retried.created);
    let everything = TenantQuery::new(
        TenantFilter {
            status: None,
            ..TenantFilter::default()
        },
        TenantSort::CreatedAsc,
        None,
        domain::Limit::DEFAULT,
    )
    .unwrap();
    let listed = ready(store.list_tenants(&DataScope::Platform, &everything)).unwrap();
    assert_eq!(listed, vec![retried.tenant.clone()], "exactly one tenant");
    assert_eq!(
        ready(store.list_namespaces(&DataScope::Platform, retried.tenant.id, None, 100)),
        Ok(retried.namespaces)
    );
    assert_eq!(
        ready(store.audit_records(&DataScope::Platform, org.id, None, None, 100))
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_store_failing_during_a_transition_changes_nothing() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let store = app.store.clone();
    let trail_before = app.trail(&org, None).await;
    let mut tenants = reading_through(&store);
    tenants
        .expect_update_tenant()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Unavailable("disk full".into())));
    let tenancy = app.tenancy_with(Arc::new(tenants));

    let result = tenancy
        .transition(
            &admin(),
            &OrgRef::Id(org.id),
            &TenantRef::Id(tenant.id),
            LifecycleAction::Suspend,
            reason("billing"),
        )
        .await;

    assert!(
        matches!(result, Err(TenantError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
    assert_eq!(app.trail(&org, None).await, trail_before);
}

#[tokio::test]
async fn a_write_that_keeps_losing_races_gives_up_as_unavailable() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let store = app.store.clone();
    let mut tenants = reading_through(&store);
    let tries = Arc::new(AtomicUsize::new(0));
    let counted = tries.clone();
    tenants.expect_update_tenant().returning(move |_, _, _| {
        counted.fetch_add(1, Ordering::Relaxed);
        Err(StoreError::Stale)
    });
    let tenancy = app.tenancy_with(Arc::new(tenants));

    let result = tenancy
        .transition(
            &admin(),
            &OrgRef::Id(org.id),
            &TenantRef::Id(tenant.id),
            LifecycleAction::Suspend,
            reason("billing"),
        )
        .await;

    assert!(
        matches!(result, Err(TenantError::Unavailable(_))),
        "{result:?}"
    );
    let tries = tries.load(Ordering::Relaxed);
    assert!(
        tries > 1,
        "a lost race is retried on a fresh read ({tries} tries)"
    );
    assert!(tries <= 100, "but not for ever ({tries} tries)");
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
}

#[tokio::test]
async fn a_provision_that_loses_the_race_to_an_identical_one_returns_the_winner() {
    let app = App::new();
    let org = app.org("signstack").await;
    let winner = app.provision(&org, spec("acme")).await;
    let store = app.store.clone();
    // The first read happened before the winner's write: it saw no tenant.
    let mut tenants = MockTenantStore::new();
    let reads = AtomicUsize::new(0);
    let s = store.clone();
    tenants.expect_get_tenant().returning(move |scope, t| {
        if reads.fetch_add(1, Ordering::Relaxed) == 0 {
            Ok(None)
        } else {
            ready(s.get_tenant(scope, t))
        }
    });
    let s = store.clone();
    tenants
        .expect_provision()
        .times(1)
        .returning(move |scope, p| ready(s.provision(scope, p)));
    let tenancy = app.tenancy_with(Arc::new(tenants));
    let trail_before = app.trail(&org, None).await;

    let loser = tenancy
        .provision(&admin(), &OrgRef::Id(org.id), spec("acme"))
        .await;

    assert_eq!(
        loser.map(|p| (p.created, p.tenant)),
        Ok((false, winner.tenant)),
        "the loser answers with the winner's tenant"
    );
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");
}

#[tokio::test]
async fn provisioning_takes_its_ids_and_time_from_the_ports() {
    let store = Arc::new(MemoryStore::new());
    let at = Utc
        .with_ymd_and_hms(2030, 5, 17, 8, 30, 0)
        .single()
        .unwrap();
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at);
    let mut ids = MockIdGenerator::new();
    let minted = Arc::new(AtomicUsize::new(0));
    let counter = minted.clone();
    ids.expect_new_id().returning(move || {
        let n = counter.fetch_add(1, Ordering::Relaxed) as u128 + 1;
        uuid::Uuid::from_u128(0xabc0_0000_0000_0000_0000_0000_0000_0000 + n)
    });
    let tenancy = Tenancy::new(
        Ports {
            ids: Arc::new(ids),
            ..store.ports(Arc::new(clock))
        },
        Settings::default(),
    );
    let org = tenancy
        .create_org(
            &admin(),
            domain::NewOrg {
                key: org_key("signstack"),
                name: name("SignStack"),
            },
        )
        .await
        .unwrap();

    let done = tenancy
        .provision(&admin(), &OrgRef::Id(org.id), spec("acme"))
        .await
        .unwrap();

    let from_the_port = |id: uuid::Uuid| {
        id.as_u128() >> 112 == 0xabc0 && (id.as_u128() as usize) <= minted.load(Ordering::Relaxed)
    };
    assert!(
        from_the_port(done.tenant.id.as_uuid()),
        "{}",
        done.tenant.id
    );
    assert!(from_the_port(done.namespaces[0].id.as_uuid()));
    assert_eq!(done.tenant.created_at, at);
    assert_eq!(done.tenant.lifecycle.changed_at, at);
    assert_eq!(done.namespaces[0].created_at, at);
    let trail = store
        .audit_records(&DataScope::Platform, org.id, None, None, 10)
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .all(|r| from_the_port(r.id.as_uuid()) && r.at == at)
    );
}

/// docs/api.md §2: a deleted tenant's data is purged. A namespace created by a request
/// that read the tenant just before another request deleted it must not
/// survive next to the tombstone. The read is replayed here by a tenant store
/// that still answers with the tenant as it was.
#[tokio::test]
async fn a_namespace_created_while_its_tenant_is_being_deleted_is_not_left_behind() {
    let app = App::new();
    let org = app.org("signstack").await;
    let as_read = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let tenant_id = as_read.id;
    let (org_ref, target) = (OrgRef::Id(org.id), TenantRef::Id(tenant_id));
    app.tenancy
        .transition(
            &admin(),
            &org_ref,
            &target,
            LifecycleAction::Deactivate,
            reason("churn"),
        )
        .await
        .unwrap();
    app.tenancy
        .delete_tenant(&admin(), &org_ref, &target, "acme", None)
        .await
        .unwrap();
    let mut tenants = MockTenantStore::new();
    tenants
        .expect_get_tenant()
        .returning(move |_, _| Ok(Some(as_read.clone())));
    let tenancy = app.tenancy_with(Arc::new(tenants));

    let late = tenancy
        .create_namespace(
            &admin(),
            &org_ref,
            &target,
            domain::NewNamespace {
                key: namespace_key("acme-late"),
                name: None,
                mode: domain::Mode::Live,
            },
        )
        .await;

    assert_eq!(
        app.stored_namespaces(tenant_id).await,
        vec![],
        "a tombstone owns no namespace (the write answered {late:?})"
    );
}
