//! `ApiKeyStore`: create, find by hash (with the tenant's current status), get,
//! list, revoke, rotate, usage; and what `TenantStore::update_tenant` does to a
//! tenant's keys (deactivation revokes them for good, a tombstone purges them).

use domain::ports::DataScope;
use domain::ports::{StoreError, Unique};
use domain::{
    ApiKey, ApiKeyId, AuditAction, KeyHash, KeyLookup, KeyMode, KeyOwner, KeyPrefix,
    NamespaceBrief, Tenant, TenantBrief, TenantStatus, VerifyCode,
};
use domain::{Namespace, OrgId};

use super::{ALL, found, seed_key, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{FixedEntropy, Fixtures, at, moved, renamed, revoked, tombstone};

/// What `find_key` must answer for a namespace key of `tenant` (as stored now).
fn lookup_of(key: &ApiKey, tenant: &Tenant, ns: &Namespace) -> KeyLookup {
    KeyLookup {
        key: key.clone(),
        tenant: Some(TenantBrief {
            id: tenant.id,
            key: tenant.key.clone(),
            status: tenant.lifecycle.status,
        }),
        namespace: Some(NamespaceBrief {
            id: ns.id,
            key: ns.key.clone(),
        }),
    }
}

/// The stored key, by id.
async fn stored(store: &StorePorts, org: OrgId, id: ApiKeyId) -> Option<ApiKey> {
    store
        .keys
        .get_key(&DataScope::Platform, org, id)
        .await
        .expect("reading a key")
}

/// Writes `next` over the stored tenant, with an audit record.
async fn update_tenant(store: &StorePorts, f: &Fixtures, next: &Tenant, action: AuditAction) {
    store
        .tenants
        .update_tenant(&DataScope::Platform, next, &f.tenant_audit(next, action))
        .await
        .expect("updating a tenant from its current version");
}

/// The verdict on the key with `hash` at `now`, as verification would judge it.
async fn verdict(
    store: &StorePorts,
    hash: &KeyHash,
    now: chrono::DateTime<chrono::Utc>,
) -> VerifyCode {
    found(store, hash)
        .await
        .map_or(VerifyCode::NotFound, |lookup| lookup.judge(now))
}

pub async fn created_namespace_key_is_found_by_hash_with_its_tenant_and_namespace(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live", "acme-test"]).await;
    let ns = &acme.namespaces[1];
    let key = f.namespace_api_key(ns, "CI deploys");
    let audit = f.key_audit(&key, AuditAction::ApiKeyCreated);

    store
        .keys
        .create_key(&DataScope::Platform, &key, &audit)
        .await
        .unwrap();

    assert_eq!(
        found(&store, &key.hash).await,
        Some(lookup_of(&key, &acme.tenant, ns)),
        "the key with its tenant (and its status) and its namespace"
    );
    assert_eq!(stored(&store, org.id, key.id).await, Some(key.clone()));
    assert_eq!(trail(&store, &org).await.last(), Some(&audit));
}

pub async fn created_org_key_is_found_by_hash_without_a_tenant_or_namespace(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = f.org_api_key(&org, "Terraform");
    let audit = f.key_audit(&key, AuditAction::ApiKeyCreated);

    store
        .keys
        .create_key(&DataScope::Platform, &key, &audit)
        .await
        .unwrap();

    let expected = KeyLookup {
        key: key.clone(),
        tenant: None,
        namespace: None,
    };
    assert_eq!(found(&store, &key.hash).await, Some(expected));
    assert_eq!(stored(&store, org.id, key.id).await, Some(key.clone()));
    assert_eq!(trail(&store, &org).await.last(), Some(&audit));
}

pub async fn unknown_hashes_are_not_found(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    seed_key(
        &store,
        &f,
        f.namespace_api_key(&acme.namespaces[0], "Stored"),
    )
    .await;
    seed_key(&store, &f, f.org_api_key(&org, "Stored too")).await;
    let never_stored = f.namespace_api_key(&acme.namespaces[0], "Never stored");
    // A fresh source replays the first stored key's random part: the same
    // secret under another mode is another key.
    let other_mode = KeyPrefix::default().mint(KeyMode::Test, &FixedEntropy::default());

    for (what, hash) in [
        ("a key minted but never stored", never_stored.hash),
        ("a stored key's secret under another mode", other_mode.hash),
        ("a hash of junk", KeyHash::of("tny_live_junk")),
        ("all zeroes", KeyHash::from_bytes([0; 32])),
    ] {
        assert_eq!(found(&store, &hash).await, None, "{what}");
    }
}

pub async fn keys_are_found_by_id_only_within_their_org(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let org_key = seed_key(&store, &f, f.org_api_key(&signstack, "Org")).await;
    let ns_key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "Ns")).await;
    let theirs = seed_key(&store, &f, f.org_api_key(&tigris, "Theirs")).await;
    let unknown = ApiKeyId::from_uuid(f.id());

    let cases = [
        (
            "an org key in its org",
            signstack.id,
            org_key.id,
            Some(&org_key),
        ),
        (
            "a namespace key in its org",
            signstack.id,
            ns_key.id,
            Some(&ns_key),
        ),
        ("another org's key", signstack.id, theirs.id, None),
        ("an org key from another org", tigris.id, org_key.id, None),
        (
            "a namespace key from another org",
            tigris.id,
            ns_key.id,
            None,
        ),
        ("an id no key has", signstack.id, unknown, None),
    ];
    for (what, org, id, expected) in cases {
        assert_eq!(stored(&store, org, id).await.as_ref(), expected, "{what}");
    }
}

