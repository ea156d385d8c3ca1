//! Resources and their versions: history, stale writes, the per-tenant limit,
//! isolation between tenants.

use super::*;

pub async fn resource_versions_are_stored_with_their_history_and_the_greatest_is_latest(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let first = f.resource(ns, "welcome", "1.0.0", r#"{"v":1}"#);
    let second = f.resource(ns, "welcome", "1.10.0", r#"{"v":2}"#);
    let other = f.resource(ns, "another", "0.1.0", "[]");
    store_resource(&store, &f, &first, None).await;
    store_resource(&store, &f, &second, Some("1.0.0")).await;
    store_resource(&store, &f, &other, None).await;

    let scope = tenant_scope(ns);
    let lib = &store.library;
    let key = &first.key;
    let history = lib.resource_history(&scope, ns.id, key).await.unwrap();
    assert_eq!(versions(&history), ["1.0.0", "1.10.0"]);
    assert_eq!(history[0].digest, first.content.digest());
    assert_eq!(
        lib.get_resource(&scope, ns.id, key, None).await.unwrap(),
        Some(second.clone()),
        "the greatest version is the latest"
    );
    assert_eq!(
        lib.get_resource(&scope, ns.id, key, Some(semver("1.0.0")))
            .await
            .unwrap(),
        Some(first.clone()),
        "every version stays readable, content and all"
    );
    assert_eq!(
        lib.get_resource(&scope, ns.id, key, Some(semver("1.5.0")))
            .await
            .unwrap(),
        None
    );
    let listed = lib.list_resources(&scope, ns.id, None, ALL).await.unwrap();
    assert_eq!(
        listed,
        vec![other.clone(), second.clone()],
        "latest of each, key order"
    );
    let after = lib
        .list_resources(&scope, ns.id, Some(other.key.clone()), 1)
        .await
        .unwrap();
    assert_eq!(after, vec![second]);
    let audited = trail(&store, &org).await;
    assert_eq!(
        audited
            .iter()
            .filter(|r| r.action == AuditAction::ResourceCreated)
            .count(),
        3,
        "each version stored wrote its audit record"
    );
}

pub async fn a_resource_version_that_exists_or_follows_a_stale_latest_writes_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let scope = tenant_scope(ns);
    store_resource(&store, &f, &f.resource(ns, "welcome", "1.0.0", "{}"), None).await;
    store_resource(
        &store,
        &f,
        &f.resource(ns, "welcome", "1.1.0", "{}"),
        Some("1.0.0"),
    )
    .await;
    let trail_before = trail(&store, &org).await;

    let again = f.resource(ns, "welcome", "1.1.0", r#"{"other":true}"#);
    let taken = store
        .library
        .create_resource(
            &scope,
            &again,
            Some(semver("1.1.0")),
            10,
            &f.resource_audit(&again),
        )
        .await;
    assert_eq!(taken, Err(StoreError::Taken(Unique::Version)));
    let stale = f.resource(ns, "welcome", "2.0.0", "{}");
    for after in [Some("1.0.0"), None] {
        let result = store
            .library
            .create_resource(
                &scope,
                &stale,
                after.map(semver),
                10,
                &f.resource_audit(&stale),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "after {after:?}");
    }
    let history = store
        .library
        .resource_history(&scope, ns.id, &stale.key)
        .await
        .unwrap();
    assert_eq!(versions(&history), ["1.0.0", "1.1.0"]);
    assert_eq!(trail(&store, &org).await, trail_before);
}

pub async fn the_resource_limit_counts_distinct_keys_over_the_whole_tenant(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live", "acme-test"]).await;
    let other = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let (live, test) = (&acme.namespaces[0], &acme.namespaces[1]);
    let write = async |r: &Resource, after: Option<&str>, max: u64| {
        store
            .library
            .create_resource(
                &tenant_scope(live),
                r,
                after.map(semver),
                max,
                &f.resource_audit(r),
            )
            .await
    };
    assert_eq!(
        write(&f.resource(live, "one", "1.0.0", "{}"), None, 2).await,
        Ok(())
    );
    assert_eq!(
        write(&f.resource(test, "two", "1.0.0", "{}"), None, 2).await,
        Ok(())
    );
    // A new version of a resource is no new resource.
    assert_eq!(
        write(&f.resource(live, "one", "1.1.0", "{}"), Some("1.0.0"), 2).await,
        Ok(())
    );
    assert_eq!(
        write(&f.resource(test, "three", "1.0.0", "{}"), None, 2).await,
        Err(StoreError::LimitReached { used: 2 })
    );
    // Another tenant counts on its own.
    let theirs = f.resource(&other.namespaces[0], "one", "1.0.0", "{}");
    store
        .library
        .create_resource(
            &tenant_scope(&other.namespaces[0]),
            &theirs,
            None,
            1,
            &f.resource_audit(&theirs),
        )
        .await
        .unwrap();
    let listed = store
        .library
        .list_resources(&tenant_scope(test), test.id, None, ALL)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "the refused resource was not stored");
}

pub async fn another_tenants_resources_and_installs_are_invisible_and_untouchable(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let (mine, theirs) = (&acme.namespaces[0], &beta.namespaces[0]);
    let secret = f.resource(theirs, "plan", "1.0.0", r#"{"secret":1}"#);
    store_resource(&store, &f, &secret, None).await;
    let listing = f.listing(&org, "standard_nda", "1.0.0", vec![grant_all(&org)]);
    publish(&store, &f, &listing, "{}").await;
    let their_install = f.install(theirs, &listing, "1.0.0");
    install(&store, &f, &their_install).await;

    let lib = &store.library;
    let me = tenant_scope(mine);
    assert_eq!(
        lib.get_resource(&me, theirs.id, &secret.key, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        lib.resource_history(&me, theirs.id, &secret.key)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        lib.list_resources(&me, theirs.id, None, ALL).await.unwrap(),
        vec![]
    );
    let by_key = ListingRef::Key(listing.key.clone());
    assert_eq!(
        lib.get_install(&me, theirs.id, &by_key).await.unwrap(),
        None
    );
    assert_eq!(
        lib.list_installs(&me, theirs.id, None, ALL).await.unwrap(),
        vec![]
    );

    let trail_before = trail(&store, &org).await;
    let planted = f.resource(theirs, "planted", "1.0.0", "{}");
    assert_eq!(
        lib.create_resource(&me, &planted, None, 10, &f.resource_audit(&planted))
            .await,
        Err(StoreError::OutOfScope)
    );
    let upgraded = Install {
        pinned: semver("2.0.0"),
        version: 2,
        ..their_install.clone()
    };
    let upgrade = lib
        .update_install(
            &me,
            &upgraded,
            &f.install_audit(&upgraded, AuditAction::InstallUpgraded),
        )
        .await;
    assert!(
        matches!(upgrade, Err(StoreError::Stale | StoreError::OutOfScope)),
        "{upgrade:?}"
    );
    assert_eq!(trail(&store, &org).await, trail_before);
    assert_eq!(
        lib.get_install(&tenant_scope(theirs), theirs.id, &by_key)
            .await
            .unwrap(),
        Some(their_install)
    );
}
