//! What provisioning and a tenant's lifecycle do to its keys: provisioned keys,
//! the tenant's current status in lookups, deactivation, restoration, tombstones.

use super::*;

pub async fn provisioned_keys_are_found_by_hash_with_their_tenant_and_namespace(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let mut p = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);
    p.keys = vec![
        f.namespace_api_key(&p.namespaces[0], "Admin"),
        f.namespace_api_key(&p.namespaces[1], "Admin"),
    ];

    store
        .tenants
        .provision(&DataScope::Platform, &p)
        .await
        .unwrap();

    for (key, ns) in p.keys.iter().zip(&p.namespaces) {
        assert_eq!(
            found(&store, &key.hash).await,
            Some(lookup_of(key, &p.tenant, ns)),
            "{}",
            ns.key
        );
        assert_eq!(stored(&store, org.id, key.id).await.as_ref(), Some(key));
        let listed = store
            .keys
            .list_keys(&DataScope::Platform, org.id, key.owner, None, ALL)
            .await
            .unwrap();
        assert_eq!(&listed, std::slice::from_ref(key), "{}", ns.key);
    }
    let trail = trail(&store, &org).await;
    assert_eq!(
        trail.len(),
        2,
        "org created, tenant provisioned: one record"
    );
    assert_eq!(trail[1], p.audit);
}

pub async fn a_failed_provisioning_leaves_none_of_its_keys(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let before = trail(&store, &org).await;
    let with_keys = |key: &str, namespaces: &[&str]| {
        let mut p = f.provisioning(&org, key, namespaces);
        p.keys = p
            .namespaces
            .iter()
            .map(|ns| f.namespace_api_key(ns, "Admin"))
            .collect();
        p
    };
    let failures = [
        (
            "a used tenant key",
            with_keys("acme", &["acme-other"]),
            Unique::TenantKey,
        ),
        (
            "a namespace key twice",
            with_keys("beta", &["beta-live", "beta-live"]),
            Unique::NamespaceKey,
        ),
    ];

    for (what, p, unique) in failures {
        let result = store.tenants.provision(&DataScope::Platform, &p).await;

        assert_eq!(result, Err(StoreError::Taken(unique)), "{what}");
        for key in &p.keys {
            assert_eq!(found(&store, &key.hash).await, None, "{what}");
            assert_eq!(stored(&store, org.id, key.id).await, None, "{what}");
        }
    }
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}

pub async fn key_lookups_carry_the_tenants_current_status(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    let theirs = seed_key(&store, &f, f.namespace_api_key(&beta.namespaces[0], "CI")).await;
    let status_of = |hash: KeyHash| {
        let store = store.clone();
        async move {
            found(&store, &hash)
                .await
                .and_then(|l| l.tenant)
                .map(|t| t.status)
        }
    };
    assert_eq!(verdict(&store, &key.hash, at(10)).await, VerifyCode::Valid);

    let suspended = moved(&acme.tenant, TenantStatus::Suspended, at(10));
    update_tenant(&store, &f, &suspended, AuditAction::TenantSuspended).await;

    assert_eq!(status_of(key.hash).await, Some(TenantStatus::Suspended));
    assert_eq!(
        verdict(&store, &key.hash, at(11)).await,
        VerifyCode::TenantSuspended
    );
    assert_eq!(
        found(&store, &key.hash).await,
        Some(lookup_of(&key, &suspended, &acme.namespaces[0])),
        "the key itself is untouched"
    );
    assert_eq!(status_of(theirs.hash).await, Some(TenantStatus::Active));
    assert_eq!(
        verdict(&store, &theirs.hash, at(11)).await,
        VerifyCode::Valid
    );

    let reactivated = moved(&suspended, TenantStatus::Active, at(20));
    update_tenant(&store, &f, &reactivated, AuditAction::TenantReactivated).await;

    assert_eq!(status_of(key.hash).await, Some(TenantStatus::Active));
    assert_eq!(verdict(&store, &key.hash, at(21)).await, VerifyCode::Valid);
    assert_eq!(stored(&store, org.id, key.id).await, Some(key));
}