pub async fn keys_are_listed_by_owner_in_id_order_after_a_cursor_up_to_a_limit(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live", "acme-test"]).await;
    let beta = seed_tenant(&store, &f, &signstack, "beta", &["beta-live"]).await;
    let (live, test, beta_live) = (
        &acme.namespaces[0],
        &acme.namespaces[1],
        &beta.namespaces[0],
    );
    // Minted interleaved, so each owner's keys are not adjacent in id order, with
    // an id no key has after the first org key, to resume from a cursor whose
    // key is gone.
    let o1 = f.org_api_key(&signstack, "o1");
    let gap = ApiKeyId::from_uuid(f.id());
    let l1 = f.namespace_api_key(live, "l1");
    let t1 = f.namespace_api_key(test, "t1");
    let x1 = f.org_api_key(&tigris, "x1");
    let o2 = f.org_api_key(&signstack, "o2");
    let l2 = f.namespace_api_key(live, "l2");
    let b1 = f.namespace_api_key(beta_live, "b1");
    let o3 = f.org_api_key(&signstack, "o3");
    let l3 = f.namespace_api_key(live, "l3");
    // Written out of id order: the listing orders, not the insertion.
    for key in [&l3, &o2, &b1, &x1, &l1, &o3, &t1, &o1, &l2] {
        seed_key(&store, &f, key.clone()).await;
    }
    let ns = |ns: &Namespace| KeyOwner::Namespace {
        tenant_id: ns.tenant_id,
        namespace_id: ns.id,
    };

    // Whose keys a listing asks for: an org and an owner in it.
    let org_keys = (signstack.id, KeyOwner::Org);
    let tigris_keys = (tigris.id, KeyOwner::Org);
    let live_keys = (signstack.id, ns(live));

    type Case<'a> = (
        &'a str,
        (OrgId, KeyOwner),
        Option<ApiKeyId>,
        usize,
        Vec<&'a ApiKey>,
    );
    let cases: [Case; 12] = [
        ("org keys", org_keys, None, ALL, vec![&o1, &o2, &o3]),
        ("org keys, first page", org_keys, None, 2, vec![&o1, &o2]),
        (
            "org keys, resumed",
            org_keys,
            Some(o1.id),
            2,
            vec![&o2, &o3],
        ),
        (
            "org keys, after a gap",
            org_keys,
            Some(gap),
            ALL,
            vec![&o2, &o3],
        ),
        (
            "org keys, after the last",
            org_keys,
            Some(o3.id),
            ALL,
            vec![],
        ),
        ("another org's keys", tigris_keys, None, ALL, vec![&x1]),
        ("a namespace", live_keys, None, ALL, vec![&l1, &l2, &l3]),
        ("a namespace, first page", live_keys, None, 1, vec![&l1]),
        (
            "a namespace, resumed",
            live_keys,
            Some(l1.id),
            ALL,
            vec![&l2, &l3],
        ),
        (
            "its sibling",
            (signstack.id, ns(test)),
            None,
            ALL,
            vec![&t1],
        ),
        (
            "another tenant's",
            (signstack.id, ns(beta_live)),
            None,
            ALL,
            vec![&b1],
        ),
        ("from another org", (tigris.id, ns(live)), None, ALL, vec![]),
    ];
    for (what, (org, owner), after, limit, expected) in cases {
        let got = store
            .keys
            .list_keys(&DataScope::Platform, org, owner, after, limit)
            .await
            .unwrap();
        let names = |keys: &[ApiKey]| keys.iter().map(|k| k.name.to_string()).collect::<Vec<_>>();
        let expected: Vec<ApiKey> = expected.into_iter().cloned().collect();
        assert_eq!(names(&got), names(&expected), "{what}");
        assert_eq!(got, expected, "{what}");
    }
}

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
        assert_eq!(lookup.judge(at(31)), VerifyCode::TenantDeactivated);
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
    assert_eq!(lookup.judge(at(41)), VerifyCode::Revoked);
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
