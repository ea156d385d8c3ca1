//! The caching decorator over `TenantStore` and `ApiKeyStore`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{ApiKeyStore, DataScope, Provisioning, StoreError, TenantStore};
use domain::{
    ApiKey, ApiKeyId, AuditRecord, KeyHash, KeyLookup, KeyOwner, OrgId, Tenant, TenantId,
    TenantQuery, TenantRef,
};
use moka::sync::Cache;

/// How big and how fresh the cache is.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Most keys held at once; the least recently used go first.
    pub max_keys: u64,
    /// The backstop: no entry is served older than this, whatever was missed.
    pub time_to_live: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_keys: 100_000,
            time_to_live: Duration::from_secs(60),
        }
    }
}

/// Decorates a store (anything that is both a `TenantStore` and an
/// `ApiKeyStore`) with the verification cache.
pub struct CachedStore<S> {
    inner: Arc<S>,
    keys: Cache<KeyHash, Arc<KeyLookup>>,
    /// Bumped by every invalidation. A lookup that missed the cache stores its
    /// answer only if no invalidation happened while it read the store, so a
    /// change that raced with the read can never be papered over by it.
    epoch: AtomicU64,
}

impl<S> CachedStore<S> {
    pub fn new(inner: Arc<S>, limits: CacheLimits) -> Self {
        let keys = Cache::builder()
            .max_capacity(limits.max_keys)
            .time_to_live(limits.time_to_live)
            .support_invalidation_closures()
            .build();
        Self {
            inner,
            keys,
            epoch: AtomicU64::new(0),
        }
    }

    /// The decorated store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// Forgets one key.
    pub fn invalidate_key(&self, hash: &KeyHash) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys.invalidate(hash);
    }

    /// Forgets every key of a tenant (its status changed).
    pub fn invalidate_tenant(&self, tenant: TenantId) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let result = self
            .keys
            .invalidate_entries_if(move |_, v| v.tenant.as_ref().is_some_and(|t| t.id == tenant));
        if result.is_err() {
            // Only possible if closures were not enabled at build time; be safe anyway.
            self.keys.invalidate_all();
        }
    }

    /// Forgets everything (e.g. after missing notifications from other instances).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys.invalidate_all();
    }

    /// How many keys are cached (approximate; for metrics and tests).
    pub fn cached_keys(&self) -> u64 {
        self.keys.run_pending_tasks();
        self.keys.entry_count()
    }
}

#[async_trait]
impl<S> ApiKeyStore for CachedStore<S>
where
    S: ApiKeyStore + TenantStore + 'static,
{
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.create_key(scope, key, audit).await
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        if let Some(hit) = self.keys.get(hash) {
            return Ok(Some(hit));
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let found = self.inner.find_key(hash).await?;
        if let Some(lookup) = &found {
            if self.epoch.load(Ordering::SeqCst) == epoch {
                self.keys.insert(*hash, Arc::clone(lookup));
                // An invalidation may have slipped in between the check and the
                // insert. Every invalidation bumps the epoch *before* it evicts,
                // so either it evicts this entry itself or we see its bump here.
                if self.epoch.load(Ordering::SeqCst) != epoch {
                    self.keys.invalidate(hash);
                }
            }
        }
        Ok(found)
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
        let result = self.inner.update_key(scope, key, audit).await;
        // Invalidate whatever the outcome: a failed write may still have landed.
        self.invalidate_key(&key.hash);
        result
    }

    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let result = self.inner.rotate_key(scope, old, new, audit).await;
        self.invalidate_key(&old.hash);
        result
    }

    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        self.inner.record_usage(used).await
    }
}

#[async_trait]
impl<S> TenantStore for CachedStore<S>
where
    S: ApiKeyStore + TenantStore + 'static,
{
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
        let result = self.inner.update_tenant(scope, tenant, audit).await;
        self.invalidate_tenant(tenant.id);
        result
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.inner.retention_expired(now, limit).await
    }
}