/// A tenant deactivated at minute 30 (retention ends at minute 90).
fn deactivated_at_30(tenant: &Tenant) -> Tenant {
    let mut next = moved(tenant, TenantStatus::Deactivated, at(30));
    next.lifecycle.retention_ends_at = Some(at(90));
    next
}

pub async fn deactivating_a_tenant_revokes_all_its_keys_at_the_change_and_no_others(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let mut p = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);
    p.keys = vec![f.namespace_api_key(&p.namespaces[0], "Provisioned")];
    store
        .tenants
        .provision(&DataScope::Platform, &p)
        .await
        .unwrap();
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let (live, test) = (&p.namespaces[0], &p.namespaces[1]);
    let mut acme_keys = p.keys.clone();
    acme_keys.push(seed_key(&store, &f, f.namespace_api_key(live, "Live")).await);
    acme_keys.push(seed_key(&store, &f, f.namespace_api_key(test, "Test")).await);
    let already = seed_key(&store, &f, f.namespace_api_key(test, "Already")).await;
    let already = revoked(&already, at(1));
    store
        .keys
        .update_key(
            &DataScope::Platform,
            &already,
            &f.key_audit(&already, AuditAction::ApiKeyRevoked),
        )
        .await
        .unwrap();
    let others = [
        seed_key(&store, &f, f.namespace_api_key(&beta.namespaces[0], "Beta")).await,
        seed_key(&store, &f, f.org_api_key(&org, "Org")).await,
    ];
    for key in &acme_keys {
        assert_eq!(verdict(&store, &key.hash, at(30)).await, VerifyCode::Valid);
    }
    let deactivated = deactivated_at_30(&p.tenant);

    update_tenant(&store, &f, &deactivated, AuditAction::TenantDeactivated).await;

    for key in &acme_keys {
        let now = stored(&store, org.id, key.id)
            .await
            .expect("deactivation keeps the keys");
        assert_eq!(
            now.revoked_at,
            Some(at(30)),
            "{} revoked at the change",
            key.name
        );
        assert_eq!(
            ApiKey {
                revoked_at: None,
                version: key.version,
                ..now
            },
            key.clone(),
            "{}: nothing else changes",
            key.name
        );
        let lookup = found(&store, &key.hash).await.expect("still found");
        assert_eq!(lookup.key.revoked_at, Some(at(30)), "{}", key.name);
        assert_eq!(
            lookup.tenant.as_ref().map(|t| t.status),
            Some(TenantStatus::Deactivated)
        );
        assert_eq!(lookup.judge(at(31), None), VerifyCode::TenantDeactivated);
    }
    let now = stored(&store, org.id, already.id).await.expect("kept");
    assert!(now.revoked_at.is_some(), "a revoked key stays revoked");
    for key in &others {
        assert_eq!(
            stored(&store, org.id, key.id).await.as_ref(),
            Some(key),
            "{} is not the tenant's",
            key.name
        );
        assert_eq!(verdict(&store, &key.hash, at(31)).await, VerifyCode::Valid);
    }
}

pub async fn restoring_a_deactivated_tenant_does_not_bring_its_keys_back(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    let deactivated = deactivated_at_30(&acme.tenant);
    update_tenant(&store, &f, &deactivated, AuditAction::TenantDeactivated).await;

    let restored = moved(&deactivated, TenantStatus::Active, at(40));
    update_tenant(&store, &f, &restored, AuditAction::TenantRestored).await;

    let lookup = found(&store, &key.hash).await.expect("still found");
    assert_eq!(
        lookup.tenant.as_ref().map(|t| t.status),
        Some(TenantStatus::Active)
    );
    assert_eq!(lookup.key.revoked_at, Some(at(30)), "revoked for good");
    assert_eq!(lookup.judge(at(41), None), VerifyCode::Revoked);
    assert_eq!(
        stored(&store, org.id, key.id)
            .await
            .and_then(|k| k.revoked_at),
        Some(at(30))
    );
}

