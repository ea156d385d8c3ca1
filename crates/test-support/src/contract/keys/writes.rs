//! Revoking, rotating and recording the use of keys; key writes that are stale.

use super::*;

pub async fn revoking_a_key_from_its_current_version_replaces_it_with_one_audit_record(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let key = seed_key(&store, &f, f.namespace_api_key(ns, "CI")).await;
    let other = seed_key(&store, &f, f.namespace_api_key(ns, "Other")).await;
    assert_eq!(verdict(&store, &key.hash, at(10)).await, VerifyCode::Valid);
    let before = trail(&store, &org).await;
    let next = revoked(&key, at(10));
    let audit = f.key_audit(&next, AuditAction::ApiKeyRevoked);

    store
        .keys
        .update_key(&DataScope::Platform, &next, &audit)
        .await
        .unwrap();

    assert_eq!(stored(&store, org.id, key.id).await, Some(next.clone()));
    assert_eq!(
        found(&store, &key.hash).await,
        Some(lookup_of(&next, &acme.tenant, ns))
    );
    assert_eq!(
        verdict(&store, &key.hash, at(10)).await,
        VerifyCode::Revoked
    );
    assert_eq!(
        stored(&store, org.id, other.id).await,
        Some(other),
        "another key of the namespace"
    );
    assert_eq!(
        trail(&store, &org).await,
        [before, vec![audit]].concat(),
        "exactly one audit record"
    );
}

pub async fn updating_a_key_from_a_stale_version_is_refused_and_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    // Two writers read version 1; the first one wins.
    let winner = revoked(&key, at(10));
    store
        .keys
        .update_key(
            &DataScope::Platform,
            &winner,
            &f.key_audit(&winner, AuditAction::ApiKeyRevoked),
        )
        .await
        .unwrap();
    let before = trail(&store, &org).await;
    let never_stored = f.namespace_api_key(&acme.namespaces[0], "Ghost");

    let stale = [
        ("the loser of the race", revoked(&key, at(11))),
        (
            "a version that skips one",
            revoked(&revoked(&winner, at(11)), at(12)),
        ),
        ("a version older than the stored one", key.clone()),
        ("a key that does not exist", revoked(&never_stored, at(11))),
    ];
    for (what, write) in stale {
        let result = store
            .keys
            .update_key(
                &DataScope::Platform,
                &write,
                &f.key_audit(&write, AuditAction::ApiKeyRevoked),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
    }

    assert_eq!(stored(&store, org.id, key.id).await, Some(winner.clone()));
    assert_eq!(found(&store, &key.hash).await.map(|l| l.key), Some(winner));
    assert_eq!(stored(&store, org.id, never_stored.id).await, None);
    assert_eq!(found(&store, &never_stored.hash).await, None);
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}

pub async fn rotating_a_key_replaces_the_old_and_inserts_the_new_with_one_audit_record(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let key = seed_key(&store, &f, f.namespace_api_key(ns, "CI")).await;
    let org_key = seed_key(&store, &f, f.org_api_key(&org, "Terraform")).await;
    assert_eq!(verdict(&store, &key.hash, at(10)).await, VerifyCode::Valid);
    let mut expected_trail = trail(&store, &org).await;

    // At once: the old key is revoked.
    let (old, new) = f.rotation(&key, at(10));
    let audit = f.key_audit(&old, AuditAction::ApiKeyRotated);
    store
        .keys
        .rotate_key(&DataScope::Platform, &old, &new, &audit)
        .await
        .unwrap();
    expected_trail.push(audit);

    assert_eq!(stored(&store, org.id, key.id).await, Some(old.clone()));
    assert_eq!(stored(&store, org.id, new.id).await, Some(new.clone()));
    assert_eq!(
        found(&store, &old.hash).await,
        Some(lookup_of(&old, &acme.tenant, ns))
    );
    assert_eq!(
        found(&store, &new.hash).await,
        Some(lookup_of(&new, &acme.tenant, ns))
    );
    assert_eq!(
        verdict(&store, &old.hash, at(10)).await,
        VerifyCode::Revoked
    );
    assert_eq!(verdict(&store, &new.hash, at(10)).await, VerifyCode::Valid);
    let listed = store
        .keys
        .list_keys(&DataScope::Platform, org.id, key.owner, None, ALL)
        .await
        .unwrap();
    assert_eq!(listed, vec![old, new], "both, in id order");
    assert_eq!(
        trail(&store, &org).await,
        expected_trail,
        "one audit record"
    );

    // With a grace period: the old key expires later instead.
    let (_, new_org_key) = f.rotation(&org_key, at(20));
    let old_org_key = ApiKey {
        expires_at: Some(at(30)),
        version: org_key.version + 1,
        ..org_key.clone()
    };
    let audit = f.key_audit(&old_org_key, AuditAction::ApiKeyRotated);
    store
        .keys
        .rotate_key(&DataScope::Platform, &old_org_key, &new_org_key, &audit)
        .await
        .unwrap();
    expected_trail.push(audit);

    assert_eq!(stored(&store, org.id, org_key.id).await, Some(old_org_key));
    assert_eq!(
        stored(&store, org.id, new_org_key.id).await,
        Some(new_org_key.clone())
    );
    assert_eq!(
        verdict(&store, &org_key.hash, at(29)).await,
        VerifyCode::Valid
    );
    assert_eq!(
        verdict(&store, &org_key.hash, at(30)).await,
        VerifyCode::Expired
    );
    assert_eq!(
        verdict(&store, &new_org_key.hash, at(30)).await,
        VerifyCode::Valid
    );
    assert_eq!(
        trail(&store, &org).await,
        expected_trail,
        "one audit record"
    );
}

