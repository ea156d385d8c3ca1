//! docs/api.md §2: provisioning is atomic and idempotent on the tenant key; regions
//! come from configuration.

use domain::ports::DataScope;
use std::sync::Arc;

use adapters_memory::MemoryStore;
use chrono::{DateTime, Utc};
use domain::ports::{Provisioning, StoreError, TenantStore};
use domain::{
    AuditAction, AuditRecord, Limit, Mode, NewNamespace, OrgRef, ProvisionError, ProvisionTenant,
    Region, Regions, Settings, Tenant, TenantFilter, TenantQuery, TenantRef, TenantSort,
    TenantStatus,
};

use crate::support::{
    App, admin, metadata, name, namespace_key, org_caller, org_key, org_key_actor, plan, region,
    spec, tenant_key,
};

fn live(key: &str) -> NewNamespace {
    NewNamespace {
        key: namespace_key(key),
        name: None,
        mode: Mode::Live,
    }
}

fn regions(rows: &[(&str, bool)]) -> Settings {
    let regions = rows
        .iter()
        .map(|(code, available)| Region {
            code: region(code),
            name: name(&code.to_uppercase()),
            available: *available,
        })
        .collect();
    Settings {
        regions: Regions::new(regions).expect("valid regions"),
        ..Settings::default()
    }
}

#[tokio::test]
async fn provisioning_creates_an_active_tenant_with_a_live_namespace_and_one_audit_record() {
    let app = App::new();
    let org = app.org("signstack").await;
    let now = app.now();
    let ctx = org_caller(&org).with_request_id("req-7");

    let done = app
        .tenancy
        .provision(&ctx, &OrgRef::Key(org_key("signstack")), spec("acme"))
        .await
        .unwrap();

    assert!(done.created);
    let tenant = &done.tenant;
    assert_eq!(tenant.org_id, org.id);
    assert_eq!(tenant.key.as_str(), "acme");
    assert_eq!(tenant.plan, plan("free"), "the default plan");
    assert_eq!(tenant.region, region("global"), "the default region");
    assert_eq!(tenant.lifecycle.status, TenantStatus::Active);
    assert_eq!(tenant.lifecycle.changed_by, org_key_actor());
    assert_eq!(tenant.lifecycle.changed_at, now);
    assert_eq!(tenant.lifecycle.reason, None);
    assert_eq!((tenant.created_at, tenant.version), (now, 1));
    let keys: Vec<_> = done
        .namespaces
        .iter()
        .map(|n| (n.key.as_str(), n.mode))
        .collect();
    assert_eq!(keys, vec![("acme-live", Mode::Live)]);
    assert_eq!(
        done.namespaces[0].name.as_str(),
        "acme-live",
        "named after its key"
    );
    assert_eq!(app.stored(tenant.id).await.as_ref(), Some(tenant));
    assert_eq!(app.stored_namespaces(tenant.id).await, done.namespaces);

    let trail = app.trail(&org, Some(tenant.id)).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, AuditAction::TenantProvisioned);
    assert_eq!(trail[0].actor, org_key_actor());
    assert_eq!(trail[0].request_id.as_deref(), Some("req-7"));
    assert_eq!(trail[0].at, now);
}

#[tokio::test]
async fn provisioning_keeps_the_namespaces_asked_for_in_order() {
    let app = App::new();
    let org = app.org("signstack").await;
    let request = ProvisionTenant {
        namespaces: vec![
            NewNamespace {
                key: namespace_key("acme-prod"),
                name: Some(name("Production")),
                mode: Mode::Live,
            },
            NewNamespace {
                key: namespace_key("acme-staging"),
                name: None,
                mode: Mode::Test,
            },
        ],
        ..spec("acme")
    };

    let done = app.provision(&org, request).await;

    let got: Vec<_> = done
        .namespaces
        .iter()
        .map(|n| (n.key.as_str(), n.name.as_str(), n.mode))
        .collect();
    assert_eq!(
        got,
        vec![
            ("acme-prod", "Production", Mode::Live),
            ("acme-staging", "acme-staging", Mode::Test),
        ]
    );
    assert_eq!(app.stored_namespaces(done.tenant.id).await, done.namespaces);
}

