//! `NamespaceStore`: create, get and list within a tenant, update.

use domain::ports::DataScope;
use domain::ports::{StoreError, Unique};
use domain::{AuditAction, Namespace, NamespaceId, NamespaceRef};

use super::{ALL, namespaces_of, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, name, namespace_key};

pub async fn created_namespace_is_found_by_id_and_by_key_within_its_tenant(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = f.namespace(&acme.tenant, "acme-test");
    let audit = f.namespace_audit(&ns, AuditAction::NamespaceCreated);

    store
        .namespaces
        .create_namespace(&DataScope::Platform, &ns, &audit)
        .await
        .unwrap();

    let tenant = acme.tenant.id;
    let by_id = store
        .namespaces
        .get_namespace(&DataScope::Platform, tenant, &NamespaceRef::Id(ns.id))
        .await
        .unwrap();
    let by_key = store
        .namespaces
        .get_namespace(
            &DataScope::Platform,
            tenant,
            &NamespaceRef::Key(ns.key.clone()),
        )
        .await
        .unwrap();
    assert_eq!(by_id, Some(ns.clone()), "by id");
    assert_eq!(by_key, Some(ns.clone()), "by key");
    assert_eq!(trail(&store, &org).await.last(), Some(&audit));
}

pub async fn namespace_key_used_in_the_tenant_is_taken_and_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let trail_before = trail(&store, &org).await;
    let clash = f.namespace(&acme.tenant, "acme-live");

    let result = store
        .namespaces
        .create_namespace(
            &DataScope::Platform,
            &clash,
            &f.namespace_audit(&clash, AuditAction::NamespaceCreated),
        )
        .await;

    assert_eq!(result, Err(StoreError::Taken(Unique::NamespaceKey)));
    assert_eq!(
        store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                acme.tenant.id,
                &NamespaceRef::Id(clash.id)
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                acme.tenant.id,
                &NamespaceRef::Key(clash.key)
            )
            .await
            .unwrap(),
        Some(acme.namespaces[0].clone()),
        "the key still names the first namespace"
    );
    assert_eq!(namespaces_of(&store, acme.tenant.id).await, acme.namespaces);
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");
}

pub async fn the_same_namespace_key_is_allowed_in_another_tenant(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["shared-ns"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &[]).await;
    let theirs = f.namespace(&beta.tenant, "shared-ns");

    let result = store
        .namespaces
        .create_namespace(
            &DataScope::Platform,
            &theirs,
            &f.namespace_audit(&theirs, AuditAction::NamespaceCreated),
        )
        .await;

    assert_eq!(result, Ok(()));
    let key = NamespaceRef::Key(namespace_key("shared-ns"));
    assert_eq!(
        store
            .namespaces
            .get_namespace(&DataScope::Platform, acme.tenant.id, &key)
            .await
            .unwrap(),
        Some(acme.namespaces[0].clone())
    );
    assert_eq!(
        store
            .namespaces
            .get_namespace(&DataScope::Platform, beta.tenant.id, &key)
            .await
            .unwrap(),
        Some(theirs)
    );
}

pub async fn another_tenants_namespace_is_none_by_id_and_by_key(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let acme_ns = &acme.namespaces[0];

    let by_id = store
        .namespaces
        .get_namespace(
            &DataScope::Platform,
            beta.tenant.id,
            &NamespaceRef::Id(acme_ns.id),
        )
        .await
        .unwrap();
    let by_key = store
        .namespaces
        .get_namespace(
            &DataScope::Platform,
            beta.tenant.id,
            &NamespaceRef::Key(acme_ns.key.clone()),
        )
        .await
        .unwrap();
    let of_nobody = store
        .namespaces
        .get_namespace(
            &DataScope::Platform,
            beta.tenant.id,
            &NamespaceRef::Id(NamespaceId::from_uuid(f.id())),
        )
        .await
        .unwrap();

    assert_eq!(by_id, None, "another tenant's namespace id");
    assert_eq!(by_key, None, "another tenant's namespace key");
    assert_eq!(of_nobody, None, "an id nobody has");
}

pub async fn namespaces_are_listed_in_id_order_after_a_cursor_up_to_a_limit(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &[]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &[]).await;
    // Ids interleave between the two tenants; acme's are written out of order.
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for key in ["ns-a", "ns-b", "ns-c", "ns-d"] {
        ours.push(f.namespace(&acme.tenant, key));
        theirs.push(f.namespace(&beta.tenant, key));
    }
    for ns in [
        &ours[2], &theirs[0], &ours[0], &ours[3], &theirs[1], &ours[1],
    ] {
        store
            .namespaces
            .create_namespace(
                &DataScope::Platform,
                ns,
                &f.namespace_audit(ns, AuditAction::NamespaceCreated),
            )
            .await
            .unwrap();
    }

    let cases: [(Option<NamespaceId>, usize, &[Namespace]); 5] = [
        (None, ALL, &ours),
        (None, 2, &ours[..2]),
        (Some(ours[1].id), 1, &ours[2..3]),
        // Resuming after an id of the other tenant.
        (Some(theirs[1].id), ALL, &ours[2..]),
        (Some(ours[3].id), ALL, &[]),
    ];
    for (after, limit, expected) in cases {
        let got = store
            .namespaces
            .list_namespaces(&DataScope::Platform, acme.tenant.id, after, limit)
            .await
            .unwrap();
        assert_eq!(got, expected, "after {after:?}, limit {limit}");
    }
}

pub async fn updating_a_namespace_from_its_current_version_replaces_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let renamed = Namespace {
        name: name("Acme production"),
        updated_at: at(5),
        version: ns.version + 1,
        ..ns.clone()
    };

    store
        .namespaces
        .update_namespace(
            &DataScope::Platform,
            &renamed,
            &f.namespace_audit(&renamed, AuditAction::NamespaceUpdated),
        )
        .await
        .unwrap();

    assert_eq!(
        store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                acme.tenant.id,
                &NamespaceRef::Id(ns.id)
            )
            .await
            .unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(
        store
            .namespaces
            .get_namespace(
                &DataScope::Platform,
                acme.tenant.id,
                &NamespaceRef::Key(ns.key.clone())
            )
            .await
            .unwrap(),
        Some(renamed)
    );
}

pub async fn updating_a_namespace_from_a_stale_version_is_refused_and_writes_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let rename = |to: &str, version| Namespace {
        name: name(to),
        version,
        ..ns.clone()
    };
    // Two writers read version 1; the first one wins.
    let winner = rename("Winner", 2);
    store
        .namespaces
        .update_namespace(
            &DataScope::Platform,
            &winner,
            &f.namespace_audit(&winner, AuditAction::NamespaceUpdated),
        )
        .await
        .unwrap();
    let trail_before = trail(&store, &org).await;

    let missing = f.namespace(&acme.tenant, "acme-ghost");
    let stale = [
        ("the loser of the race", rename("Loser", 2)),
        ("a version that skips one", rename("Skipper", 4)),
        (
            "a namespace that does not exist",
            Namespace {
                version: 2,
                ..missing.clone()
            },
        ),
    ];
    for (what, write) in stale {
        let result = store
            .namespaces
            .update_namespace(
                &DataScope::Platform,
                &write,
                &f.namespace_audit(&write, AuditAction::NamespaceUpdated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
    }

    assert_eq!(namespaces_of(&store, acme.tenant.id).await, vec![winner]);
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");
}
