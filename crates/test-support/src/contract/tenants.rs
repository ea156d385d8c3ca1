//! `TenantStore`: provision, get, update (with the tombstone purge), retention.

use domain::ports::DataScope;
use domain::ports::{StoreError, Unique};
use domain::{AuditAction, NamespaceRef, Tenant, TenantRef, TenantStatus};

use super::{namespaces_of, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{
    Fixtures, at, deactivated, metadata, moved, name, namespace_key, plan, renamed, tenant_key,
    tombstone,
};

pub async fn provisioned_tenant_is_found_by_id_and_by_key_with_its_namespaces(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let p = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);

    store
        .tenants
        .provision(&DataScope::Platform, &p)
        .await
        .unwrap();

    let by_id = store
        .tenants
        .get_tenant(&DataScope::Platform, &TenantRef::Id(p.tenant.id))
        .await
        .unwrap();
    let by_key = store
        .tenants
        .get_tenant(&DataScope::Platform, &TenantRef::Key(p.tenant.key.clone()))
        .await
        .unwrap();
    assert_eq!(by_id, Some(p.tenant.clone()), "by id");
    assert_eq!(by_key, Some(p.tenant.clone()), "by key");
    assert_eq!(namespaces_of(&store, p.tenant.id).await, p.namespaces);
    let trail = trail(&store, &org).await;
    assert_eq!(trail.last(), Some(&p.audit), "the provisioning record");
    assert_eq!(trail.len(), 2, "org created, tenant provisioned");
}

pub async fn tenants_that_do_not_exist_are_none(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let unknown = f.tenant(&org, "umbrella");

    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(unknown.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(unknown.key))
            .await
            .unwrap(),
        None
    );
}

pub async fn provisioning_a_used_tenant_key_is_taken_and_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let first = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let trail_before = trail(&store, &org).await;
    let second = f.provisioning(&org, "acme", &["acme-other"]);

    let result = store.tenants.provision(&DataScope::Platform, &second).await;

    assert_eq!(result, Err(StoreError::Taken(Unique::TenantKey)));
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(second.tenant.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))
            .await
            .unwrap(),
        Some(first.tenant.clone()),
        "the key still names the first tenant"
    );
    assert_eq!(namespaces_of(&store, second.tenant.id).await, vec![]);
    assert_eq!(
        namespaces_of(&store, first.tenant.id).await,
        first.namespaces
    );
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");
}

pub async fn tenant_keys_are_unique_across_orgs(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let first = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let other_org = f.provisioning(&tigris, "acme", &["acme-live"]);

    let result = store
        .tenants
        .provision(&DataScope::Platform, &other_org)
        .await;

    assert_eq!(result, Err(StoreError::Taken(Unique::TenantKey)));
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))
            .await
            .unwrap(),
        Some(first.tenant)
    );
    assert_eq!(namespaces_of(&store, other_org.tenant.id).await, vec![]);
    assert_eq!(
        trail(&store, &tigris).await.len(),
        1,
        "only the org's creation"
    );
}

pub async fn duplicate_namespace_keys_in_one_provisioning_are_taken_and_write_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let trail_before = trail(&store, &org).await;
    let clashing = f.provisioning(&org, "acme", &["acme-live", "acme-test", "acme-live"]);

    let result = store
        .tenants
        .provision(&DataScope::Platform, &clashing)
        .await;

    assert_eq!(result, Err(StoreError::Taken(Unique::NamespaceKey)));
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(clashing.tenant.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))
            .await
            .unwrap(),
        None
    );
    assert_eq!(namespaces_of(&store, clashing.tenant.id).await, vec![]);
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");

    // Nothing of the failed attempt holds the key.
    let retry = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);
    assert_eq!(
        store.tenants.provision(&DataScope::Platform, &retry).await,
        Ok(()),
        "the key is still free"
    );
}

pub async fn a_tombstone_keeps_its_tenant_key(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let p = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let dead = tombstone(&p.tenant);
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await
        .unwrap();

    let again = f.provisioning(&org, "acme", &["acme-live"]);
    let result = store.tenants.provision(&DataScope::Platform, &again).await;

    assert_eq!(result, Err(StoreError::Taken(Unique::TenantKey)));
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))
            .await
            .unwrap(),
        Some(dead)
    );
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(again.tenant.id))
            .await
            .unwrap(),
        None
    );
}

pub async fn updating_a_tenant_from_its_current_version_replaces_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let p = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    // Every mutable field changes at once.
    let next = Tenant {
        name: name("Acme Holdings"),
        plan: plan("enterprise-2026"),
        owner: None,
        metadata: metadata(&[("tier", "platinum")]),
        ..moved(&p.tenant, TenantStatus::Suspended, at(5))
    };
    let audit = f.tenant_audit(&next, AuditAction::TenantSuspended);

    store
        .tenants
        .update_tenant(&DataScope::Platform, &next, &audit)
        .await
        .unwrap();

    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(p.tenant.id))
            .await
            .unwrap(),
        Some(next.clone())
    );
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(p.tenant.key))
            .await
            .unwrap(),
        Some(next)
    );
    assert_eq!(
        namespaces_of(&store, p.tenant.id).await,
        p.namespaces,
        "only a tombstone purges namespaces"
    );
}

