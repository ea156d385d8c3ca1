//! The caching decorator over `TenantStore` and `ApiKeyStore` (and
//! `SettingsStore`, whose tenant security documents the key lookup carries).
//!
//! The cache is `quick_cache` (S3-FIFO eviction, no background threads): on the
//! verification profile its lookups cost a fraction of moka's, which showed as
//! the largest single user-space cost of `POST /v1/keys/verify`. It has no
//! time-to-live of its own, so each entry carries the time it was filled and
//! reads past the TTL count as misses. That time is read from the `Clock` port
//! the cache is built with, so tests move it by hand instead of sleeping.
//!
//! Keys the store does not know are remembered too, in a cache of their own
//! (so a flood of random keys evicts only other unknown keys, never a known
//! one), for a few seconds only: a flood of well-formed random keys then
//! reaches the store once per key and interval instead of on every request.
//! Such an entry must never hide a key created afterwards. A key created
//! through this decorator (`create_key`, `provision`, `rotate_key`) evicts
//! its hash as soon as the write returns, with the same epoch guard as an
//! invalidation, so a lookup that read "unknown" before the write cannot
//! store its answer after it. A key created through another instance is not
//! announced to this one: there, its time-to-live bounds how long a remembered
//! miss may still answer "unknown" (5 s by default).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use domain::ports::{
    ApiKeyStore, Clock, DataScope, Provisioning, SettingsOwner, SettingsStore, StoreError,
    StoredSettings, TenantStore,
};
use domain::{
    ApiKey, ApiKeyId, AuditRecord, KeyHash, KeyLookup, KeyOwner, OrgId, Tenant, TenantId,
    TenantQuery, TenantRef,
};
use quick_cache::sync::Cache;

/// How big and how fresh the cache is.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Most keys held at once; the least recently used go first.
    pub max_keys: u64,
    /// The backstop: no entry is served older than this, whatever was missed.
    pub time_to_live: Duration,
    /// Most unknown keys remembered at once.
    pub max_unknown_keys: u64,
    /// How long a key the store did not know is answered as unknown without
    /// asking again; zero remembers none.
    pub unknown_time_to_live: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_keys: 100_000,
            time_to_live: Duration::from_secs(60),
            max_unknown_keys: 100_000,
            unknown_time_to_live: Duration::from_secs(5),
        }
    }
}

/// Decorates a store (anything that is both a `TenantStore` and an
/// `ApiKeyStore`) with the verification cache.
pub struct CachedStore<S> {
    inner: Arc<S>,
    keys: Cache<KeyHash, Entry>,
    time_to_live: TimeDelta,
    /// Hashes the store did not know, and when it said so.
    unknown: Cache<KeyHash, DateTime<Utc>>,
    unknown_time_to_live: TimeDelta,
    /// What "when" means for the time-to-live.
    clock: Arc<dyn Clock>,
    /// Bumped by every invalidation. A lookup that missed the cache stores its
    /// answer only if no invalidation happened while it read the store, so a
    /// change that raced with the read can never be papered over by it.
    epoch: AtomicU64,
}

/// A cached answer and when it was read from the store.
#[derive(Clone)]
struct Entry {
    lookup: Arc<KeyLookup>,
    filled: DateTime<Utc>,
}

/// Whether something filled at `filled` may still be served at `now`. A clock
/// that stepped back before `filled` makes it stale rather than fresh for
/// longer: the TTL is the backstop against missed invalidations, so it must not
/// stretch.
fn fresh(filled: DateTime<Utc>, now: DateTime<Utc>, time_to_live: TimeDelta) -> bool {
    filled <= now && now - filled < time_to_live
}

