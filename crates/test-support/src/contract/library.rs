//! `LibraryStore`: resources and their versions, listings with grants and
//! versions, installs; who sees what; what a tombstone purges.

use domain::ports::{DataScope, StoreError, Unique};
use domain::{AuditAction, Install, Listing, ListingRef, Namespace, Resource, TenantStatus};

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, grant_all, grant_keys, moved, semver, tombstone};

fn tenant_scope(ns: &Namespace) -> DataScope {
    DataScope::Tenant {
        org: ns.org_id,
        tenant: ns.tenant_id,
    }
}

async fn store_resource(store: &StorePorts, f: &Fixtures, r: &Resource, after: Option<&str>) {
    store
        .library
        .create_resource(
            &tenant_scope_of(r),
            r,
            after.map(semver),
            ALL as u64,
            &f.resource_audit(r),
        )
        .await
        .expect("storing a resource version");
}

fn tenant_scope_of(r: &Resource) -> DataScope {
    DataScope::Tenant {
        org: r.org_id,
        tenant: r.tenant_id,
    }
}

async fn publish(store: &StorePorts, f: &Fixtures, listing: &Listing, json: &str) {
    let version = f.listing_version(listing, &listing.latest.to_string(), json);
    store
        .library
        .publish_listing(
            &DataScope::Org(listing.org_id),
            listing,
            &version,
            &f.listing_audit(listing, AuditAction::ListingPublished),
        )
        .await
        .expect("publishing a listing version");
}

async fn install(store: &StorePorts, f: &Fixtures, i: &Install) {
    store
        .library
        .create_install(
            &DataScope::Tenant {
                org: i.org_id,
                tenant: i.tenant_id,
            },
            i,
            &f.install_audit(i, AuditAction::ListingInstalled),
        )
        .await
        .expect("installing a listing");
}

/// The next version of `listing`, at `latest`.
fn next(listing: &Listing, latest: &str) -> Listing {
    Listing {
        latest: semver(latest),
        updated_at: at(1),
        version: listing.version + 1,
        ..listing.clone()
    }
}

fn versions(history: &[domain::VersionInfo]) -> Vec<String> {
    history.iter().map(|v| v.version.to_string()).collect()
}

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

