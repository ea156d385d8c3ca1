//! `DataKeyStore`: tenant data keys (written by provisioning, listed,
//! replaced and counted for a KEK's rewrap and retirement) and org data keys
//! (stored once on first use, then the same). The cases where a data key is
//! written with a secret are in `secrets.rs`, beside the secret they seal.

use domain::ports::{DataScope, StoreError};
use domain::{KekId, KekVersion, Org, WrappedKey};

use super::{seed_org, seed_tenant};
use crate::StorePorts;
use crate::fixtures::Fixtures;

/// An envelope of the right shape for `org` at KEK version `version`.
fn org_key(org: &Org, version: u32) -> WrappedKey {
    let mut ciphertext = org.id.as_uuid().as_bytes().to_vec();
    ciphertext.extend_from_slice(&version.to_be_bytes());
    WrappedKey::new(
        KekId::parse("fixture-kek").expect("a valid KEK id"),
        KekVersion::new(version).expect("a version above 0"),
        ciphertext,
    )
}

/// The rewrap listing walks every data key in tenant id order; a replacement
/// applies only over the value it was computed from.
pub async fn data_keys_are_listed_for_rewrap_and_replaced_only_from_their_stored_value(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let mut provisioned = Vec::new();
    for key in ["t-one", "t-two", "t-three"] {
        provisioned.push(seed_tenant(&store, &f, &org, key, &[&format!("{key}-live")]).await);
    }
    let first = store.data_keys.data_keys(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = store
        .data_keys
        .data_keys(Some(first[1].tenant_id), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    let mut ids: Vec<_> = provisioned.iter().map(|p| p.tenant.id).collect();
    ids.sort();
    let listed: Vec<_> = first.iter().chain(&rest).map(|k| k.tenant_id).collect();
    assert_eq!(listed, ids);
    for listed in first.iter().chain(&rest) {
        let p = provisioned
            .iter()
            .find(|p| p.tenant.id == listed.tenant_id)
            .unwrap();
        assert_eq!(listed.wrapped, p.data_key);
        assert_eq!(listed.org_id, org.id);
    }

    let target = &provisioned[0];
    let v2 = f.wrapped_key(&target.tenant, 2);
    store
        .data_keys
        .replace_data_key(target.tenant.id, &target.data_key, &v2)
        .await
        .unwrap();
    assert_eq!(
        store
            .data_keys
            .data_key(&DataScope::Platform, target.tenant.id)
            .await
            .unwrap(),
        Some(v2.clone())
    );
    let v3 = f.wrapped_key(&target.tenant, 3);
    assert_eq!(
        store
            .data_keys
            .replace_data_key(target.tenant.id, &target.data_key, &v3)
            .await,
        Err(StoreError::Stale),
        "a replacement computed from an old value"
    );
    assert_eq!(
        store
            .data_keys
            .data_key(&DataScope::Platform, target.tenant.id)
            .await
            .unwrap(),
        Some(v2)
    );
}

/// The count retiring a KEK version goes by: every tenant's data key at that
/// KEK and version, whatever its org, and no other.
pub async fn data_keys_are_counted_by_kek_and_version_over_every_tenant(store: StorePorts) {
    let f = Fixtures::new();
    let kek = KekId::parse("fixture-kek").unwrap();
    let v = |n| KekVersion::new(n).unwrap();
    let count = async |kek: &KekId, n| store.data_keys.count_data_keys(kek, v(n)).await.unwrap();
    assert_eq!(count(&kek, 1).await, 0, "no tenant yet");
    let signstack = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "other").await;
    let mut provisioned = Vec::new();
    for (org, key) in [
        (&signstack, "t-one"),
        (&signstack, "t-two"),
        (&other, "t-three"),
    ] {
        provisioned.push(seed_tenant(&store, &f, org, key, &[&format!("{key}-live")]).await);
    }
    assert_eq!(count(&kek, 1).await, 3, "across orgs");
    assert_eq!(count(&kek, 2).await, 0);
    let target = &provisioned[0];
    store
        .data_keys
        .replace_data_key(
            target.tenant.id,
            &target.data_key,
            &f.wrapped_key(&target.tenant, 2),
        )
        .await
        .unwrap();
    assert_eq!((count(&kek, 1).await, count(&kek, 2).await), (2, 1));
    let elsewhere = KekId::parse("another-kek").unwrap();
    assert_eq!(count(&elsewhere, 1).await, 0, "another KEK's version 1");
}

pub async fn an_org_data_key_is_stored_once_and_seen_by_its_org_only(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "quillpay").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.data_keys;
    assert_eq!(ids.org_data_key(&scope, org.id).await.unwrap(), None);
    ids.put_org_data_key(&scope, org.id, &org_key(&org, 1))
        .await
        .unwrap();
    assert_eq!(
        ids.put_org_data_key(&scope, org.id, &org_key(&org, 2))
            .await,
        Err(StoreError::Stale),
        "a second first key must not replace the first"
    );
    assert_eq!(
        ids.org_data_key(&scope, org.id).await.unwrap(),
        Some(org_key(&org, 1))
    );
    assert_eq!(
        ids.org_data_key(&DataScope::Org(other.id), org.id)
            .await
            .unwrap(),
        None,
        "another org's scope sees the key"
    );
    let tenant = seed_tenant(&store, &f, &org, "t-one", &["t-one-live"]).await;
    let tenant_scope = DataScope::Tenant {
        org: org.id,
        tenant: tenant.tenant.id,
    };
    assert_eq!(
        ids.org_data_key(&tenant_scope, org.id).await.unwrap(),
        None,
        "a tenant scope sees its org's data key"
    );
    assert_eq!(
        ids.put_org_data_key(&DataScope::Org(other.id), org.id, &org_key(&org, 3))
            .await,
        Err(StoreError::OutOfScope)
    );
}