pub async fn key_writes_read_before_a_deactivation_are_stale_and_revive_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    // Read by two writers before the deactivation lands.
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    let deactivated = deactivated_at_30(&acme.tenant);
    update_tenant(&store, &f, &deactivated, AuditAction::TenantDeactivated).await;
    let before = trail(&store, &org).await;

    let revocation = revoked(&key, at(35));
    let result = store
        .keys
        .update_key(
            &DataScope::Platform,
            &revocation,
            &f.key_audit(&revocation, AuditAction::ApiKeyRevoked),
        )
        .await;
    assert_eq!(result, Err(StoreError::Stale), "a revocation");

    // A rotation with a grace period would leave the old key unrevoked.
    let (_, new) = f.rotation(&key, at(35));
    let graced = ApiKey {
        expires_at: Some(at(60)),
        version: key.version + 1,
        ..key.clone()
    };
    let result = store
        .keys
        .rotate_key(
            &DataScope::Platform,
            &graced,
            &new,
            &f.key_audit(&graced, AuditAction::ApiKeyRotated),
        )
        .await;
    assert_eq!(result, Err(StoreError::Stale), "a rotation");

    let now = stored(&store, org.id, key.id).await.expect("kept");
    assert_eq!(now.revoked_at, Some(at(30)), "revoked at the deactivation");
    assert_eq!(now.expires_at, key.expires_at, "no grace period");
    assert_eq!(found(&store, &new.hash).await, None, "no new key");
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}

pub async fn a_tombstone_purges_the_tenants_keys_and_no_others(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let mut p = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);
    p.keys = vec![f.namespace_api_key(&p.namespaces[0], "Provisioned")];
    store
        .tenants
        .provision(&DataScope::Platform, &p)
        .await
        .unwrap();
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let mut acme_keys = p.keys.clone();
    acme_keys.push(seed_key(&store, &f, f.namespace_api_key(&p.namespaces[1], "Test")).await);
    let others = [
        seed_key(&store, &f, f.namespace_api_key(&beta.namespaces[0], "Beta")).await,
        seed_key(&store, &f, f.org_api_key(&org, "Org")).await,
    ];
    for key in &acme_keys {
        assert!(found(&store, &key.hash).await.is_some(), "{}", key.name);
    }
    let dead = tombstone(&p.tenant);

    update_tenant(&store, &f, &dead, AuditAction::TenantDeleted).await;

    for key in &acme_keys {
        assert_eq!(
            found(&store, &key.hash).await,
            None,
            "{} is purged",
            key.name
        );
        assert_eq!(stored(&store, org.id, key.id).await, None, "{}", key.name);
        let listed = store
            .keys
            .list_keys(&DataScope::Platform, org.id, key.owner, None, ALL)
            .await
            .unwrap();
        assert_eq!(listed, vec![], "{}", key.name);
    }
    for key in &others {
        assert_eq!(
            stored(&store, org.id, key.id).await.as_ref(),
            Some(key),
            "{} is not the tenant's",
            key.name
        );
        assert_eq!(verdict(&store, &key.hash, at(61)).await, VerifyCode::Valid);
    }
}

pub async fn a_stale_tenant_update_revokes_and_purges_no_keys(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    // Another writer moved the tenant on (renamed it) since these were read.
    let winner = renamed(&acme.tenant, "Acme Holdings");
    update_tenant(&store, &f, &winner, AuditAction::TenantUpdated).await;

    for (what, stale) in [
        ("a deactivation", deactivated_at_30(&acme.tenant)),
        ("a tombstone", tombstone(&acme.tenant)),
    ] {
        let result = store
            .tenants
            .update_tenant(
                &DataScope::Platform,
                &stale,
                &f.tenant_audit(&stale, AuditAction::TenantUpdated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
        assert_eq!(
            found(&store, &key.hash).await,
            Some(lookup_of(&key, &winner, &acme.namespaces[0])),
            "after {what}"
        );
        assert_eq!(stored(&store, org.id, key.id).await.as_ref(), Some(&key));
    }
}
