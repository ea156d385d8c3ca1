//! The in-memory store: every storage port over one lock-protected state.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use domain::Ports;
use domain::ports::{
    ApiKeyStore, AuditLog, Clock, DataScope, KeyUsage, NamespaceStore, OrgStore, Provisioning,
    StoreError, TenantStore, Unique,
};
use domain::{ApiKey, ApiKeyId, KeyHash, KeyLookup, KeyOwner, NamespaceBrief, TenantBrief};
use domain::{
    AuditRecord, Namespace, NamespaceId, NamespaceKey, NamespaceRef, Org, OrgId, OrgKey, OrgRef,
    Tenant, TenantId, TenantKey, TenantQuery, TenantRef, TenantSort, TenantStatus,
};
use uuid::Uuid;

use crate::library::LibraryState;
use crate::secrets::SecretsState;
use crate::{MemoryKms, SeededSecrets, SequentialIds};

#[derive(Default)]
pub(crate) struct State {
    pub(crate) orgs: BTreeMap<OrgId, Org>,
    org_keys: HashMap<OrgKey, OrgId>,
    tenants: BTreeMap<TenantId, Tenant>,
    tenant_keys: HashMap<TenantKey, TenantId>,
    pub(crate) namespaces: BTreeMap<NamespaceId, Namespace>,
    namespace_keys: HashMap<(TenantId, NamespaceKey), NamespaceId>,
    keys: BTreeMap<ApiKeyId, ApiKey>,
    key_hashes: HashMap<KeyHash, ApiKeyId>,
    /// In the order written (ids are minted before the lock, so racing writers
    /// may append out of id order), with each record's position by id.
    audit: Vec<AuditRecord>,
    audit_positions: HashMap<Uuid, usize>,
    pub(crate) library: LibraryState,
    pub(crate) secrets: SecretsState,
    pub(crate) idempotency: crate::idempotency::IdempotencyState,
}

/// Every storage port in memory. Cheap to share behind an `Arc`.
#[derive(Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every port a [`domain::Tenancy`] runs on: all storage on this store (key
    /// uses written straight through), time from `clock`, sequential ids,
    /// seeded secrets and a fresh [`MemoryKms`] — a complete, deterministic
    /// harness. Swap any port with
    /// struct update syntax: `Ports { tenants: mock, ..store.ports(clock) }`.
    pub fn ports(self: &Arc<Self>, clock: Arc<dyn Clock>) -> Ports {
        Ports {
            orgs: self.clone(),
            tenants: self.clone(),
            namespaces: self.clone(),
            keys: self.clone(),
            audit: self.clone(),
            library: self.clone(),
            tenant_secrets: self.clone(),
            idempotency: self.clone(),
            clock,
            ids: Arc::new(SequentialIds::default()),
            secrets: Arc::new(SeededSecrets::default()),
            key_usage: self.clone(),
            kms: Arc::new(MemoryKms::default()),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change:
        // every write checks everything before it mutates anything.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn find_tenant(&self, r: &TenantRef) -> Option<&Tenant> {
        match r {
            TenantRef::Id(id) => self.tenants.get(id),
            TenantRef::Key(key) => self
                .tenant_keys
                .get(key)
                .and_then(|id| self.tenants.get(id)),
        }
    }

    pub(crate) fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenants.get(&id)
    }

    pub(crate) fn tenant_is_active(&self, id: TenantId) -> bool {
        self.tenants
            .get(&id)
            .is_some_and(|t| t.lifecycle.status == TenantStatus::Active)
    }

    fn insert_namespace(&mut self, ns: &Namespace) {
        self.namespace_keys
            .insert((ns.tenant_id, ns.key.clone()), ns.id);
        self.namespaces.insert(ns.id, ns.clone());
    }

    fn insert_key(&mut self, key: &ApiKey) {
        self.key_hashes.insert(key.hash, key.id);
        self.keys.insert(key.id, key.clone());
    }

    /// Whether a new key may be stored for its owner: the org exists and, for
    /// namespace keys, the namespace belongs to the key's tenant and that
    /// tenant is active.
    fn key_owner_can_hold_keys(&self, key: &ApiKey) -> bool {
        match key.owner {
            KeyOwner::Org => self.orgs.contains_key(&key.org_id),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => {
                self.namespaces
                    .get(&namespace_id)
                    .is_some_and(|ns| ns.tenant_id == tenant_id && ns.org_id == key.org_id)
                    && self.tenant_is_active(tenant_id)
            }
        }
    }

    /// Whether `key`, about to be created (or minted by rotation) with `audit`,
    /// may be stored: within the scope, for an owner that can hold keys, and
    /// with a hash no other key has.
    fn admit_new_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees(key.org_id, key.tenant_id()), scope, audit)?;
        if !self.key_owner_can_hold_keys(key) {
            return Err(StoreError::Stale);
        }
        if self.key_hashes.contains_key(&key.hash) {
            return Err(StoreError::Unavailable("API key hash collision".into()));
        }
        Ok(())
    }

    /// Stores a new version of a key. `last_used_at` only moves forward: it is
    /// written by batches that do not bump versions.
    fn replace_key(&mut self, key: &ApiKey) {
        let last_used_at = self
            .keys
            .get(&key.id)
            .and_then(|stored| stored.last_used_at)
            .max(key.last_used_at);
        self.keys.insert(
            key.id,
            ApiKey {
                last_used_at,
                ..key.clone()
            },
        );
    }

    pub(crate) fn append(&mut self, audit: &AuditRecord) {
        self.audit_positions
            .insert(audit.id.as_uuid(), self.audit.len());
        self.audit.push(audit.clone());
    }
}

