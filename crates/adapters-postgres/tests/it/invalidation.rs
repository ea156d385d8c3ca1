//! Cross-instance cache invalidation: two "instances" (each its own `PgStore`
//! behind its own verification cache, on one database) where a change made
//! through one must reach the other's cache through `LISTEN`/`NOTIFY`.
//!
//! Delivery is asynchronous, so the tests poll with a generous deadline and
//! never assert how long delivery took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adapters_cache::{CacheLimits, CachedStore};
use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{
    InvalidationListener, InvalidationSink, LISTENER_APPLICATION_NAME, PgStore,
};
use domain::ports::{ApiKeyStore, AuditLog, DataScope, OrgStore, StoreError, TenantStore};
use domain::{ApiKey, AuditAction, KeyHash, Org, Tenant, TenantId, TenantStatus, VerifyCode};
use test_support::fixtures::{Fixtures, at, moved, revoked};

/// The longest any test waits for a notification to arrive.
const DEADLINE: Duration = Duration::from_secs(5);
/// How often a test looks again.
const POLL: Duration = Duration::from_millis(5);

/// Forwards to one instance's cache and counts every call.
struct CountingSink {
    cache: Arc<CachedStore<PgStore>>,
    keys: AtomicUsize,
    tenants: AtomicUsize,
    clears: AtomicUsize,
}

impl InvalidationSink for CountingSink {
    fn invalidate_key(&self, hash: &KeyHash) {
        self.keys.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_key(hash);
    }

    fn invalidate_tenant(&self, tenant: TenantId) {
        self.tenants.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_tenant(tenant);
    }

    fn clear(&self) {
        self.clears.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
    }
}

impl CountingSink {
    fn counts(&self) -> (usize, usize, usize) {
        (
            self.keys.load(Ordering::SeqCst),
            self.tenants.load(Ordering::SeqCst),
            self.clears.load(Ordering::SeqCst),
        )
    }
}

/// One server instance: its store, its cache, and the listener feeding it.
struct Instance {
    cache: Arc<CachedStore<PgStore>>,
    sink: Arc<CountingSink>,
    listener: InvalidationListener,
}

impl Instance {
    async fn start(test: &Arc<TestDatabase>) -> Self {
        let store = PgStore::new(test.runtime().await).holding(Arc::clone(test));
        let cache = Arc::new(CachedStore::new(
            Arc::new(store),
            CacheLimits::default(),
            Arc::new(adapters_memory::ManualClock::default()),
        ));
        let sink = Arc::new(CountingSink {
            cache: Arc::clone(&cache),
            keys: AtomicUsize::new(0),
            tenants: AtomicUsize::new(0),
            clears: AtomicUsize::new(0),
        });
        let listener = InvalidationListener::spawn(test.runtime_url(), sink.clone())
            .await
            .expect("the listener starts");
        Self {
            cache,
            sink,
            listener,
        }
    }

    /// How this instance judges `hash` now (through its cache).
    async fn verdict(&self, hash: &KeyHash) -> VerifyCode {
        match self.cache.find_key(hash).await.unwrap() {
            Some(lookup) => lookup.judge(at(10), None),
            None => VerifyCode::NotFound,
        }
    }

