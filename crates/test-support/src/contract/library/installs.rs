//! Installs and upgrades; library writes for a tenant that is not active; what a
//! tombstone purges.

use super::*;

pub async fn installs_are_unique_per_listing_and_key_and_upgrade_from_their_version(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let listing = f.listing(
        &signstack,
        "standard_nda",
        "1.0.0",
        vec![grant_all(&signstack)],
    );
    publish(&store, &f, &listing, "{}").await;
    let namesake = f.listing(
        &tigris,
        "standard_nda",
        "1.0.0",
        vec![grant_all(&signstack)],
    );
    publish(&store, &f, &namesake, "{}").await;
    let pin = f.install(ns, &listing, "1.0.0");
    install(&store, &f, &pin).await;
    let scope = tenant_scope(ns);
    let lib = &store.library;

    let twice = f.install(ns, &listing, "1.0.0");
    let same_key = f.install(ns, &namesake, "1.0.0");
    for clash in [&twice, &same_key] {
        assert_eq!(
            lib.create_install(
                &scope,
                clash,
                &f.install_audit(clash, AuditAction::ListingInstalled)
            )
            .await,
            Err(StoreError::Taken(Unique::Install))
        );
    }
    assert_eq!(
        lib.get_install(&scope, ns.id, &ListingRef::Id(listing.id))
            .await
            .unwrap(),
        Some(pin.clone())
    );
    let upgraded = Install {
        pinned: semver("1.1.0"),
        updated_at: at(5),
        version: 2,
        ..pin.clone()
    };
    let audit = f.install_audit(&upgraded, AuditAction::InstallUpgraded);
    lib.update_install(&scope, &upgraded, &audit).await.unwrap();
    assert_eq!(
        lib.update_install(&scope, &upgraded, &audit).await,
        Err(StoreError::Stale),
        "a second upgrade from the same version is stale"
    );
    assert_eq!(
        lib.list_installs(&scope, ns.id, None, ALL).await.unwrap(),
        vec![upgraded]
    );
}

pub async fn library_writes_for_a_tenant_that_is_not_active_are_stale(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let listing = f.listing(&org, "standard_nda", "1.0.0", vec![grant_all(&org)]);
    publish(&store, &f, &listing, "{}").await;
    let pin = f.install(ns, &listing, "1.0.0");
    install(&store, &f, &pin).await;
    let other = f.listing(&org, "other", "1.0.0", vec![grant_all(&org)]);
    publish(&store, &f, &other, "{}").await;
    let suspended = moved(&acme.tenant, TenantStatus::Suspended, at(1));
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &suspended,
            &f.tenant_audit(&suspended, AuditAction::TenantSuspended),
        )
        .await
        .unwrap();
    let trail_before = trail(&store, &org).await;
    let scope = tenant_scope(ns);
    let lib = &store.library;
    let r = f.resource(ns, "welcome", "1.0.0", "{}");
    assert_eq!(
        lib.create_resource(&scope, &r, None, 10, &f.resource_audit(&r))
            .await,
        Err(StoreError::Stale)
    );
    let new_pin = f.install(ns, &other, "1.0.0");
    assert_eq!(
        lib.create_install(
            &scope,
            &new_pin,
            &f.install_audit(&new_pin, AuditAction::ListingInstalled)
        )
        .await,
        Err(StoreError::Stale)
    );
    let upgraded = Install {
        pinned: semver("1.1.0"),
        version: 2,
        ..pin
    };
    assert_eq!(
        lib.update_install(
            &scope,
            &upgraded,
            &f.install_audit(&upgraded, AuditAction::InstallUpgraded)
        )
        .await,
        Err(StoreError::Stale)
    );
    assert_eq!(trail(&store, &org).await, trail_before);
}

pub async fn a_tombstone_purges_the_tenants_resources_and_installs_and_no_others(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let listing = f.listing(&org, "standard_nda", "1.0.0", vec![grant_all(&org)]);
    publish(&store, &f, &listing, "{}").await;
    for p in [&acme, &beta] {
        let ns = &p.namespaces[0];
        store_resource(&store, &f, &f.resource(ns, "welcome", "1.0.0", "{}"), None).await;
        install(&store, &f, &f.install(ns, &listing, "1.0.0")).await;
    }
    let deactivated = moved(&acme.tenant, TenantStatus::Deactivated, at(1));
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &deactivated,
            &f.tenant_audit(&deactivated, AuditAction::TenantDeactivated),
        )
        .await
        .unwrap();
    let dead = tombstone(&deactivated);
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await
        .unwrap();

    let lib = &store.library;
    let platform = DataScope::Platform;
    let key = domain::ResourceKey::parse("welcome").unwrap();
    let (gone, kept) = (&acme.namespaces[0], &beta.namespaces[0]);
    assert_eq!(
        lib.get_resource(&platform, gone.id, &key, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        lib.list_installs(&platform, gone.id, None, ALL)
            .await
            .unwrap(),
        vec![]
    );
    assert!(
        lib.get_resource(&platform, kept.id, &key, None)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        lib.list_installs(&platform, kept.id, None, ALL)
            .await
            .unwrap()
            .len(),
        1
    );
    // The listing is the publisher's and stays.
    assert!(
        lib.get_listing(&platform, org.id, &listing.key)
            .await
            .unwrap()
            .is_some()
    );
}