pub async fn publishing_inserts_a_listing_then_versions_it_with_its_grants(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let listing = f.listing(&org, "standard_nda", "1.2.0", vec![grant_all(&org)]);
    publish(&store, &f, &listing, r#"{"v":"1.2.0"}"#).await;
    let scope = DataScope::Org(org.id);
    let lib = &store.library;
    assert_eq!(
        lib.get_listing(&scope, org.id, &listing.key).await.unwrap(),
        Some(listing.clone())
    );
    assert_eq!(
        lib.get_listing_by_id(&scope, listing.id).await.unwrap(),
        Some(listing.clone())
    );

    let second = Listing {
        grants: vec![grant_keys(&org, &["acme-live", "beta-live"])],
        ..next(&listing, "1.3.0")
    };
    let version = f.listing_version(&second, "1.3.0", r#"{"v":"1.3.0"}"#);
    lib.publish_listing(
        &scope,
        &second,
        &version,
        &f.listing_audit(&second, AuditAction::ListingPublished),
    )
    .await
    .unwrap();
    assert_eq!(
        lib.get_listing(&scope, org.id, &listing.key).await.unwrap(),
        Some(second.clone()),
        "the listing now has the new grants and latest"
    );
    let history = lib.listing_history(&scope, listing.id).await.unwrap();
    assert_eq!(versions(&history), ["1.2.0", "1.3.0"]);
    let stored = lib
        .listing_version(&scope, listing.id, &semver("1.3.0"))
        .await
        .unwrap();
    assert_eq!(stored, Some(version));
    let first = lib
        .listing_version(&scope, listing.id, &semver("1.2.0"))
        .await
        .unwrap()
        .expect("the first version stays");
    assert_eq!(first.content.as_str(), r#"{"v":"1.2.0"}"#);

    // Grants alone change through update_listing.
    let regranted = Listing {
        grants: vec![],
        version: second.version + 1,
        ..second.clone()
    };
    lib.update_listing(
        &scope,
        &regranted,
        &f.listing_audit(&regranted, AuditAction::ListingGrantsChanged),
    )
    .await
    .unwrap();
    assert_eq!(
        lib.get_listing(&scope, org.id, &listing.key).await.unwrap(),
        Some(regranted)
    );
    let listed = lib.list_listings(&scope, org.id, None, ALL).await.unwrap();
    assert_eq!(listed.len(), 1);
}

pub async fn a_used_listing_key_a_stored_version_or_a_stale_listing_writes_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let listing = f.listing(&org, "standard_nda", "1.0.0", vec![]);
    publish(&store, &f, &listing, "{}").await;
    let trail_before = trail(&store, &org).await;
    let scope = DataScope::Org(org.id);
    let lib = &store.library;
    let audit = |l: &Listing| f.listing_audit(l, AuditAction::ListingPublished);

    let twin = f.listing(&org, "standard_nda", "2.0.0", vec![]);
    let twin_version = f.listing_version(&twin, "2.0.0", "{}");
    assert_eq!(
        lib.publish_listing(&scope, &twin, &twin_version, &audit(&twin))
            .await,
        Err(StoreError::Taken(Unique::ListingKey))
    );
    let replayed = next(&listing, "1.0.0");
    let same_version = f.listing_version(&replayed, "1.0.0", r#"{"other":1}"#);
    assert_eq!(
        lib.publish_listing(&scope, &replayed, &same_version, &audit(&replayed))
            .await,
        Err(StoreError::Taken(Unique::Version))
    );
    let stale = Listing {
        version: listing.version + 2,
        ..next(&listing, "3.0.0")
    };
    let stale_version = f.listing_version(&stale, "3.0.0", "{}");
    assert_eq!(
        lib.publish_listing(&scope, &stale, &stale_version, &audit(&stale))
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(
        lib.update_listing(&scope, &stale, &audit(&stale)).await,
        Err(StoreError::Stale)
    );
    assert_eq!(
        lib.get_listing(&scope, org.id, &listing.key).await.unwrap(),
        Some(listing.clone())
    );
    let history = lib.listing_history(&scope, listing.id).await.unwrap();
    assert_eq!(versions(&history), ["1.0.0"]);
    assert_eq!(trail(&store, &org).await, trail_before);
}

pub async fn granted_listings_follow_grants_by_org_and_namespace_key(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live", "acme-test"]).await;
    let initech = seed_tenant(&store, &f, &tigris, "initech", &["initech-live"]).await;
    let to_all = f.listing(&signstack, "to_all", "1.0.0", vec![grant_all(&signstack)]);
    let to_live = f.listing(
        &signstack,
        "to_live",
        "1.0.0",
        vec![grant_keys(&signstack, &["acme-live"])],
    );
    let to_tigris = f.listing(&signstack, "to_tigris", "1.0.0", vec![grant_all(&tigris)]);
    let to_none = f.listing(&signstack, "to_none", "1.0.0", vec![]);
    for l in [&to_all, &to_live, &to_tigris, &to_none] {
        publish(&store, &f, l, "{}").await;
    }
    let granted = async |ns: &Namespace, key: Option<&Listing>| -> Vec<String> {
        store
            .library
            .granted_listings(
                &tenant_scope(ns),
                ns.org_id,
                &ns.key,
                key.map(|l| l.key.clone()),
                None,
                ALL,
            )
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key.to_string())
            .collect()
    };
    assert_eq!(
        granted(&acme.namespaces[0], None).await,
        ["to_all", "to_live"]
    );
    assert_eq!(granted(&acme.namespaces[1], None).await, ["to_all"]);
    assert_eq!(granted(&initech.namespaces[0], None).await, ["to_tigris"]);
    assert_eq!(
        granted(&acme.namespaces[0], Some(&to_live)).await,
        ["to_live"]
    );
    assert!(
        granted(&acme.namespaces[1], Some(&to_live))
            .await
            .is_empty()
    );

    // Tenant scopes see a listing by id only when it is granted to their org.
    let lib = &store.library;
    let initech_scope = tenant_scope(&initech.namespaces[0]);
    assert_eq!(
        lib.get_listing_by_id(&initech_scope, to_tigris.id)
            .await
            .unwrap(),
        Some(to_tigris.clone())
    );
    assert_eq!(
        lib.get_listing_by_id(&initech_scope, to_all.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        lib.get_listing_by_id(&tenant_scope(&acme.namespaces[0]), to_none.id)
            .await
            .unwrap(),
        None
    );
    // A tenant scope sees the grants to its own org, never whom else the
    // publisher granted.
    let to_both = f.listing(
        &signstack,
        "to_both",
        "1.0.0",
        vec![grant_all(&signstack), grant_all(&tigris)],
    );
    publish(&store, &f, &to_both, "{}").await;
    let seen = lib
        .get_listing_by_id(&initech_scope, to_both.id)
        .await
        .unwrap()
        .expect("granted to tigris");
    assert_eq!(seen.grants, vec![grant_all(&tigris)]);
    // Another org sees none of the publisher's listings in org scope.
    assert!(
        lib.list_listings(&DataScope::Org(tigris.id), signstack.id, None, ALL)
            .await
            .unwrap()
            .is_empty()
    );
    // Paging by id.
    let ns = &acme.namespaces[0];
    let first = lib
        .granted_listings(&tenant_scope(ns), ns.org_id, &ns.key, None, None, 1)
        .await
        .unwrap();
    let rest = lib
        .granted_listings(
            &tenant_scope(ns),
            ns.org_id,
            &ns.key,
            None,
            Some(first[0].id),
            ALL,
        )
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 3);
    assert!(rest.iter().all(|l| l.id > first[0].id));
}

pub async fn a_tenant_reads_versions_while_granted_or_installed(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let listing = f.listing(&org, "standard_nda", "1.0.0", vec![grant_all(&org)]);
    publish(&store, &f, &listing, r#"{"pinned":true}"#).await;
    let pin = f.install(&acme.namespaces[0], &listing, "1.0.0");
    install(&store, &f, &pin).await;
    let revoked = Listing {
        grants: vec![],
        version: listing.version + 1,
        ..listing.clone()
    };
    store
        .library
        .update_listing(
            &DataScope::Org(org.id),
            &revoked,
            &f.listing_audit(&revoked, AuditAction::ListingGrantsChanged),
        )
        .await
        .unwrap();

    let lib = &store.library;
    let v1 = semver("1.0.0");
    let (acme_scope, beta_scope) = (
        tenant_scope(&acme.namespaces[0]),
        tenant_scope(&beta.namespaces[0]),
    );
    let pinned = lib
        .listing_version(&acme_scope, listing.id, &v1)
        .await
        .unwrap();
    assert_eq!(
        pinned.map(|v| v.content.as_str().to_owned()).as_deref(),
        Some(r#"{"pinned":true}"#),
        "the installer still reads its pinned version"
    );
    assert_eq!(
        lib.listing_version(&beta_scope, listing.id, &v1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        lib.listing_history(&beta_scope, listing.id).await.unwrap(),
        vec![]
    );
    assert_eq!(
        lib.get_listing_by_id(&acme_scope, listing.id)
            .await
            .unwrap(),
        None,
        "hidden"
    );
}

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
