//! What the cache tests share: a seeded world of two tenants with keys, a
//! verdict helper, and [`Probe`], a store that lets a test watch and steer what
//! reaches the memory store behind the cache.

use domain::ports::DataScope;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use adapters_memory::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{ApiKeyStore, OrgStore, Provisioning, StoreError, TenantStore};
use domain::{
    ApiKey, ApiKeyId, AuditAction, AuditRecord, KeyHash, KeyLookup, KeyOwner, Org, OrgId, Tenant,
    TenantQuery, TenantRef, TenantStatus, VerifyCode,
};
use test_support::fixtures::{Fixtures, at, moved};
use tokio::sync::Notify;

/// When every verdict is judged: long after the fixtures' creation, long
/// before their keys expire.
pub fn now() -> DateTime<Utc> {
    at(100)
}

/// The verdict verification gives the key with `hash`, asking `keys`.
pub async fn verdict(keys: &dyn ApiKeyStore, hash: &KeyHash) -> VerifyCode {
    keys.find_key(hash)
        .await
        .expect("looking a key up")
        .map_or(VerifyCode::NotFound, |lookup| lookup.judge(now(), None))
}

/// One org with two tenants, `acme` (two namespace keys) and `beta` (one), and
/// an org key, all written straight to a memory store.
pub struct World {
    pub f: Fixtures,
    pub inner: Arc<MemoryStore>,
    pub org: Org,
    pub acme: Provisioning,
    pub beta: Provisioning,
    pub acme_keys: [ApiKey; 2],
    pub beta_key: ApiKey,
    pub org_key: ApiKey,
}

impl World {
    pub async fn new() -> Self {
        let f = Fixtures::new();
        let inner = Arc::new(MemoryStore::new());
        let org = f.org("signstack");
        inner
            .create_org(
                &DataScope::Platform,
                &org,
                &f.org_audit(&org, AuditAction::OrgCreated),
            )
            .await
            .expect("creating the org");
        let acme = f.provisioning(&org, "acme", &["acme-live"]);
        let beta = f.provisioning(&org, "beta", &["beta-live"]);
        for p in [&acme, &beta] {
            inner
                .provision(&DataScope::Platform, p)
                .await
                .expect("provisioning a tenant");
        }
        let world = Self {
            acme_keys: [
                f.namespace_api_key(&acme.namespaces[0], "first"),
                f.namespace_api_key(&acme.namespaces[0], "second"),
            ],
            beta_key: f.namespace_api_key(&beta.namespaces[0], "beta"),
            org_key: f.org_api_key(&org, "org"),
            org,
            f,
            inner,
            acme,
            beta,
        };
        for key in world.keys() {
            world.create(key).await;
        }
        world
    }

    /// Every key of the world.
    pub fn keys(&self) -> [&ApiKey; 4] {
        let [a, b] = &self.acme_keys;
        [a, b, &self.beta_key, &self.org_key]
    }

    /// Stores another key, straight in the memory store.
    pub async fn create(&self, key: &ApiKey) {
        self.inner
            .create_key(
                &DataScope::Platform,
                key,
                &self.f.key_audit(key, AuditAction::ApiKeyCreated),
            )
            .await
            .expect("creating a key");
    }

    /// Stores another key through `keys` (a cache, say).
    pub async fn create_through(&self, keys: &dyn ApiKeyStore, key: &ApiKey) {
        keys.create_key(
            &DataScope::Platform,
            key,
            &self.f.key_audit(key, AuditAction::ApiKeyCreated),
        )
        .await
        .expect("creating a key");
    }

    /// Revokes `key` through `keys`; returns the revoked version.
    pub async fn revoke(&self, keys: &dyn ApiKeyStore, key: &ApiKey) -> ApiKey {
        let stored = self
            .inner
            .get_key(&DataScope::Platform, key.org_id, key.id)
            .await
            .unwrap()
            .expect("the key exists");
        let next = test_support::fixtures::revoked(&stored, at(50));
        keys.update_key(
            &DataScope::Platform,
            &next,
            &self.f.key_audit(&next, AuditAction::ApiKeyRevoked),
        )
        .await
        .expect("revoking a key");
        next
    }

