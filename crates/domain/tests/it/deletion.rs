//! Deleting a tenant and the retention job: the delete confirmation, the
//! tombstone left behind, and the purge of tenants past their retention period.

use chrono::Duration;
use domain::{
    Actor, ActorKind, AuditAction, LifecycleAction as A, OrgRef, Owner, TenantError, TenantFilter,
    TenantPatch, TenantRef, TenantSort, TenantStatus as S, UserId,
};

use crate::lifecycle::act;
use crate::support::{App, admin, metadata, name, reason, spec};

#[tokio::test]
async fn delete_needs_the_tenant_key_as_confirmation_and_writes_nothing_without_it() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", S::Deactivated).await;
    let namespaces = app.stored_namespaces(tenant.id).await;
    let trail_before = app.trail(&org, None).await;
    let (org_ref, target) = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));
    let id = tenant.id.to_string();

    for wrong in [
        "",
        "ACME",
        "acme ",
        " acme",
        "acm",
        "acme-live",
        "signstack",
        &id,
    ] {
        let result = app
            .tenancy
            .delete_tenant(&admin(), &org_ref, &target, wrong, None)
            .await;
        assert_eq!(result, Err(TenantError::ConfirmationMismatch), "{wrong:?}");
    }
    assert_eq!(app.stored(tenant.id).await, Some(tenant.clone()));
    assert_eq!(app.stored_namespaces(tenant.id).await, namespaces);
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");

    let deleted = app
        .tenancy
        .delete_tenant(&admin(), &org_ref, &target, "acme", None)
        .await;
    assert_eq!(deleted.map(|t| t.lifecycle.status), Ok(S::Deleted));
}

#[tokio::test]
async fn deleting_leaves_a_tombstone_and_purges_the_namespaces() {
    let app = App::new();
    let org = app.org("signstack").await;
    let owner = Owner {
        user_id: UserId::parse("user-7").unwrap(),
        email: domain::Email::parse("ceo@acme.example").unwrap(),
    };
    let provisioned = app
        .provision(
            &org,
            domain::ProvisionTenant {
                owner: Some(owner.clone()),
                metadata: metadata(&[("crm", "0042")]),
                ..spec("acme")
            },
        )
        .await;
    let tenant = provisioned.tenant;
    let (org_ref, target) = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));
    app.tenancy
        .transition(
            &admin(),
            &org_ref,
            &target,
            A::Deactivate,
            reason("churned"),
        )
        .await
        .unwrap();
    app.clock.advance(Duration::days(1));
    let now = app.now();

    let tombstone = app
        .tenancy
        .delete_tenant(
            &admin(),
            &org_ref,
            &target,
            "acme",
            Some(reason("gdpr request")),
        )
        .await
        .unwrap();

    assert_eq!(tombstone.id, tenant.id);
    assert_eq!(tombstone.key, tenant.key);
    assert_eq!(tombstone.org_id, org.id);
    assert_eq!(
        tombstone.name.as_str(),
        "acme",
        "the name is purged to the key"
    );
    assert_eq!(tombstone.owner, None);
    assert!(tombstone.metadata.is_empty());
    assert_eq!(tombstone.lifecycle.status, S::Deleted);
    assert_eq!(tombstone.lifecycle.changed_at, now);
    assert_eq!(tombstone.lifecycle.changed_by, Actor::platform_admin());
    assert_eq!(
        tombstone.lifecycle.reason, None,
        "the free-text reason stays only in the sealed audit record"
    );
    assert_eq!(tombstone.lifecycle.retention_ends_at, None);
    assert_eq!(
        app.tenancy.get_tenant(&admin(), &org_ref, &target).await,
        Ok(tombstone.clone())
    );
    assert_eq!(app.stored_namespaces(tenant.id).await, vec![], "purged");
    assert_eq!(
        app.tenancy
            .get_namespace(
                &admin(),
                &org_ref,
                &target,
                &domain::NamespaceRef::Id(provisioned.namespaces[0].id)
            )
            .await,
        Err(domain::NamespaceError::TenantNotFound)
    );

    // The deletion is audited, its reason sealed with the key it destroyed.
    let record = app.trail(&org, None).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::TenantDeleted);
    assert_eq!(record.target_id, tenant.id.as_uuid());
    assert_eq!(record.details, domain::AuditDetails::Shredded);

    // A tombstone cannot change any more.
    let patch = TenantPatch {
        name: Some(name("Back")),
        ..TenantPatch::default()
    };
    assert_eq!(
        app.tenancy
            .update_tenant(&admin(), &org_ref, &target, patch)
            .await,
        Err(TenantError::Deleted)
    );
    assert_eq!(
        app.tenancy
            .set_owner(&admin(), &org_ref, &target, owner)
            .await,
        Err(TenantError::Deleted)
    );
    assert_eq!(app.stored(tenant.id).await, Some(tombstone));
}