pub async fn org_data_keys_are_listed_for_rewrap_and_replaced_only_from_their_stored_value(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let mut orgs = Vec::new();
    for key in ["o-one", "o-two", "o-three"] {
        let org = seed_org(&store, &f, key).await;
        store
            .data_keys
            .put_org_data_key(&DataScope::Org(org.id), org.id, &org_key(&org, 1))
            .await
            .unwrap();
        orgs.push(org);
    }
    let ids = &store.data_keys;
    let first = ids.org_data_keys(None, 2).await.unwrap();
    let rest = ids.org_data_keys(Some(first[1].0), 2).await.unwrap();
    assert_eq!((first.len(), rest.len()), (2, 1));
    let mut expected: Vec<_> = orgs.iter().map(|o| (o.id, org_key(o, 1))).collect();
    expected.sort_by_key(|(id, _)| *id);
    let listed: Vec<_> = first.into_iter().chain(rest).collect();
    assert_eq!(listed, expected);

    let target = &orgs[0];
    ids.replace_org_data_key(target.id, &org_key(target, 1), &org_key(target, 2))
        .await
        .unwrap();
    assert_eq!(
        ids.replace_org_data_key(target.id, &org_key(target, 1), &org_key(target, 3))
            .await,
        Err(StoreError::Stale),
        "a rewrap from a value no longer stored replaced it"
    );
    assert_eq!(
        ids.org_data_key(&DataScope::Platform, target.id)
            .await
            .unwrap(),
        Some(org_key(target, 2))
    );
}

/// The count retiring a KEK version goes by: every org's data key at that KEK
/// and version, and no other.
pub async fn org_data_keys_are_counted_by_kek_and_version_over_every_org(store: StorePorts) {
    let f = Fixtures::new();
    let kek = KekId::parse("fixture-kek").unwrap();
    let v = |n| KekVersion::new(n).unwrap();
    let ids = &store.data_keys;
    assert_eq!(ids.count_org_data_keys(&kek, v(1)).await.unwrap(), 0);
    let mut orgs = Vec::new();
    for key in ["o-one", "o-two", "o-three"] {
        let org = seed_org(&store, &f, key).await;
        ids.put_org_data_key(&DataScope::Org(org.id), org.id, &org_key(&org, 1))
            .await
            .unwrap();
        orgs.push(org);
    }
    assert_eq!(ids.count_org_data_keys(&kek, v(1)).await.unwrap(), 3);
    ids.replace_org_data_key(orgs[0].id, &org_key(&orgs[0], 1), &org_key(&orgs[0], 2))
        .await
        .unwrap();
    assert_eq!(ids.count_org_data_keys(&kek, v(1)).await.unwrap(), 2);
    assert_eq!(ids.count_org_data_keys(&kek, v(2)).await.unwrap(), 1);
    let elsewhere = KekId::parse("another-kek").unwrap();
    assert_eq!(ids.count_org_data_keys(&elsewhere, v(2)).await.unwrap(), 0);
}