#[tokio::test]
async fn replaying_the_same_spec_returns_the_existing_tenant_and_writes_nothing() {
    let app = App::new();
    let org = app.org("signstack").await;
    let request = ProvisionTenant {
        plan: Some(plan("pro")),
        metadata: metadata(&[("crm", "0042")]),
        ..spec("acme")
    };
    let first = app.provision(&org, request.clone()).await;
    let trail_before = app.trail(&org, None).await;
    app.clock.advance(chrono::Duration::hours(3));

    let replay = app.provision(&org, request).await;

    assert!(!replay.created);
    assert_eq!(replay.tenant, first.tenant, "the same tenant, unchanged");
    assert_eq!(replay.namespaces, first.namespaces);
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");
}

#[tokio::test]
async fn spelling_out_the_defaults_equals_leaving_them_out() {
    let app = App::new();
    let org = app.org("signstack").await;
    let first = app.provision(&org, spec("acme")).await;
    let trail_before = app.trail(&org, None).await;

    let spelled_out = [
        (
            "region",
            ProvisionTenant {
                region: Some(region("global")),
                ..spec("acme")
            },
        ),
        (
            "plan",
            ProvisionTenant {
                plan: Some(plan("free")),
                ..spec("acme")
            },
        ),
        (
            "namespaces",
            ProvisionTenant {
                namespaces: vec![live("acme-live")],
                ..spec("acme")
            },
        ),
        (
            "all of them",
            ProvisionTenant {
                region: Some(region("global")),
                plan: Some(plan("free")),
                namespaces: vec![live("acme-live")],
                ..spec("acme")
            },
        ),
    ];
    for (what, request) in spelled_out {
        let replay = app
            .tenancy
            .provision(&admin(), &OrgRef::Id(org.id), request)
            .await;
        let replay = replay.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(!replay.created, "{what}");
        assert_eq!(replay.tenant.id, first.tenant.id, "{what}");
    }
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");
}

/// `NewNamespace::name` defaults to the key, and the provisioning digest is meant
/// to cover the request "with every default applied".
#[tokio::test]
async fn spelling_out_the_default_namespace_name_equals_leaving_it_out() {
    let app = App::new();
    let org = app.org("signstack").await;
    let first = app.provision(&org, spec("acme")).await;
    let named = ProvisionTenant {
        namespaces: vec![NewNamespace {
            name: Some(name("acme-live")),
            ..live("acme-live")
        }],
        ..spec("acme")
    };

    let replay = app
        .tenancy
        .provision(&admin(), &OrgRef::Id(org.id), named)
        .await;

    assert_eq!(
        replay.map(|p| (p.created, p.tenant.id)),
        Ok((false, first.tenant.id)),
        "the namespace gets that very name either way"
    );
}