#[tokio::test]
async fn purge_deletes_only_tenants_past_retention_as_the_system() {
    let app = App::new();
    let org = app.org("signstack").await;
    let t0 = app.now();
    let expiring = app.tenant_in(&org, "expiring", S::Deactivated).await;
    let restored = app.tenant_in(&org, "restored", S::Deactivated).await;
    let redeactivated = app.tenant_in(&org, "again", S::Deactivated).await;
    let active = app.tenant_in(&org, "active", S::Active).await;
    let suspended = app.tenant_in(&org, "paused", S::Suspended).await;
    app.clock.advance(Duration::days(10));
    let later = app.tenant_in(&org, "later", S::Deactivated).await;
    app.clock.advance(Duration::days(5));
    act(&app, &admin(), &restored, A::Restore, "paid")
        .await
        .unwrap();
    let back = act(&app, &admin(), &redeactivated, A::Restore, "paid")
        .await
        .unwrap();
    app.clock.advance(Duration::days(5));
    act(&app, &admin(), &back, A::Deactivate, "left again")
        .await
        .unwrap();
    app.clock
        .set(t0 + Duration::days(30) - Duration::seconds(1));
    assert_eq!(
        app.tenancy.purge_expired_tenants(100).await,
        Ok(0),
        "a second early"
    );

    app.clock.set(t0 + Duration::days(30));
    let now = app.now();
    assert_eq!(
        app.tenancy.purge_expired_tenants(100).await,
        Ok(1),
        "on the dot"
    );

    let purged = app.stored(expiring.id).await.unwrap();
    assert_eq!(purged.lifecycle.status, S::Deleted);
    assert_eq!(purged.lifecycle.changed_by, Actor::system("retention"));
    assert_eq!(purged.lifecycle.changed_by.kind, ActorKind::System);
    assert_eq!(purged.lifecycle.changed_at, now);
    // Who deleted it says why; a tombstone keeps no free text.
    assert_eq!(purged.lifecycle.reason, None);
    assert_eq!(app.stored_namespaces(expiring.id).await, vec![]);
    let record = app.trail(&org, Some(expiring.id)).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::TenantDeleted);
    assert_eq!(record.actor, Actor::system("retention"));
    assert_eq!(record.at, now);

    assert_eq!(
        app.status(later.id).await,
        S::Deactivated,
        "retention not over"
    );
    assert_eq!(
        app.status(restored.id).await,
        S::Active,
        "restored in between"
    );
    assert_eq!(
        app.status(redeactivated.id).await,
        S::Deactivated,
        "retention restarted"
    );
    assert_eq!(app.status(active.id).await, S::Active);
    assert_eq!(app.status(suspended.id).await, S::Suspended);

    app.clock.set(t0 + Duration::days(40));
    assert_eq!(app.tenancy.purge_expired_tenants(100).await, Ok(1));
    assert_eq!(app.status(later.id).await, S::Deleted);
    assert_eq!(
        app.status(redeactivated.id).await,
        S::Deactivated,
        "ends on day 50"
    );

    app.clock.set(t0 + Duration::days(50));
    assert_eq!(app.tenancy.purge_expired_tenants(100).await, Ok(1));
    assert_eq!(app.status(redeactivated.id).await, S::Deleted);
    assert_eq!(app.status(restored.id).await, S::Active, "never purged");

    assert_eq!(
        app.tenancy.purge_expired_tenants(100).await,
        Ok(0),
        "nothing left"
    );
    for spared in [&restored, &active, &suspended] {
        let trail = app.trail(&org, Some(spared.id)).await;
        assert!(
            trail.iter().all(|r| r.actor != Actor::system("retention")),
            "the job never touched {}",
            spared.key
        );
    }
}

#[tokio::test]
async fn purge_deletes_at_most_a_batch_per_run() {
    let app = App::new();
    let org = app.org("signstack").await;
    for key in ["one", "two", "three"] {
        app.tenant_in(&org, key, S::Deactivated).await;
    }
    app.clock.advance(Duration::days(31));

    assert_eq!(app.tenancy.purge_expired_tenants(2).await, Ok(2));
    assert_eq!(app.tenancy.purge_expired_tenants(2).await, Ok(1));
    assert_eq!(app.tenancy.purge_expired_tenants(2).await, Ok(0));
    let tombstones = app
        .tenancy
        .list_tenants(
            &admin(),
            None,
            TenantFilter {
                status: Some(S::Deleted),
                ..TenantFilter::default()
            },
            TenantSort::CreatedAsc,
            None,
            domain::Limit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(tombstones.items.len(), 3);
}