/// A `Duration` as chrono's, saturating (a TTL of centuries is forever).
fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl<S> CachedStore<S> {
    /// The cache over `inner`; `clock` tells the entries' ages.
    pub fn new(inner: Arc<S>, limits: CacheLimits, clock: Arc<dyn Clock>) -> Self {
        let capacity = usize::try_from(limits.max_keys.max(1)).unwrap_or(usize::MAX);
        let unknown = usize::try_from(limits.max_unknown_keys.max(1)).unwrap_or(usize::MAX);
        Self {
            inner,
            keys: Cache::new(capacity),
            time_to_live: delta(limits.time_to_live),
            unknown: Cache::new(unknown),
            unknown_time_to_live: delta(limits.unknown_time_to_live),
            clock,
            epoch: AtomicU64::new(0),
        }
    }

    /// The decorated store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// Forgets one key, and that it was unknown.
    pub fn invalidate_key(&self, hash: &KeyHash) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys.remove(hash);
        self.unknown.remove(hash);
    }

    /// Forgets every key of a tenant (its status changed).
    pub fn invalidate_tenant(&self, tenant: TenantId) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys
            .retain(|_, entry| entry.lookup.tenant.as_ref().is_none_or(|t| t.id != tenant));
    }

    /// Forgets everything (e.g. after missing notifications from other instances).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys.clear();
        self.unknown.clear();
    }

    /// How many keys are cached (for metrics and tests).
    pub fn cached_keys(&self) -> u64 {
        self.keys.len() as u64
    }

    /// How many unknown keys are remembered (for metrics and tests).
    pub fn remembered_unknown_keys(&self) -> u64 {
        self.unknown.len() as u64
    }

    /// Stores `fill` under `hash` in `cache` unless an invalidation happened
    /// since `epoch` was read (see [`CachedStore::find_key`]).
    fn fill<V: Clone>(&self, cache: &Cache<KeyHash, V>, hash: &KeyHash, epoch: u64, fill: V) {
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        cache.insert(*hash, fill);
        // An invalidation may have slipped in between the check and the
        // insert. Every invalidation bumps the epoch *before* it evicts, so
        // either it evicts this entry itself or we see its bump here.
        if self.epoch.load(Ordering::SeqCst) != epoch {
            cache.remove(hash);
        }
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
        let result = self.inner.create_key(scope, key, audit).await;
        // Whatever the outcome: a failed write may still have landed.
        self.invalidate_key(&key.hash);
        result
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        let now = self.clock.now();
        if let Some(hit) = self.keys.get(hash) {
            if fresh(hit.filled, now, self.time_to_live) {
                return Ok(Some(hit.lookup));
            }
            self.keys.remove(hash);
        }
        if let Some(missed) = self.unknown.get(hash) {
            if fresh(missed, now, self.unknown_time_to_live) {
                return Ok(None);
            }
            self.unknown.remove(hash);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let found = self.inner.find_key(hash).await?;
        match &found {
            Some(lookup) => {
                let entry = Entry {
                    lookup: Arc::clone(lookup),
                    filled: self.clock.now(),
                };
                self.fill(&self.keys, hash, epoch, entry);
            }
            None if !self.unknown_time_to_live.is_zero() => {
                self.fill(&self.unknown, hash, epoch, self.clock.now());
            }
            None => {}
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
        self.invalidate_key(&new.hash);
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
        let result = self.inner.provision(scope, provisioning).await;
        for key in &provisioning.keys {
            self.invalidate_key(&key.hash);
        }
        result
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

/// Settings pass through, but a write of a document the key lookup carries
/// (a tenant's security settings: its IP allowlist) forgets the tenant's keys,
/// as a suspension does, so the very next verification reads the new list.
#[async_trait]
impl<S: SettingsStore> SettingsStore for CachedStore<S> {
    async fn settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
    ) -> Result<Option<StoredSettings>, StoreError> {
        self.inner.settings(scope, owner, group).await
    }

    async fn put_settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
        stored: &StoredSettings,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let result = self
            .inner
            .put_settings(scope, owner, group, stored, audit)
            .await;
        if let Some(tenant) = owner.governs_keys_of(group) {
            self.invalidate_tenant(tenant);
        }
        result
    }
}