#[tokio::test]
async fn a_different_spec_for_an_existing_key_conflicts_and_writes_nothing() {
    let app = App::with_settings(regions(&[("global", true), ("eu-west", true)]));
    let org = app.org("signstack").await;
    let first = app.provision(&org, spec("acme")).await;
    let trail_before = app.trail(&org, None).await;
    let owner = domain::Owner {
        user_id: domain::UserId::parse("user-1").unwrap(),
        email: domain::Email::parse("a@acme.example").unwrap(),
    };

    let conflicting = [
        (
            "name",
            ProvisionTenant {
                name: name("Acme Inc"),
                ..spec("acme")
            },
        ),
        (
            "plan",
            ProvisionTenant {
                plan: Some(plan("pro")),
                ..spec("acme")
            },
        ),
        (
            "region",
            ProvisionTenant {
                region: Some(region("eu-west")),
                ..spec("acme")
            },
        ),
        (
            "owner",
            ProvisionTenant {
                owner: Some(owner),
                ..spec("acme")
            },
        ),
        (
            "metadata",
            ProvisionTenant {
                metadata: metadata(&[("a", "b")]),
                ..spec("acme")
            },
        ),
        (
            "namespace mode",
            ProvisionTenant {
                namespaces: vec![NewNamespace {
                    mode: Mode::Test,
                    ..live("acme-live")
                }],
                ..spec("acme")
            },
        ),
        (
            "namespace key",
            ProvisionTenant {
                namespaces: vec![live("acme-prod")],
                ..spec("acme")
            },
        ),
        (
            "one namespace more",
            ProvisionTenant {
                namespaces: vec![live("acme-live"), live("acme-test")],
                ..spec("acme")
            },
        ),
    ];
    for (what, request) in conflicting {
        let result = app
            .tenancy
            .provision(&admin(), &OrgRef::Id(org.id), request)
            .await;
        assert_eq!(
            result,
            Err(ProvisionError::SpecConflict {
                key: first.tenant.key.clone(),
                existing: first.tenant.id,
            }),
            "another {what}"
        );
    }
    assert_eq!(
        app.stored(first.tenant.id).await,
        Some(first.tenant.clone())
    );
    assert_eq!(
        app.stored_namespaces(first.tenant.id).await,
        first.namespaces
    );
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");
}

#[tokio::test]
async fn a_key_used_in_another_org_is_taken() {
    let app = App::new();
    let signstack = app.org("signstack").await;
    let tigris = app.org("tigris").await;
    let first = app.provision(&signstack, spec("acme")).await;

    let result = app
        .tenancy
        .provision(&admin(), &OrgRef::Id(tigris.id), spec("acme"))
        .await;

    assert_eq!(
        result,
        Err(ProvisionError::KeyTaken(first.tenant.key.clone()))
    );
    assert_eq!(
        app.trail(&tigris, None).await.len(),
        1,
        "only the org's creation"
    );
}

#[tokio::test]
async fn a_deleted_tenants_key_stays_taken() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Deleted).await;
    let trail_before = app.trail(&org, None).await;

    let result = app
        .tenancy
        .provision(&admin(), &OrgRef::Id(org.id), spec("acme"))
        .await;

    assert_eq!(result, Err(ProvisionError::KeyTaken(tenant.key.clone())));
    assert_eq!(app.trail(&org, None).await, trail_before);
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
}

#[tokio::test]
async fn a_replay_finds_a_suspended_tenant_as_it_is() {
    let app = App::new();
    let org = app.org("signstack").await;
    let suspended = app.tenant_in(&org, "acme", TenantStatus::Suspended).await;

    let replay = app.provision(&org, spec("acme")).await;

    assert!(!replay.created);
    assert_eq!(replay.tenant, suspended);
}

/// The in-memory store, but every tenant read yields to the scheduler before it
/// answers: concurrent requests then all look for the key before any of them
/// writes it, the interleaving the idempotency rule is about.
struct SlowReads(Arc<MemoryStore>);