pub async fn updating_a_tenant_from_a_stale_version_is_refused_and_writes_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let p = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    // Two writers read version 1; the first one wins.
    let winner = renamed(&p.tenant, "Winner");
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &winner,
            &f.tenant_audit(&winner, AuditAction::TenantUpdated),
        )
        .await
        .unwrap();
    let trail_before = trail(&store, &org).await;

    let stale = [
        ("the loser of the race", renamed(&p.tenant, "Loser")),
        (
            "a version that skips one",
            renamed(&renamed(&winner, "Skipper"), "Skipper"),
        ),
        (
            "a tombstone from the loser of the race",
            tombstone(&p.tenant),
        ),
    ];
    for (what, write) in stale {
        let result = store
            .tenants
            .update_tenant(
                &DataScope::Platform,
                &write,
                &f.tenant_audit(&write, AuditAction::TenantUpdated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
    }

    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(p.tenant.id))
            .await
            .unwrap(),
        Some(winner)
    );
    assert_eq!(namespaces_of(&store, p.tenant.id).await, p.namespaces);
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");
}

pub async fn a_tombstone_purges_the_tenants_namespaces_and_no_others(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live", "acme-test"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    // A namespace added after provisioning goes too.
    let extra = f.namespace(&acme.tenant, "acme-extra");
    store
        .namespaces
        .create_namespace(
            &DataScope::Platform,
            &extra,
            &f.namespace_audit(&extra, AuditAction::NamespaceCreated),
        )
        .await
        .unwrap();
    let dead = tombstone(&acme.tenant);

    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await
        .unwrap();

    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(dead.id))
            .await
            .unwrap(),
        Some(dead.clone())
    );
    assert_eq!(namespaces_of(&store, dead.id).await, vec![]);
    for ns in acme.namespaces.iter().chain([&extra]) {
        let by_id = store
            .namespaces
            .get_namespace(&DataScope::Platform, dead.id, &NamespaceRef::Id(ns.id))
            .await
            .unwrap();
        let by_key = store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                dead.id,
                &NamespaceRef::Key(ns.key.clone()),
            )
            .await
            .unwrap();
        assert_eq!((by_id, by_key), (None, None), "{} is purged", ns.key);
    }
    assert_eq!(
        namespaces_of(&store, beta.tenant.id).await,
        beta.namespaces,
        "another tenant keeps its namespaces"
    );
}

pub async fn a_stale_tombstone_purges_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let p = seed_tenant(&store, &f, &org, "acme", &["acme-live", "acme-test"]).await;
    let mut dead = tombstone(&p.tenant);
    dead.version += 1;

    let result = store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await;

    assert_eq!(result, Err(StoreError::Stale));
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(p.tenant.id))
            .await
            .unwrap(),
        Some(p.tenant.clone())
    );
    assert_eq!(namespaces_of(&store, p.tenant.id).await, p.namespaces);
    assert_eq!(
        store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                p.tenant.id,
                &NamespaceRef::Key(namespace_key("acme-test"))
            )
            .await
            .unwrap(),
        Some(p.namespaces[1].clone())
    );
}

/// Writes `next` over the stored `current` version with an audit record.
async fn write(store: &StorePorts, f: &Fixtures, next: &Tenant) {
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            next,
            &f.tenant_audit(next, AuditAction::TenantUpdated),
        )
        .await
        .expect("updating a tenant from its current version");
}

pub async fn retention_expired_lists_only_deactivated_tenants_whose_retention_ended(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let now = at(100);
    let mut due = Vec::new();
    type Change = fn(&Tenant) -> Tenant;
    let cases: [(&str, Change, bool); 6] = [
        ("ended-before", |t| deactivated(t, at(50)), true),
        ("ends-right-now", |t| deactivated(t, at(100)), true),
        ("ends-later", |t| deactivated(t, at(101)), false),
        (
            // Not deactivated, whatever its retention field says.
            "suspended",
            |t| {
                let mut next = moved(t, TenantStatus::Suspended, at(1));
                next.lifecycle.retention_ends_at = Some(at(10));
                next
            },
            false,
        ),
        ("active", Clone::clone, false),
        (
            "deleted",
            |t| {
                let mut next = tombstone(t);
                next.lifecycle.retention_ends_at = Some(at(10));
                next
            },
            false,
        ),
    ];
    for (key, change, expected_due) in cases {
        let p = seed_tenant(&store, &f, &org, key, &[]).await;
        let next = change(&p.tenant);
        if next != p.tenant {
            write(&store, &f, &next).await;
        }
        if expected_due {
            due.push(next);
        }
    }

    let expired = store.tenants.retention_expired(now, 10).await.unwrap();

    assert_eq!(expired, due);
}

pub async fn retention_expired_is_oldest_first_and_honours_the_limit(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    // Created (and so id-ordered) first, second, third; retention ends in
    // another order: the listing follows the retention end.
    let mut tenants = Vec::new();
    for (key, ends) in [("first", at(30)), ("second", at(10)), ("third", at(20))] {
        let p = seed_tenant(&store, &f, &org, key, &[]).await;
        let next = deactivated(&p.tenant, ends);
        write(&store, &f, &next).await;
        tenants.push(next);
    }
    let [first, second, third] = [&tenants[0], &tenants[1], &tenants[2]].map(Clone::clone);

    let cases = [
        (
            at(60),
            10,
            vec![second.clone(), third.clone(), first.clone()],
        ),
        (at(60), 2, vec![second.clone(), third.clone()]),
        (at(20), 10, vec![second.clone(), third.clone()]),
        (at(9), 10, vec![]),
    ];
    for (now, limit, expected) in cases {
        let got = store.tenants.retention_expired(now, limit).await.unwrap();
        let keys = |ts: &[Tenant]| ts.iter().map(|t| t.key.to_string()).collect::<Vec<_>>();
        assert_eq!(keys(&got), keys(&expected), "at {now}, limit {limit}");
        assert_eq!(got, expected);
    }
}
