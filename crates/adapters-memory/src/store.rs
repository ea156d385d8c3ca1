//! The in-memory store: every storage port over one lock-protected state.
//! The state, the org and audit ports live here; tenants and namespaces in
//! `store/tenants.rs`, API keys in `store/keys.rs` (children of this module, so
//! they reach the state's private fields).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use domain::Ports;
use domain::ports::{
    ApiKeyStore, Clock, DataScope, KeyUsage, NamespaceStore, OrgStore, Provisioning, StoreError,
    TenantStore, Unique,
};
use domain::{ApiKey, ApiKeyId, KeyHash, KeyLookup, KeyOwner, NamespaceBrief, TenantBrief};
use domain::{
    AuditRecord, Namespace, NamespaceId, NamespaceKey, NamespaceRef, Org, OrgId, OrgKey, OrgRef,
    Tenant, TenantId, TenantKey, TenantQuery, TenantRef, TenantSort, TenantStatus,
};

use crate::library::LibraryState;
use crate::secrets::SecretsState;
use crate::{MemoryKms, SeededSecrets, SequentialIds};

mod audit;
mod deliveries;
mod domains;
mod events;
mod keys;
mod members;
mod registrations;
mod settings;
mod tenants;
mod webhooks;

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
    /// Every record in the order written, with each org's hash chain.
    audit: audit::AuditTrail,
    /// The outbox: each audit record's event, appended with it (`events.rs`).
    outbox: events::Outbox,
    /// Webhook endpoints, by id (`webhooks.rs`).
    webhooks: BTreeMap<domain::WebhookId, domain::WebhookEndpoint>,
    /// The webhook delivery queue (`deliveries.rs`).
    deliveries: deliveries::Deliveries,
    /// Tenants' members by (tenant, user id) (`members.rs`).
    members: BTreeMap<(TenantId, String), domain::Member>,
    /// Settings documents by (owner, group) (`settings.rs`).
    settings: HashMap<(domain::ports::SettingsOwner, &'static str), domain::ports::StoredSettings>,
    /// Custom domains by tenant (`domains.rs`).
    domains: BTreeMap<TenantId, domain::ports::StoredDomain>,
    pub(crate) library: LibraryState,
    pub(crate) secrets: SecretsState,
    pub(crate) idempotency: crate::idempotency::IdempotencyState,
    /// Pending self-service registrations by id (`registrations.rs`).
    registrations: BTreeMap<domain::RegistrationId, domain::Registration>,
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
    /// seeded secrets, a fresh [`MemoryKms`], a [`crate::MemoryMailer`] (swap in
    /// your own to read what was sent) and an empty [`MemoryDns`](crate::MemoryDns)
    /// (every name NXDOMAIN) — a complete, deterministic
    /// harness. Swap any port with
    /// struct update syntax: `Ports { tenants: mock, ..store.ports(clock) }`.
    pub fn ports(self: &Arc<Self>, clock: Arc<dyn Clock>) -> Ports {
        Ports {
            orgs: self.clone(),
            tenants: self.clone(),
            namespaces: self.clone(),
            keys: self.clone(),
            audit: self.clone(),
            events: self.clone(),
            webhooks: self.clone(),
            deliveries: self.clone(),
            members: self.clone(),
            settings: self.clone(),
            custom_domains: self.clone(),
            library: self.clone(),
            data_keys: self.clone(),
            tenant_secrets: self.clone(),
            idempotency: self.clone(),
            registrations: self.clone(),
            mailer: Arc::new(crate::MemoryMailer::default()),
            clock,
            ids: Arc::new(SequentialIds::default()),
            entropy: Arc::new(SeededSecrets::default()),
            key_usage: self.clone(),
            dns: Arc::new(crate::MemoryDns::new()),
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

    /// Stores `tenant` over its stored version (the caller checked it).
    pub(crate) fn replace_tenant(&mut self, tenant: Tenant) {
        self.tenants.insert(tenant.id, tenant);
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
        self.audit.append(audit);
        if let Some(event) = domain::Event::of_audit(audit) {
            self.outbox.push(event);
        }
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