#[async_trait::async_trait]
impl TenantStore for SlowReads {
    async fn provision(&self, scope: &DataScope, p: &Provisioning) -> Result<(), StoreError> {
        self.0.provision(scope, p).await
    }

    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        let read = self.0.get_tenant(scope, tenant).await;
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        read
    }

    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.0.list_tenants(scope, query).await
    }

    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.0.update_tenant(scope, tenant, audit).await
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.0.retention_expired(now, limit).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_provisions_create_exactly_one_tenant() {
    let app = App::new();
    let org = app.org("signstack").await;
    let racing = app.tenancy_with(Arc::new(SlowReads(app.store.clone())));
    let start = Arc::new(tokio::sync::Barrier::new(50));

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let tenancy = racing.clone();
            let start = start.clone();
            let org = OrgRef::Id(org.id);
            tokio::spawn(async move {
                start.wait().await;
                tenancy.provision(&admin(), &org, spec("acme")).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            task.await
                .expect("no panic")
                .expect("every request succeeds"),
        );
    }

    let created = outcomes.iter().filter(|o| o.created).count();
    assert_eq!(created, 1, "exactly one request created the tenant");
    let id = outcomes[0].tenant.id;
    assert!(
        outcomes.iter().all(|o| o.tenant.id == id),
        "one tenant for all"
    );
    let inventory = app
        .tenancy
        .list_tenants(
            &admin(),
            None,
            TenantFilter::default(),
            TenantSort::CreatedAsc,
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(inventory.items.len(), 1);
    assert_eq!(inventory.items[0].id, id);
    assert_eq!(app.stored_namespaces(id).await.len(), 1);
    let provisioned = app
        .trail(&org, Some(id))
        .await
        .into_iter()
        .filter(|r| r.action == AuditAction::TenantProvisioned)
        .count();
    assert_eq!(provisioned, 1, "one audit record");
}

#[tokio::test]
async fn duplicate_namespace_keys_in_a_request_are_refused() {
    let app = App::new();
    let org = app.org("signstack").await;
    let request = ProvisionTenant {
        namespaces: vec![live("acme-live"), live("acme-test"), live("acme-live")],
        ..spec("acme")
    };

    let result = app
        .tenancy
        .provision(&admin(), &OrgRef::Id(org.id), request)
        .await;

    assert_eq!(
        result,
        Err(ProvisionError::DuplicateNamespace(namespace_key(
            "acme-live"
        )))
    );
    assert_eq!(
        app.tenancy
            .get_tenant(
                &admin(),
                &OrgRef::Id(org.id),
                &TenantRef::Key(tenant_key("acme"))
            )
            .await,
        Err(domain::TenantError::NotFound)
    );
}

#[tokio::test]
async fn provisioning_into_an_unknown_org_is_refused() {
    let app = App::new();
    app.org("signstack").await;

    let result = app
        .tenancy
        .provision(&admin(), &OrgRef::Key(org_key("nobody")), spec("acme"))
        .await;

    assert_eq!(result, Err(ProvisionError::OrgNotFound));
}

#[tokio::test]
async fn regions_must_be_configured_and_available() {
    let app = App::with_settings(regions(&[
        ("us-east", false),
        ("eu-west", true),
        ("ap-south", true),
    ]));
    let org = app.org("signstack").await;
    let trail_before = app.trail(&org, None).await;

    let refused = [
        ("mars-1", ProvisionError::UnknownRegion(region("mars-1"))),
        (
            "us-east",
            ProvisionError::RegionUnavailable(region("us-east")),
        ),
    ];
    for (code, error) in refused {
        let result = app
            .tenancy
            .provision(
                &admin(),
                &OrgRef::Id(org.id),
                ProvisionTenant {
                    region: Some(region(code)),
                    ..spec("acme")
                },
            )
            .await;
        assert_eq!(result, Err(error), "{code}");
    }
    assert_eq!(app.trail(&org, None).await, trail_before, "nothing stored");
    let listed = app
        .tenancy
        .list_tenants(
            &admin(),
            None,
            TenantFilter::default(),
            TenantSort::CreatedAsc,
            None,
            Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(listed.items, vec![], "nothing stored");

    let placed = app
        .provision(
            &org,
            ProvisionTenant {
                region: Some(region("ap-south")),
                ..spec("acme")
            },
        )
        .await;
    assert_eq!(placed.tenant.region, region("ap-south"));
    let defaulted = app.provision(&org, spec("beta")).await;
    assert_eq!(
        defaulted.tenant.region,
        region("eu-west"),
        "the first available region"
    );
}
