//! Namespaces: created and renamed only in active tenants, keys unique within a
//! tenant, never reachable through another tenant.

use domain::{
    AuditAction, Change, Limit, Mode, NamespaceError, NamespacePatch, NamespaceRef, NewNamespace,
    OrgRef, TenantRef, TenantStatus,
};

use crate::support::{App, admin, name, namespace_key, org_caller, org_key_actor};

fn new(key: &str, mode: Mode) -> NewNamespace {
    NewNamespace {
        key: namespace_key(key),
        name: None,
        mode,
    }
}

fn refs(tenant: &domain::Tenant) -> (OrgRef, TenantRef) {
    (OrgRef::Id(tenant.org_id), TenantRef::Id(tenant.id))
}

#[tokio::test]
async fn a_namespace_is_created_in_an_active_tenant_and_audited() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let (org_ref, target) = refs(&tenant);
    let ctx = org_caller(&org);

    let ns = app
        .tenancy
        .create_namespace(&ctx, &org_ref, &target, new("acme-staging", Mode::Test))
        .await
        .unwrap();

    assert_eq!(ns.tenant_id, tenant.id);
    assert_eq!(ns.org_id, org.id);
    assert_eq!(ns.name.as_str(), "acme-staging", "named after its key");
    assert_eq!(ns.mode, Mode::Test);
    assert_eq!(ns.version, 1);
    assert_eq!(
        app.tenancy
            .get_namespace(
                &admin(),
                &org_ref,
                &target,
                &NamespaceRef::Key(ns.key.clone())
            )
            .await,
        Ok(ns.clone())
    );
    let record = app.trail(&org, Some(tenant.id)).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::NamespaceCreated);
    assert_eq!(record.target_id, ns.id.as_uuid());
    assert_eq!(record.actor, org_key_actor());
}

#[tokio::test]
async fn namespaces_are_refused_in_tenants_that_are_not_active() {
    let app = App::new();
    let org = app.org("signstack").await;
    let cases = [
        (
            TenantStatus::Suspended,
            NamespaceError::TenantNotActive(TenantStatus::Suspended),
        ),
        (
            TenantStatus::Deactivated,
            NamespaceError::TenantNotActive(TenantStatus::Deactivated),
        ),
        (TenantStatus::Deleted, NamespaceError::TenantNotFound),
    ];
    for (status, error) in cases {
        let tenant = app
            .tenant_in(&org, &format!("t-{}", status.as_str()), status)
            .await;
        let (org_ref, target) = refs(&tenant);
        let trail_before = app.trail(&org, None).await;
        let namespaces_before = app.stored_namespaces(tenant.id).await;

        let result = app
            .tenancy
            .create_namespace(&admin(), &org_ref, &target, new("extra-ns", Mode::Live))
            .await;

        assert_eq!(result, Err(error), "{status}");
        assert_eq!(
            app.stored_namespaces(tenant.id).await,
            namespaces_before,
            "{status}"
        );
        assert_eq!(
            app.trail(&org, None).await,
            trail_before,
            "{status}: no audit"
        );
    }
}

#[tokio::test]
async fn a_namespace_key_is_taken_within_its_tenant_but_free_in_another() {
    let app = App::new();
    let org = app.org("signstack").await;
    let acme = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let beta = app.tenant_in(&org, "beta", TenantStatus::Active).await;
    let (org_ref, acme_ref) = refs(&acme);
    let beta_ref = TenantRef::Id(beta.id);

    let first = app
        .tenancy
        .create_namespace(&admin(), &org_ref, &acme_ref, new("shared", Mode::Live))
        .await
        .unwrap();
    let trail_before = app.trail(&org, None).await;
    for key in ["shared", "acme-live"] {
        let again = app
            .tenancy
            .create_namespace(&admin(), &org_ref, &acme_ref, new(key, Mode::Test))
            .await;
        assert_eq!(
            again,
            Err(NamespaceError::KeyTaken(namespace_key(key))),
            "{key}"
        );
    }
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");

    let theirs = app
        .tenancy
        .create_namespace(&admin(), &org_ref, &beta_ref, new("shared", Mode::Live))
        .await
        .unwrap();

    assert_ne!(theirs.id, first.id);
    let shared = NamespaceRef::Key(namespace_key("shared"));
    assert_eq!(
        app.tenancy
            .get_namespace(&admin(), &org_ref, &acme_ref, &shared)
            .await,
        Ok(first)
    );
    assert_eq!(
        app.tenancy
            .get_namespace(&admin(), &org_ref, &beta_ref, &shared)
            .await,
        Ok(theirs)
    );
}