/// Refuses a write whose rows (`allowed`) or audit record fall outside `scope`:
/// what row-level security's `WITH CHECK` does in a database.
pub(crate) fn in_scope(
    allowed: bool,
    scope: &DataScope,
    audit: &AuditRecord,
) -> Result<(), StoreError> {
    if allowed && scope.sees(audit.org_id, audit.tenant_id) {
        Ok(())
    } else {
        Err(StoreError::OutOfScope)
    }
}

pub(crate) fn after<K: Ord + Copy>(after: Option<K>) -> (Bound<K>, Bound<K>) {
    match after {
        Some(k) => (Bound::Excluded(k), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

#[async_trait]
impl OrgStore for MemoryStore {
    async fn create_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(scope.sees_org_level(org.id), scope, audit)?;
        if s.org_keys.contains_key(&org.key) {
            return Err(StoreError::Taken(Unique::OrgKey));
        }
        s.org_keys.insert(org.key.clone(), org.id);
        s.orgs.insert(org.id, org.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_org(&self, scope: &DataScope, org: &OrgRef) -> Result<Option<Org>, StoreError> {
        let s = self.read();
        let id = match org {
            OrgRef::Id(id) => Some(*id),
            OrgRef::Key(key) => s.org_keys.get(key).copied(),
        };
        Ok(id
            .and_then(|id| s.orgs.get(&id))
            .filter(|o| scope.sees_org(o.id))
            .cloned())
    }

    async fn list_orgs(
        &self,
        scope: &DataScope,
        after_id: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<Org>, StoreError> {
        let s = self.read();
        Ok(s.orgs
            .range(after(after_id))
            .map(|(_, o)| o.clone())
            .filter(|o| scope.sees_org(o.id))
            .take(limit)
            .collect())
    }

    async fn update_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.orgs.get(&org.id) {
            Some(stored)
                if stored.version + 1 == org.version
                    && stored.key == org.key
                    && scope.sees_org_level(stored.id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        s.orgs.insert(org.id, org.clone());
        s.append(audit);
        Ok(())
    }
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn provision(&self, scope: &DataScope, p: &Provisioning) -> Result<(), StoreError> {
        let mut s = self.write();
        let owned = p.namespaces.iter().all(|ns| ns.tenant_id == p.tenant.id)
            && p.keys.iter().all(|k| k.tenant_id() == Some(p.tenant.id));
        in_scope(
            owned && scope.sees_tenant(p.tenant.org_id, p.tenant.id),
            scope,
            &p.audit,
        )?;
        // Check everything first, then mutate: all or nothing.
        if s.tenant_keys.contains_key(&p.tenant.key) {
            return Err(StoreError::Taken(Unique::TenantKey));
        }
        for (i, ns) in p.namespaces.iter().enumerate() {
            let clash = p.namespaces[..i].iter().any(|other| other.key == ns.key)
                || s.namespace_keys
                    .contains_key(&(p.tenant.id, ns.key.clone()));
            if clash {
                return Err(StoreError::Taken(Unique::NamespaceKey));
            }
        }
        if p.keys.iter().any(|k| s.key_hashes.contains_key(&k.hash)) {
            return Err(StoreError::Unavailable("API key hash collision".into()));
        }
        s.tenant_keys.insert(p.tenant.key.clone(), p.tenant.id);
        s.tenants.insert(p.tenant.id, p.tenant.clone());
        for ns in &p.namespaces {
            s.insert_namespace(ns);
        }
        for key in &p.keys {
            s.insert_key(key);
        }
        s.secrets.insert_data_key(&p.tenant, &p.data_key);
        s.append(&p.audit);
        Ok(())
    }

    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .read()
            .find_tenant(tenant)
            .filter(|t| scope.sees_tenant(t.org_id, t.id))
            .cloned())
    }

    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        let s = self.read();
        let limit = query.fetch_limit();
        let matching = s
            .tenants
            .values()
            .filter(|t| scope.sees_tenant(t.org_id, t.id) && query.matches(t));
        Ok(match query.sort {
            // The map is in id order already.
            TenantSort::CreatedAsc => matching.take(limit).cloned().collect(),
            TenantSort::CreatedDesc => {
                let mut all: Vec<_> = matching.collect();
                all.reverse();
                all.into_iter().take(limit).cloned().collect()
            }
            TenantSort::NameAsc | TenantSort::NameDesc => {
                let mut all: Vec<_> = matching.collect();
                all.sort_by(|a, b| query.sort.compare(a, b));
                all.into_iter().take(limit).cloned().collect()
            }
        })
    }

    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.tenants.get(&tenant.id) {
            Some(stored)
                if stored.version + 1 == tenant.version
                    && stored.key == tenant.key
                    && stored.org_id == tenant.org_id
                    && scope.sees_tenant(stored.org_id, stored.id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        if tenant.lifecycle.status == TenantStatus::Deactivated {
            let at = tenant.lifecycle.changed_at;
            for key in s.keys.values_mut() {
                if key.tenant_id() == Some(tenant.id) && key.revoked_at.is_none() {
                    key.revoked_at = Some(at);
                    key.version += 1;
                }
            }
        }
        if tenant.lifecycle.status == TenantStatus::Deleted {
            let keys: Vec<_> = s
                .keys
                .values()
                .filter(|k| k.tenant_id() == Some(tenant.id))
                .map(|k| (k.id, k.hash))
                .collect();
            for (id, hash) in keys {
                s.keys.remove(&id);
                s.key_hashes.remove(&hash);
            }
            let owned: Vec<_> = s
                .namespaces
                .values()
                .filter(|ns| ns.tenant_id == tenant.id)
                .map(|ns| (ns.id, ns.key.clone()))
                .collect();
            for (id, key) in owned {
                s.namespaces.remove(&id);
                s.namespace_keys.remove(&(tenant.id, key));
            }
            s.library.purge_tenant(tenant.id);
            s.secrets.purge_tenant(tenant.id);
            s.idempotency.purge_tenant(tenant.id);
        }
        s.tenants.insert(tenant.id, tenant.clone());
        s.append(audit);
        Ok(())
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        let s = self.read();
        let mut due: Vec<_> = s
            .tenants
            .values()
            .filter(|t| {
                t.lifecycle.status == TenantStatus::Deactivated
                    && t.lifecycle.retention_ends_at.is_some_and(|end| end <= now)
            })
            .collect();
        due.sort_by_key(|t| (t.lifecycle.retention_ends_at, t.id));
        Ok(due.into_iter().take(limit).cloned().collect())
    }
}

#[async_trait]
impl NamespaceStore for MemoryStore {
    async fn create_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(scope.sees_tenant(ns.org_id, ns.tenant_id), scope, audit)?;
        if !s.tenant_is_active(ns.tenant_id) {
            return Err(StoreError::Stale);
        }
        if s.namespace_keys
            .contains_key(&(ns.tenant_id, ns.key.clone()))
        {
            return Err(StoreError::Taken(Unique::NamespaceKey));
        }
        s.insert_namespace(ns);
        s.append(audit);
        Ok(())
    }

    async fn get_namespace(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        ns: &NamespaceRef,
    ) -> Result<Option<Namespace>, StoreError> {
        let s = self.read();
        let id = match ns {
            NamespaceRef::Id(id) => Some(*id),
            NamespaceRef::Key(key) => s.namespace_keys.get(&(tenant, key.clone())).copied(),
        };
        Ok(id
            .and_then(|id| s.namespaces.get(&id))
            .filter(|n| n.tenant_id == tenant && scope.sees_tenant(n.org_id, n.tenant_id))
            .cloned())
    }

    async fn list_namespaces(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after_id: Option<NamespaceId>,
        limit: usize,
    ) -> Result<Vec<Namespace>, StoreError> {
        let s = self.read();
        Ok(s.namespaces
            .range(after(after_id))
            .map(|(_, n)| n)
            .filter(|n| n.tenant_id == tenant && scope.sees_tenant(n.org_id, n.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.namespaces.get(&ns.id) {
            Some(stored)
                if stored.version + 1 == ns.version
                    && stored.tenant_id == ns.tenant_id
                    && stored.key == ns.key
                    && scope.sees_tenant(stored.org_id, stored.tenant_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        if !s.tenant_is_active(ns.tenant_id) {
            return Err(StoreError::Stale);
        }
        s.namespaces.insert(ns.id, ns.clone());
        s.append(audit);
        Ok(())
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn audit_records(
        &self,
        scope: &DataScope,
        org: OrgId,
        tenant: Option<TenantId>,
        after_id: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let s = self.read();
        let start = match after_id {
            None => 0,
            Some(id) => match s.audit_positions.get(&id) {
                Some(position) => position + 1,
                None => return Ok(Vec::new()),
            },
        };
        Ok(s.audit[start..]
            .iter()
            .filter(|r| {
                r.org_id == org
                    && tenant.is_none_or(|t| r.tenant_id == Some(t))
                    && scope.sees(r.org_id, r.tenant_id)
            })
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        s.admit_new_key(scope, key, audit)?;
        s.insert_key(key);
        s.append(audit);
        Ok(())
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        let s = self.read();
        let Some(key) = s.key_hashes.get(hash).and_then(|id| s.keys.get(id)) else {
            return Ok(None);
        };
        let (tenant, namespace) = match key.owner {
            KeyOwner::Org => (None, None),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => (
                s.tenants.get(&tenant_id).map(|t| TenantBrief {
                    id: t.id,
                    key: t.key.clone(),
                    status: t.lifecycle.status,
                }),
                s.namespaces.get(&namespace_id).map(|n| NamespaceBrief {
                    id: n.id,
                    key: n.key.clone(),
                }),
            ),
        };
        Ok(Some(Arc::new(KeyLookup {
            key: key.clone(),
            tenant,
            namespace,
        })))
    }

    async fn get_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: ApiKeyId,
    ) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .read()
            .keys
            .get(&id)
            .filter(|k| k.org_id == org && scope.sees(k.org_id, k.tenant_id()))
            .cloned())
    }

    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after_id: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let s = self.read();
        Ok(s.keys
            .range(after(after_id))
            .map(|(_, k)| k)
            .filter(|k| k.org_id == org && k.owner == owner && scope.sees(k.org_id, k.tenant_id()))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        check_key_version(&s, scope, key)?;
        in_scope(true, scope, audit)?;
        s.replace_key(key);
        s.append(audit);
        Ok(())
    }

    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        check_key_version(&s, scope, old)?;
        s.admit_new_key(scope, new, audit)?;
        s.replace_key(old);
        s.insert_key(new);
        s.append(audit);
        Ok(())
    }

    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        let mut s = self.write();
        for (id, at) in used {
            if let Some(key) = s.keys.get_mut(id) {
                key.last_used_at = key.last_used_at.max(Some(*at));
            }
        }
        Ok(())
    }
}

fn check_key_version(s: &State, scope: &DataScope, key: &ApiKey) -> Result<(), StoreError> {
    match s.keys.get(&key.id) {
        Some(stored)
            if stored.version + 1 == key.version
                && stored.hash == key.hash
                && stored.owner == key.owner
                && scope.sees(stored.org_id, stored.tenant_id()) =>
        {
            Ok(())
        }
        _ => Err(StoreError::Stale),
    }
}

/// Writes `last_used_at` straight through: fine for tests and embedders; the
/// server puts a batching adapter in front instead, off the hot path.
impl KeyUsage for MemoryStore {
    fn key_used(&self, key: ApiKeyId, at: DateTime<Utc>) {
        let mut s = self.write();
        if let Some(k) = s.keys.get_mut(&key) {
            k.last_used_at = k.last_used_at.max(Some(at));
        }
    }
}