    /// Moves `tenant` to `status` through `tenants`; returns the new version.
    pub async fn move_tenant(
        &self,
        tenants: &dyn TenantStore,
        tenant: &Tenant,
        status: TenantStatus,
    ) -> Tenant {
        let stored = self
            .inner
            .get_tenant(&DataScope::Platform, &TenantRef::Id(tenant.id))
            .await
            .unwrap()
            .expect("the tenant exists");
        let next = moved(&stored, status, at(50));
        tenants
            .update_tenant(
                &DataScope::Platform,
                &next,
                &self.f.tenant_audit(&next, AuditAction::TenantUpdated),
            )
            .await
            .expect("moving a tenant");
        next
    }
}

/// A store in front of a memory store that counts the `find_key` calls
/// reaching it, can hold one of them, records the usage batches it is given,
/// can be told to fail them and can run something while one is being written.
pub struct Probe {
    pub inner: Arc<MemoryStore>,
    finds: AtomicUsize,
    held: Mutex<Option<Hold>>,
    failing_usage: AtomicBool,
    during_usage: Mutex<Option<DuringUsage>>,
    usage_attempts: AtomicUsize,
    usage_written: Mutex<Vec<Batch>>,
}

type DuringUsage = Box<dyn FnOnce() + Send>;

/// Uses as `record_usage` takes them.
pub type Batch = Vec<(ApiKeyId, DateTime<Utc>)>;

/// The two sides of a held lookup: the probe signals `entered` once it has read
/// its answer and then waits for `release` before returning it.
#[derive(Clone)]
pub struct Hold {
    pub entered: Arc<Notify>,
    pub release: Arc<Notify>,
}

impl Probe {
    pub fn new(inner: Arc<MemoryStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            finds: AtomicUsize::new(0),
            held: Mutex::new(None),
            failing_usage: AtomicBool::new(false),
            during_usage: Mutex::new(None),
            usage_attempts: AtomicUsize::new(0),
            usage_written: Mutex::new(Vec::new()),
        })
    }

    /// How many `find_key` calls reached the store.
    pub fn finds(&self) -> usize {
        self.finds.load(Ordering::SeqCst)
    }

    /// The next `find_key` reads its answer, signals, and waits to be released.
    pub fn hold_next_find(&self) -> Hold {
        let hold = Hold {
            entered: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
        };
        *self.held.lock().unwrap() = Some(hold.clone());
        hold
    }

    /// Makes `record_usage` fail (`true`) or work again (`false`).
    pub fn fail_usage(&self, failing: bool) {
        self.failing_usage.store(failing, Ordering::SeqCst);
    }

    /// Runs `action` inside the next `record_usage` call, before it answers.
    pub fn during_next_usage(&self, action: impl FnOnce() + Send + 'static) {
        *self.during_usage.lock().unwrap() = Some(Box::new(action));
    }

    /// How many times `record_usage` was called, failed calls included.
    pub fn usage_attempts(&self) -> usize {
        self.usage_attempts.load(Ordering::SeqCst)
    }

    /// The batches `record_usage` wrote, in order.
    pub fn usage_written(&self) -> Vec<Batch> {
        self.usage_written.lock().unwrap().clone()
    }
}

#[async_trait]
impl ApiKeyStore for Probe {
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.create_key(scope, key, audit).await
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        let answer = self.inner.find_key(hash).await;
        let hold = self.held.lock().unwrap().take();
        if let Some(hold) = hold {
            hold.entered.notify_one();
            hold.release.notified().await;
        }
        answer
    }

    async fn get_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: ApiKeyId,
    ) -> Result<Option<ApiKey>, StoreError> {
        self.inner.get_key(scope, org, id).await
    }

    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.list_keys(scope, org, owner, after, limit).await
    }

    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.update_key(scope, key, audit).await
    }

    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.rotate_key(scope, old, new, audit).await
    }

    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        self.usage_attempts.fetch_add(1, Ordering::SeqCst);
        let during = self.during_usage.lock().unwrap().take();
        if let Some(action) = during {
            action();
        }
        if self.failing_usage.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("told to fail".into()));
        }
        self.usage_written.lock().unwrap().push(used.to_vec());
        self.inner.record_usage(used).await
    }
}

#[async_trait]
impl TenantStore for Probe {
    async fn provision(
        &self,
        scope: &DataScope,
        provisioning: &Provisioning,
    ) -> Result<(), StoreError> {
        self.inner.provision(scope, provisioning).await
    }

    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        self.inner.get_tenant(scope, tenant).await
    }

    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.inner.list_tenants(scope, query).await
    }

    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.update_tenant(scope, tenant, audit).await
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.inner.retention_expired(now, limit).await
    }
}