    /// Polls until this instance judges `hash` as `expected`; panics at the deadline.
    async fn wait_for(&self, hash: &KeyHash, expected: VerifyCode) {
        let start = Instant::now();
        loop {
            let seen = self.verdict(hash).await;
            if seen == expected {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "still {seen:?} instead of {expected:?} after {DEADLINE:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Two instances on one fresh database, and a tenant with one key provisioned
/// through the first.
struct TwoInstances {
    test: Arc<TestDatabase>,
    a: Instance,
    b: Instance,
    f: Fixtures,
    org: Org,
    tenant: Tenant,
    key: ApiKey,
}

impl TwoInstances {
    async fn start() -> Self {
        let test = Arc::new(TestDatabase::new().await);
        let a = Instance::start(&test).await;
        let b = Instance::start(&test).await;
        let f = Fixtures::new();
        let org = f.org("signstack");
        a.cache
            .inner()
            .create_org(
                &DataScope::Platform,
                &org,
                &f.org_audit(&org, AuditAction::OrgCreated),
            )
            .await
            .unwrap();
        let mut p = f.provisioning(&org, "acme", &["prod"]);
        let key = f.namespace_api_key(&p.namespaces[0], "ci");
        p.keys.push(key.clone());
        a.cache
            .provision(&DataScope::Org(org.id), &p)
            .await
            .unwrap();
        Self {
            test,
            a,
            b,
            f,
            org,
            tenant: p.tenant,
            key,
        }
    }

    fn scope(&self) -> DataScope {
        DataScope::Org(self.org.id)
    }

    /// `b` has looked the key up, found it valid, and holds it in its cache.
    async fn cached_in_b(&self) {
        assert_eq!(self.b.verdict(&self.key.hash).await, VerifyCode::Valid);
        assert_eq!(self.b.cache.cached_keys(), 1);
    }

    /// Suspends the tenant through `a`.
    async fn suspend_through_a(&self) -> Result<(), StoreError> {
        let suspended = moved(&self.tenant, TenantStatus::Suspended, at(3));
        let audit = self
            .f
            .tenant_audit(&suspended, AuditAction::TenantSuspended);
        self.a
            .cache
            .update_tenant(&self.scope(), &suspended, &audit)
            .await
    }

    fn stop(self) {
        self.a.listener.stop();
        self.b.listener.stop();
    }
}

#[tokio::test]
async fn a_suspension_through_one_instance_reaches_the_other_cache() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    two.suspend_through_a().await.unwrap();
    two.b
        .wait_for(&two.key.hash, VerifyCode::TenantSuspended)
        .await;
    two.stop();
}

#[tokio::test]
async fn a_revocation_through_one_instance_reaches_the_other_cache() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    let gone = revoked(&two.key, at(3));
    two.a
        .cache
        .update_key(
            &two.scope(),
            &gone,
            &two.f.key_audit(&gone, AuditAction::ApiKeyRevoked),
        )
        .await
        .unwrap();
    two.b.wait_for(&two.key.hash, VerifyCode::Revoked).await;
    two.stop();
}

#[tokio::test]
async fn a_rotation_through_one_instance_revokes_the_old_key_in_the_other_cache() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    let (old, new) = two.f.rotation(&two.key, at(3));
    two.a
        .cache
        .rotate_key(
            &two.scope(),
            &old,
            &new,
            &two.f.key_audit(&new, AuditAction::ApiKeyRotated),
        )
        .await
        .unwrap();
    two.b.wait_for(&two.key.hash, VerifyCode::Revoked).await;
    assert_eq!(two.b.verdict(&new.hash).await, VerifyCode::Valid);
    two.stop();
}

/// Writes that roll back notify nobody: one refused before it notifies (a
/// stale version), and one whose notification was already queued when a
/// later statement failed (its audit record reuses a taken id). A real
/// suspension afterwards is the first and only notification `b` gets, and
/// notifications arrive in commit order, so nothing came before it.
#[tokio::test]
async fn a_write_that_rolls_back_notifies_nobody() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    let scope = two.scope();
    let inner = two.a.cache.inner();

    let mut stale = moved(&two.tenant, TenantStatus::Suspended, at(3));
    stale.version += 1;
    let audit = two.f.tenant_audit(&stale, AuditAction::TenantSuspended);
    assert_eq!(
        inner.update_tenant(&scope, &stale, &audit).await,
        Err(StoreError::Stale)
    );