#[tokio::test]
async fn renaming_a_namespace_keeps_its_id_key_and_mode_and_is_audited() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let (org_ref, target) = refs(&tenant);
    let ns = app.stored_namespaces(tenant.id).await.remove(0);
    app.clock.advance(chrono::Duration::minutes(5));
    let patch = NamespacePatch {
        name: Some(name("Production")),
    };

    let renamed = app
        .tenancy
        .update_namespace(
            &admin(),
            &org_ref,
            &target,
            &NamespaceRef::Id(ns.id),
            patch.clone(),
        )
        .await
        .unwrap();

    assert_eq!(renamed.name.as_str(), "Production");
    assert_eq!(
        (renamed.id, &renamed.key, renamed.mode),
        (ns.id, &ns.key, ns.mode)
    );
    assert_eq!(renamed.version, ns.version + 1);
    assert_eq!(renamed.updated_at, app.now());
    let record = app.trail(&org, Some(tenant.id)).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::NamespaceUpdated);
    assert_eq!(record.target_id, ns.id.as_uuid());
    assert_eq!(
        record.details.changes(),
        vec![Change {
            field: "name",
            from: Some("acme-live".to_owned()),
            to: Some("Production".to_owned()),
        }]
    );

    // The same name again changes nothing and records nothing.
    let trail_before = app.trail(&org, None).await;
    let again = app
        .tenancy
        .update_namespace(&admin(), &org_ref, &target, &NamespaceRef::Id(ns.id), patch)
        .await;
    assert_eq!(again, Ok(renamed));
    assert_eq!(app.trail(&org, None).await, trail_before);
}

#[tokio::test]
async fn renaming_a_namespace_of_a_suspended_tenant_is_refused() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Suspended).await;
    let (org_ref, target) = refs(&tenant);
    let ns = app.stored_namespaces(tenant.id).await.remove(0);

    let result = app
        .tenancy
        .update_namespace(
            &admin(),
            &org_ref,
            &target,
            &NamespaceRef::Id(ns.id),
            NamespacePatch {
                name: Some(name("Renamed")),
            },
        )
        .await;

    assert_eq!(
        result,
        Err(NamespaceError::TenantNotActive(TenantStatus::Suspended))
    );
    assert_eq!(app.stored_namespaces(tenant.id).await, vec![ns]);
}

#[tokio::test]
async fn a_namespace_is_not_found_through_another_tenant() {
    let app = App::new();
    let signstack = app.org("signstack").await;
    let tigris = app.org("tigris").await;
    let acme = app
        .tenant_in(&signstack, "acme", TenantStatus::Active)
        .await;
    let beta = app
        .tenant_in(&signstack, "beta", TenantStatus::Active)
        .await;
    let omega = app.tenant_in(&tigris, "omega", TenantStatus::Active).await;
    let acme_ns = app.stored_namespaces(acme.id).await.remove(0);
    let org_ref = OrgRef::Id(signstack.id);
    let beta_ref = TenantRef::Id(beta.id);

    for ns in [
        NamespaceRef::Id(acme_ns.id),
        NamespaceRef::Key(acme_ns.key.clone()),
    ] {
        assert_eq!(
            app.tenancy
                .get_namespace(&admin(), &org_ref, &beta_ref, &ns)
                .await,
            Err(NamespaceError::NotFound),
            "{ns:?} through beta"
        );
        let rename = app
            .tenancy
            .update_namespace(
                &admin(),
                &org_ref,
                &beta_ref,
                &ns,
                NamespacePatch {
                    name: Some(name("Hijacked")),
                },
            )
            .await;
        assert_eq!(
            rename,
            Err(NamespaceError::NotFound),
            "{ns:?} renamed through beta"
        );
    }
    // A tenant of another org is not found at all through this org.
    assert_eq!(
        app.tenancy
            .get_namespace(
                &admin(),
                &org_ref,
                &TenantRef::Id(omega.id),
                &NamespaceRef::Id(acme_ns.id)
            )
            .await,
        Err(NamespaceError::TenantNotFound)
    );
    assert_eq!(app.stored_namespaces(acme.id).await, vec![acme_ns]);
}

#[tokio::test]
async fn namespaces_page_in_creation_order() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let (org_ref, target) = refs(&tenant);
    for key in ["ns-b", "ns-a", "ns-d", "ns-c"] {
        app.tenancy
            .create_namespace(&admin(), &org_ref, &target, new(key, Mode::Live))
            .await
            .unwrap();
    }

    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .tenancy
            .list_namespaces(
                &admin(),
                &org_ref,
                &target,
                cursor.as_ref(),
                Limit::new(2).unwrap(),
            )
            .await
            .unwrap();
        keys.extend(page.items.iter().map(|n| n.key.as_str().to_owned()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(keys, ["acme-live", "ns-b", "ns-a", "ns-d", "ns-c"]);
}