pub async fn rotating_from_a_stale_version_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    // A revocation wins the race against a rotation from version 1.
    let winner = revoked(&key, at(5));
    store
        .keys
        .update_key(
            &DataScope::Platform,
            &winner,
            &f.key_audit(&winner, AuditAction::ApiKeyRevoked),
        )
        .await
        .unwrap();
    let before = trail(&store, &org).await;
    let (old, new) = f.rotation(&key, at(10));

    let result = store
        .keys
        .rotate_key(
            &DataScope::Platform,
            &old,
            &new,
            &f.key_audit(&old, AuditAction::ApiKeyRotated),
        )
        .await;

    assert_eq!(result, Err(StoreError::Stale));
    assert_eq!(stored(&store, org.id, key.id).await, Some(winner.clone()));
    assert_eq!(
        found(&store, &new.hash).await,
        None,
        "the new key is not findable"
    );
    assert_eq!(stored(&store, org.id, new.id).await, None);
    let listed = store
        .keys
        .list_keys(&DataScope::Platform, org.id, key.owner, None, ALL)
        .await
        .unwrap();
    assert_eq!(listed, vec![winner]);
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}

pub async fn recorded_usage_keeps_the_latest_time_ignores_unknown_keys_and_writes_no_audit(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    // Fixture keys were last used at minute 2.
    let a = seed_key(&store, &f, f.namespace_api_key(ns, "a")).await;
    let b = seed_key(&store, &f, f.org_api_key(&org, "b")).await;
    let never_used = ApiKey {
        last_used_at: None,
        ..f.namespace_api_key(ns, "never used")
    };
    let c = seed_key(&store, &f, never_used).await;
    let unknown = ApiKeyId::from_uuid(f.id());
    let before = trail(&store, &org).await;
    let last_used = |id: ApiKeyId| {
        let store = store.clone();
        async move {
            stored(&store, org.id, id)
                .await
                .expect("the key exists")
                .last_used_at
        }
    };

    store
        .keys
        .record_usage(&[
            (a.id, at(5)),
            (b.id, at(1)),
            (unknown, at(7)),
            (c.id, at(3)),
        ])
        .await
        .unwrap();

    assert_eq!(last_used(a.id).await, Some(at(5)), "a later time wins");
    assert_eq!(last_used(b.id).await, Some(at(2)), "an earlier time loses");
    assert_eq!(last_used(c.id).await, Some(at(3)), "a first use");
    assert_eq!(
        stored(&store, org.id, unknown).await,
        None,
        "no key appears"
    );

    store
        .keys
        .record_usage(&[(a.id, at(8)), (a.id, at(9)), (a.id, at(6))])
        .await
        .unwrap();
    store.keys.record_usage(&[(a.id, at(4))]).await.unwrap();

    assert_eq!(
        last_used(a.id).await,
        Some(at(9)),
        "the latest of a batch, and of batches"
    );
    let unchanged = |k: &ApiKey, stored: Option<ApiKey>| {
        stored.map(|s| ApiKey {
            last_used_at: k.last_used_at,
            version: k.version,
            ..s
        })
    };
    assert_eq!(
        unchanged(&a, stored(&store, org.id, a.id).await),
        Some(a.clone()),
        "nothing else of the key changes"
    );
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}

pub async fn creating_a_key_whose_namespace_or_org_does_not_exist_is_stale_and_writes_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let gone = seed_tenant(&store, &f, &org, "gone", &["gone-live"]).await;
    let dead = tombstone(&gone.tenant);
    update_tenant(&store, &f, &dead, AuditAction::TenantDeleted).await;
    let before = trail(&store, &org).await;
    let ghost_org = f.org("ghost");

    let keys = [
        (
            "a namespace that never existed",
            f.namespace_api_key(&f.namespace(&acme.tenant, "acme-never"), "k"),
        ),
        (
            "a namespace purged with its tenant",
            f.namespace_api_key(&gone.namespaces[0], "k"),
        ),
        ("an org that does not exist", f.org_api_key(&ghost_org, "k")),
    ];
    for (what, key) in keys {
        let result = store
            .keys
            .create_key(
                &DataScope::Platform,
                &key,
                &f.key_audit(&key, AuditAction::ApiKeyCreated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
        assert_eq!(found(&store, &key.hash).await, None, "{what}");
        assert_eq!(stored(&store, key.org_id, key.id).await, None, "{what}");
    }
    assert_eq!(trail(&store, &org).await, before, "no audit record");
    assert_eq!(trail(&store, &ghost_org).await, vec![]);
}

pub async fn keys_for_a_tenant_that_is_not_active_or_for_another_tenants_namespace_are_stale(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;
    let suspended = moved(&acme.tenant, TenantStatus::Suspended, at(10));
    update_tenant(&store, &f, &suspended, AuditAction::TenantSuspended).await;
    let before = trail(&store, &org).await;

    let mut mismatched = f.namespace_api_key(&globex.namespaces[0], "k");
    mismatched.owner = KeyOwner::Namespace {
        tenant_id: acme.tenant.id,
        namespace_id: globex.namespaces[0].id,
    };
    let keys = [
        (
            "a suspended tenant's namespace",
            f.namespace_api_key(&acme.namespaces[0], "k"),
        ),
        ("a namespace of another tenant", mismatched),
    ];
    for (what, key) in keys {
        let result = store
            .keys
            .create_key(
                &DataScope::Platform,
                &key,
                &f.key_audit(&key, AuditAction::ApiKeyCreated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
        assert_eq!(found(&store, &key.hash).await, None, "{what}");
    }
    assert_eq!(trail(&store, &org).await, before, "no audit record");
}