    let suspended = moved(&two.tenant, TenantStatus::Suspended, at(3));
    let mut taken_id = two.f.tenant_audit(&suspended, AuditAction::TenantSuspended);
    taken_id.id = audit_id_of_provisioning(&two).await;
    assert!(
        inner
            .update_tenant(&scope, &suspended, &taken_id)
            .await
            .is_err()
    );
    let still = inner
        .get_tenant(&scope, &domain::TenantRef::Id(two.tenant.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.lifecycle.status, TenantStatus::Active, "rolled back");

    // `b` still holds the key as valid (no invalidation dropped it).
    assert_eq!(two.b.cache.cached_keys(), 1);
    assert_eq!(two.b.verdict(&two.key.hash).await, VerifyCode::Valid);

    two.suspend_through_a().await.unwrap();
    two.b
        .wait_for(&two.key.hash, VerifyCode::TenantSuspended)
        .await;
    // keys, tenants, clears (the one clear of startup).
    assert_eq!(two.b.sink.counts(), (0, 1, 1));
    two.stop();
}

/// The id of an audit record already stored: the tenant's provisioning.
async fn audit_id_of_provisioning(two: &TwoInstances) -> domain::AuditId {
    let records = two
        .a
        .cache
        .inner()
        .audit_records(&two.scope(), two.org.id, Some(two.tenant.id), None, 10)
        .await
        .unwrap();
    records
        .iter()
        .find(|r| r.action == AuditAction::TenantProvisioned)
        .expect("the provisioning was audited")
        .id
}

/// A listener whose connection is killed reconnects on its own, clears the
/// cache (it may have missed notifications), and hears changes again.
#[tokio::test]
async fn a_listener_whose_connection_dies_reconnects_and_clears() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    assert_eq!(two.b.sink.counts().2, 1, "cleared once when it started");

    // Both instances listen on this database: kill both connections.
    let owner = two.test.owner_pool().await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(LISTENER_APPLICATION_NAME)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(killed, [true, true], "both instances' listeners");

    let start = Instant::now();
    while two.b.sink.counts().2 < 2 || two.a.sink.counts().2 < 2 {
        assert!(
            start.elapsed() < DEADLINE,
            "no clear after the reconnect within {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(two.b.cache.cached_keys(), 0, "the clear emptied the cache");

    // Listening again: a change still reaches `b`.
    two.cached_in_b().await;
    two.suspend_through_a().await.unwrap();
    two.b
        .wait_for(&two.key.hash, VerifyCode::TenantSuspended)
        .await;
    owner.close().await;
    two.stop();
}

/// While the database refuses the runtime role's connections the listener cannot listen, so it
/// must not clear yet (a lookup could cache something it would then never
/// hear about); once it gets back in, it clears and hears changes again.
#[tokio::test]
async fn a_listener_that_cannot_get_back_in_keeps_trying_and_clears_once_listening() {
    let two = TwoInstances::start().await;
    two.cached_in_b().await;
    let owner = two.test.owner_pool().await;
    let database = two.test.name();
    // Generated names are letters, digits and `_`: safe to quote as is.
    let allow = |on: bool| {
        if on {
            format!("GRANT CONNECT ON DATABASE \"{database}\" TO PUBLIC")
        } else {
            format!("REVOKE CONNECT ON DATABASE \"{database}\" FROM PUBLIC")
        }
    };
    sqlx::query(&allow(false)).execute(&owner).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(LISTENER_APPLICATION_NAME)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(killed, [true, true]);

    // A few failed attempts' worth of time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(two.b.sink.counts().2, 1, "no clear before listening again");

    sqlx::query(&allow(true)).execute(&owner).await.unwrap();
    let deadline = Duration::from_secs(20);
    let start = Instant::now();
    while two.b.sink.counts().2 < 2 {
        assert!(
            start.elapsed() < deadline,
            "no clear after the database let the listener back in within {deadline:?}"
        );
        tokio::time::sleep(POLL).await;
    }
    two.cached_in_b().await;
    two.suspend_through_a().await.unwrap();
    two.b
        .wait_for(&two.key.hash, VerifyCode::TenantSuspended)
        .await;
    owner.close().await;
    two.stop();
}
