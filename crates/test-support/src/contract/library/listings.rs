//! Listings: publishing with grants, who sees a listing, who reads its versions.

use super::*;

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
