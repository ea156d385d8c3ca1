//! Finding keys by hash and by id, and listing them by owner.

use super::*;

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
