//! The harness: a [`Tenancy`] on a fresh [`MemoryStore`], with the clock and the
//! store in reach so tests can move time and look behind the use cases.

use domain::ports::DataScope;
use std::sync::Arc;

use adapters_memory::{ManualClock, MemoryStore, SequentialIds};
use chrono::{DateTime, Utc};
use domain::ports::{AuditLog, Clock, NamespaceStore, TenantStore};
use domain::{
    Actor, ActorKind, ApiKeyId, AuditRecord, Context, LifecycleAction, Metadata, Namespace, NewOrg,
    Org, OrgRef, Ports, Principal, ProvisionTenant, Provisioned, Settings, Tenancy, Tenant,
    TenantId, TenantRef, TenantStatus,
};

/// Everything one test needs, built fresh per test.
pub struct App {
    pub tenancy: Tenancy,
    pub store: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
    ids: Arc<SequentialIds>,
    settings: Settings,
}

impl App {
    pub fn new() -> Self {
        Self::with_settings(Settings::default())
    }

    pub fn with_settings(settings: Settings) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::default());
        let ids = Arc::new(SequentialIds::default());
        let ports = Ports {
            ids: ids.clone(),
            ..store.ports(clock.clone())
        };
        Self {
            tenancy: Tenancy::new(ports, settings.clone()),
            store,
            clock,
            ids,
            settings,
        }
    }

    /// A second `Tenancy` on the same store, clock and ids, whose tenant port is
    /// `tenants` (a mock, or a wrapper around [`Self::store`]).
    pub fn tenancy_with(&self, tenants: Arc<dyn TenantStore>) -> Tenancy {
        let ports = Ports {
            tenants,
            ids: self.ids.clone(),
            ..self.store.ports(self.clock.clone())
        };
        Tenancy::new(ports, self.settings.clone())
    }

    /// What the clock says now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Creates an org as the platform admin.
    pub async fn org(&self, key: &str) -> Org {
        self.tenancy
            .create_org(
                &admin(),
                NewOrg {
                    key: org_key(key),
                    name: name(&format!("Org {key}")),
                },
            )
            .await
            .expect("creating an org")
    }

    /// Provisions `spec` in `org` as the platform admin.
    pub async fn provision(&self, org: &Org, spec: ProvisionTenant) -> Provisioned {
        self.tenancy
            .provision(&admin(), &OrgRef::Id(org.id), spec)
            .await
            .expect("provisioning")
    }

    /// A tenant with the default spec, moved to `status` the shortest way.
    pub async fn tenant_in(&self, org: &Org, key: &str, status: TenantStatus) -> Tenant {
        let tenant = self.provision(org, spec(key)).await.tenant;
        let path: &[LifecycleAction] = match status {
            TenantStatus::Active => &[],
            TenantStatus::Suspended => &[LifecycleAction::Suspend],
            TenantStatus::Deactivated => &[LifecycleAction::Deactivate],
            TenantStatus::Deleted => &[LifecycleAction::Deactivate, LifecycleAction::Delete],
        };
        let mut tenant = tenant;
        for action in path {
            let (org_ref, tenant_ref) = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));
            tenant = if *action == LifecycleAction::Delete {
                self.tenancy
                    .delete_tenant(&admin(), &org_ref, &tenant_ref, key, None)
                    .await
            } else {
                self.tenancy
                    .transition(&admin(), &org_ref, &tenant_ref, *action, reason("setup"))
                    .await
            }
            .expect("a move the lifecycle allows");
        }
        assert_eq!(tenant.lifecycle.status, status);
        tenant
    }

    /// The tenant as stored, read behind the use cases.
    pub async fn stored(&self, tenant: TenantId) -> Option<Tenant> {
        self.store
            .get_tenant(&DataScope::Platform, &TenantRef::Id(tenant))
            .await
            .expect("reading the store")
    }

    /// The status of a stored tenant.
    pub async fn status(&self, tenant: TenantId) -> TenantStatus {
        let stored = self.stored(tenant).await.expect("a stored tenant");
        stored.lifecycle.status
    }

    /// The tenant's namespaces as stored.
    pub async fn stored_namespaces(&self, tenant: TenantId) -> Vec<Namespace> {
        self.store
            .list_namespaces(&DataScope::Platform, tenant, None, 1000)
            .await
            .expect("reading the store")
    }

    /// The org's audit trail as stored, optionally one tenant's only.
    /// The audit trail as the platform admin lists it: tenants' records
    /// opened (or shredded, for deleted tenants).
    pub async fn trail(&self, org: &Org, tenant: Option<TenantId>) -> Vec<AuditRecord> {
        let org = OrgRef::Id(org.id);
        let tenant = tenant.map(TenantRef::Id);
        let mut records = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .tenancy
                .list_audit(
                    &admin(),
                    &org,
                    tenant.as_ref(),
                    cursor.as_ref(),
                    domain::Limit::new(u64::from(domain::Limit::MAX)).expect("a limit"),
                )
                .await
                .expect("listing the audit trail");
            records.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return records,
            }
        }
    }

    /// The audit trail as stored: tenants' details sealed.
    pub async fn stored_trail(&self, org: &Org, tenant: Option<TenantId>) -> Vec<AuditRecord> {
        self.store
            .audit_records(&DataScope::Platform, org.id, tenant, None, 1000)
            .await
            .expect("reading the store")
    }
}

/// The platform admin, as the bootstrap token authenticates it.
pub fn admin() -> Context {
    Context::platform_admin()
}

/// The id of the org key the tests act with.
pub fn org_key_id() -> ApiKeyId {
    ApiKeyId::from_uuid(uuid::Uuid::from_u128(
        0x0e9_0000_0000_0000_0000_0000_0000_0001,
    ))
}

/// A caller holding an org key of `org`.
pub fn org_caller(org: &domain::Org) -> Context {
    Context::new(Principal::Org {
        org_id: org.id,
        key_id: org_key_id(),
        expires_at: None,
    })
}

/// How that org key shows up in audit records and lifecycle entries.
pub fn org_key_actor() -> Actor {
    Actor {
        kind: ActorKind::OrgKey,
        id: org_key_id().to_string(),
    }
}

/// The smallest provisioning request: key and name, every default left out.
pub fn spec(key: &str) -> ProvisionTenant {
    ProvisionTenant {
        key: tenant_key(key),
        name: name(&format!("Tenant {key}")),
        plan: None,
        region: None,
        owner: None,
        metadata: Metadata::default(),
        namespaces: vec![],
    }
}

// The same value builders the storage contract uses.
pub use test_support::fixtures::{
    metadata, name, namespace_key, org_key, plan, reason, region, tenant_key,
};
