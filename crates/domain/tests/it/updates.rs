//! Tenant updates outside the lifecycle: name, plan, metadata (merge-patch) and
//! owner, each audited with what changed.

use std::collections::BTreeMap;

use domain::{
    AuditAction, Change, Email, OrgRef, Owner, TenantError, TenantPatch, TenantRef, TenantStatus,
    UserId,
};

use crate::support::{App, admin, metadata, name, plan, spec};

fn merge(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn an_update_changes_name_plan_and_metadata_and_records_each_change() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app
        .provision(
            &org,
            domain::ProvisionTenant {
                metadata: metadata(&[("tier", "gold"), ("crm", "0042")]),
                ..spec("acme")
            },
        )
        .await
        .tenant;
    app.clock.advance(chrono::Duration::minutes(10));
    let patch = TenantPatch {
        name: Some(name("Acme Holdings")),
        plan: Some(plan("pro")),
        metadata: merge(&[
            ("tier", Some("platinum")),
            ("crm", None),
            ("region", Some("dach")),
        ]),
    };

    let updated = app
        .tenancy
        .update_tenant(
            &admin(),
            &OrgRef::Id(org.id),
            &TenantRef::Id(tenant.id),
            patch,
        )
        .await
        .unwrap();

    assert_eq!(updated.name, name("Acme Holdings"));
    assert_eq!(updated.plan, plan("pro"));
    assert_eq!(
        updated.metadata,
        metadata(&[("region", "dach"), ("tier", "platinum")])
    );
    assert_eq!(
        (updated.id, &updated.key),
        (tenant.id, &tenant.key),
        "identity is kept"
    );
    assert_eq!(updated.version, tenant.version + 1);
    assert_eq!(updated.updated_at, app.now());
    assert_eq!(
        updated.lifecycle, tenant.lifecycle,
        "the lifecycle is not touched"
    );
    assert_eq!(app.stored(tenant.id).await, Some(updated));
    let record = app.trail(&org, Some(tenant.id)).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::TenantUpdated);
    let fields: Vec<_> = record.details.changes().iter().map(|c| c.field).collect();
    assert_eq!(fields, ["name", "plan", "metadata"]);
    assert_eq!(
        record.details.changes()[0],
        Change {
            field: "name",
            from: Some("Tenant acme".into()),
            to: Some("Acme Holdings".into()),
        }
    );
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let trail_before = app.trail(&org, None).await;
    let no_ops = [
        ("an empty patch", TenantPatch::default()),
        (
            "the same name and plan",
            TenantPatch {
                name: Some(tenant.name.clone()),
                plan: Some(tenant.plan.clone()),
                ..TenantPatch::default()
            },
        ),
        (
            "removing a key that is not there",
            TenantPatch {
                metadata: merge(&[("absent", None)]),
                ..TenantPatch::default()
            },
        ),
    ];

    for (what, patch) in no_ops {
        let result = app
            .tenancy
            .update_tenant(
                &admin(),
                &OrgRef::Id(org.id),
                &TenantRef::Id(tenant.id),
                patch,
            )
            .await;
        assert_eq!(result, Ok(tenant.clone()), "{what}");
    }
    assert_eq!(app.trail(&org, None).await, trail_before);
}

#[tokio::test]
async fn metadata_over_the_limits_is_refused_and_nothing_is_written() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let trail_before = app.trail(&org, None).await;
    let too_many: Vec<String> = (0..65).map(|i| format!("k{i}")).collect();
    let patches = [
        (
            "65 keys",
            too_many
                .iter()
                .map(|k| (k.clone(), Some("v".to_owned())))
                .collect(),
        ),
        (
            "over 4 KiB",
            BTreeMap::from([("blob".to_owned(), Some("x".repeat(4093)))]),
        ),
        (
            "a key with a space",
            BTreeMap::from([("a key".to_owned(), Some("v".to_owned()))]),
        ),
    ];

    for (what, metadata) in patches {
        let patch = TenantPatch {
            name: Some(name("Would Change")),
            metadata,
            ..TenantPatch::default()
        };
        let result = app
            .tenancy
            .update_tenant(
                &admin(),
                &OrgRef::Id(org.id),
                &TenantRef::Id(tenant.id),
                patch,
            )
            .await;
        assert!(
            matches!(result, Err(TenantError::InvalidMetadata(_))),
            "{what}: {result:?}"
        );
    }
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
    assert_eq!(app.trail(&org, None).await, trail_before);
}

#[tokio::test]
async fn a_new_owner_is_recorded_and_audited() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", TenantStatus::Active).await;
    let owner = Owner {
        user_id: UserId::parse("user-9").unwrap(),
        email: Email::parse("new-owner@acme.example").unwrap(),
    };
    let target = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));

    let updated = app
        .tenancy
        .set_owner(&admin(), &target.0, &target.1, owner.clone())
        .await
        .unwrap();
    let trail_len = app.trail(&org, None).await.len();
    let again = app
        .tenancy
        .set_owner(&admin(), &target.0, &target.1, owner.clone())
        .await;

    assert_eq!(updated.owner, Some(owner));
    assert_eq!(
        again,
        Ok(updated.clone()),
        "the same owner again is a no-op"
    );
    assert_eq!(
        app.trail(&org, None).await.len(),
        trail_len,
        "and is not audited"
    );
    let record = app.trail(&org, Some(tenant.id)).await.pop().unwrap();
    assert_eq!(record.action, AuditAction::TenantOwnerChanged);
    assert_eq!(
        record.details.changes(),
        vec![Change {
            field: "owner",
            from: None,
            to: Some("user-9".into()),
        }]
    );
}
