//! `IdempotencyStore`: org data keys, claims, completion, release and purge.

use domain::ports::{DataScope, StoreError};
use domain::{
    AuditAction, Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, KekId, KekVersion,
    Org, RequestFingerprint, Tenant, TenantStatus, WrappedKey,
};

use super::{seed_org, seed_tenant};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, moved, tombstone, uuid};

fn key(raw: &str) -> IdempotencyKey {
    IdempotencyKey::parse(raw).expect("a valid idempotency key")
}

fn body(n: u8) -> RequestFingerprint {
    RequestFingerprint::of("POST", "/v1/orgs/o/tenants", &[n])
}

fn claim(
    org: &Org,
    raw: &str,
    fingerprint: RequestFingerprint,
    token: u64,
    minute: i64,
) -> IdempotencyClaim {
    IdempotencyClaim::new(org.id, key(raw), fingerprint, uuid(token), at(minute))
}

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

fn held(outcome: Claimed) -> IdempotencyRecord {
    match outcome {
        Claimed::Held(record) => record,
        Claimed::New => panic!("the claim was stored where a record held the key"),
    }
}

pub async fn an_org_data_key_is_stored_once_and_seen_by_its_org_only(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "quillpay").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
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

pub async fn a_claim_holds_its_key_until_completed_and_then_returns_the_response(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    let first = claim(&org, "k-1", body(1), 1, 0);
    assert_eq!(ids.claim(&scope, &first).await.unwrap(), Claimed::New);

    // Pending: a duplicate, or another body, meets the pending record.
    let pending = held(
        ids.claim(&scope, &claim(&org, "k-1", body(1), 2, 0))
            .await
            .unwrap(),
    );
    assert_eq!(pending.claim, first);
    assert_eq!(pending.sealed_response, None);
    let other = held(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 3, 0))
            .await
            .unwrap(),
    );
    assert_eq!(other.claim.fingerprint, body(1));

    // Only the holder completes, and only once.
    assert_eq!(
        ids.complete(&scope, org.id, &first.key, uuid(2), None, b"sealed")
            .await,
        Err(StoreError::Stale)
    );
    ids.complete(&scope, org.id, &first.key, first.token, None, b"sealed")
        .await
        .unwrap();
    assert_eq!(
        ids.complete(&scope, org.id, &first.key, first.token, None, b"again")
            .await,
        Err(StoreError::Stale)
    );
    let done = held(
        ids.claim(&scope, &claim(&org, "k-1", body(1), 4, 5))
            .await
            .unwrap(),
    );
    assert_eq!(done.claim, first);
    assert_eq!(done.sealed_response.as_deref(), Some(b"sealed".as_slice()));

    // Keys are per org: the same key in another org is free.
    let elsewhere = seed_org(&store, &f, "quillpay").await;
    assert_eq!(
        ids.claim(
            &DataScope::Org(elsewhere.id),
            &claim(&elsewhere, "k-1", body(1), 5, 0)
        )
        .await
        .unwrap(),
        Claimed::New
    );
}

pub async fn a_lapsed_claim_yields_to_its_retry_and_an_expired_record_to_anyone(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    let lapsed = claim(&org, "k-1", body(1), 1, 0);
    ids.claim(&scope, &lapsed).await.unwrap();
    // After the lease: another body still meets it, the same body takes over.
    held(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 2, 2))
            .await
            .unwrap(),
    );
    let retry = claim(&org, "k-1", body(1), 3, 2);
    assert_eq!(ids.claim(&scope, &retry).await.unwrap(), Claimed::New);
    assert_eq!(
        ids.complete(&scope, org.id, &lapsed.key, lapsed.token, None, b"late")
            .await,
        Err(StoreError::Stale),
        "the lapsed claim completed after its retry took over"
    );
    ids.complete(&scope, org.id, &retry.key, retry.token, None, b"sealed")
        .await
        .unwrap();
    // A completed record holds its key for the whole window, then yields.
    held(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 4, 60 * 24))
            .await
            .unwrap(),
    );
    let after_window = claim(&org, "k-1", body(2), 5, 2 + 60 * 24);
    assert_eq!(
        ids.claim(&scope, &after_window).await.unwrap(),
        Claimed::New
    );
    let now = held(
        ids.claim(&scope, &claim(&org, "k-1", body(3), 6, 3 + 60 * 24))
            .await
            .unwrap(),
    );
    assert_eq!(now.claim, after_window);
    assert_eq!(now.sealed_response, None);
}

pub async fn releasing_frees_the_key_for_the_holder_only(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    let first = claim(&org, "k-1", body(1), 1, 0);
    ids.claim(&scope, &first).await.unwrap();
    ids.release(&scope, org.id, &first.key, uuid(9))
        .await
        .unwrap();
    held(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 2, 0))
            .await
            .unwrap(),
    );
    ids.release(&scope, org.id, &first.key, first.token)
        .await
        .unwrap();
    assert_eq!(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 3, 0))
            .await
            .unwrap(),
        Claimed::New,
        "a released key is free for any request"
    );
    // A completed record is not released.
    ids.complete(&scope, org.id, &first.key, uuid(3), None, b"sealed")
        .await
        .unwrap();
    ids.release(&scope, org.id, &first.key, uuid(3))
        .await
        .unwrap();
    let kept = held(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 4, 0))
            .await
            .unwrap(),
    );
    assert_eq!(kept.sealed_response.as_deref(), Some(b"sealed".as_slice()));
}

pub async fn another_orgs_records_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let intruder = seed_org(&store, &f, "quillpay").await;
    let ids = &store.idempotency;
    let first = claim(&org, "k-1", body(1), 1, 0);
    ids.claim(&DataScope::Org(org.id), &first).await.unwrap();
    let theirs = DataScope::Org(intruder.id);
    assert_eq!(
        ids.claim(&theirs, &first).await,
        Err(StoreError::OutOfScope),
        "a claim in another org's name was accepted"
    );
    assert_eq!(
        ids.complete(&theirs, org.id, &first.key, first.token, None, b"forged")
            .await,
        Err(StoreError::Stale)
    );
    ids.release(&theirs, org.id, &first.key, first.token)
        .await
        .unwrap();
    let tenant = seed_tenant(&store, &f, &org, "t-one", &["t-one-live"]).await;
    let tenant_scope = DataScope::Tenant {
        org: org.id,
        tenant: tenant.tenant.id,
    };
    assert_eq!(
        ids.claim(&tenant_scope, &claim(&org, "k-2", body(1), 2, 0))
            .await,
        Err(StoreError::OutOfScope),
        "a tenant scope claimed an org's key"
    );
    // Untouched: still pending, and still the holder's to complete.
    ids.complete(
        &DataScope::Org(org.id),
        org.id,
        &first.key,
        first.token,
        None,
        b"sealed",
    )
    .await
    .unwrap();
}

pub async fn purging_deletes_records_past_their_window_only(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    for (n, minute) in [(1, 0), (2, 1), (3, 2), (4, 60)] {
        ids.claim(&scope, &claim(&org, &format!("k-{n}"), body(1), n, minute))
            .await
            .unwrap();
    }
    // At 24 h + 2 min the first three are past their window.
    let now = at(60 * 24 + 2);
    assert_eq!(ids.purge_idempotency(now, 2).await.unwrap(), 2);
    assert_eq!(ids.purge_idempotency(now, 10).await.unwrap(), 1);
    assert_eq!(ids.purge_idempotency(now, 10).await.unwrap(), 0);
    held(
        ids.claim(&scope, &claim(&org, "k-4", body(2), 9, 60 * 24 + 2))
            .await
            .unwrap(),
    );
    assert_eq!(
        ids.claim(&scope, &claim(&org, "k-1", body(2), 10, 60 * 24 + 2))
            .await
            .unwrap(),
        Claimed::New
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
            .idempotency
            .put_org_data_key(&DataScope::Org(org.id), org.id, &org_key(&org, 1))
            .await
            .unwrap();
        orgs.push(org);
    }
    let ids = &store.idempotency;
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

/// Deactivates `tenant`, then stores its tombstone; returns the tombstone.
async fn delete_tenant(store: &StorePorts, f: &Fixtures, tenant: &Tenant) -> Tenant {
    let deactivated = moved(tenant, TenantStatus::Deactivated, at(1));
    let dead = tombstone(&deactivated);
    for next in [&deactivated, &dead] {
        store
            .tenants
            .update_tenant(
                &DataScope::Org(tenant.org_id),
                next,
                &f.tenant_audit(next, AuditAction::TenantUpdated),
            )
            .await
            .expect("moving the tenant on");
    }
    dead
}

/// A tombstone deletes, in its own operation, every completed record about
/// its tenant (their sealed responses show the tenant's name, owner and first
/// key's secret), so their keys are free again; records about other tenants
/// or about no tenant stay.
pub async fn a_tombstone_purges_the_responses_about_its_tenant_and_no_others(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    for (n, raw, about) in [
        (1, "k-acme", Some(acme.id)),
        (2, "k-beta", Some(beta.id)),
        (3, "k-none", None),
    ] {
        let first = claim(&org, raw, body(1), n, 0);
        assert_eq!(ids.claim(&scope, &first).await.unwrap(), Claimed::New);
        ids.complete(&scope, org.id, &first.key, first.token, about, b"sealed")
            .await
            .unwrap();
    }
    let kept = held(
        ids.claim(&scope, &claim(&org, "k-acme", body(1), 4, 2))
            .await
            .unwrap(),
    );
    assert_eq!(
        kept.tenant_id,
        Some(acme.id),
        "the record forgot its tenant"
    );

    delete_tenant(&store, &f, &acme).await;
    assert_eq!(
        ids.claim(&scope, &claim(&org, "k-acme", body(1), 5, 3))
            .await
            .unwrap(),
        Claimed::New,
        "the deleted tenant's response still holds its key"
    );
    for (n, raw, about) in [(6, "k-beta", Some(beta.id)), (7, "k-none", None)] {
        let record = held(
            ids.claim(&scope, &claim(&org, raw, body(1), n, 3))
                .await
                .unwrap(),
        );
        assert_eq!(
            record.sealed_response.as_deref(),
            Some(b"sealed".as_slice())
        );
        assert_eq!(record.tenant_id, about);
    }
}

/// A response about a tenant that is deleted (or not the org's) is not
/// stored: the deletion would have had nothing to purge.
pub async fn completing_a_claim_about_a_deleted_or_foreign_tenant_is_stale(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "quillpay").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let theirs = seed_tenant(&store, &f, &other, "theirs", &["theirs-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let ids = &store.idempotency;
    let first = claim(&org, "k-1", body(1), 1, 0);
    assert_eq!(ids.claim(&scope, &first).await.unwrap(), Claimed::New);
    assert_eq!(
        ids.complete(
            &DataScope::Platform,
            org.id,
            &first.key,
            first.token,
            Some(theirs.id),
            b"sealed"
        )
        .await,
        Err(StoreError::Stale),
        "a response was filed under another org's tenant"
    );
    delete_tenant(&store, &f, &acme).await;
    assert_eq!(
        ids.complete(
            &scope,
            org.id,
            &first.key,
            first.token,
            Some(acme.id),
            b"sealed"
        )
        .await,
        Err(StoreError::Stale),
        "a response about a deleted tenant was stored"
    );
    // Still pending and the holder's: it may complete about no tenant.
    let pending = held(
        ids.claim(&scope, &claim(&org, "k-1", body(1), 2, 0))
            .await
            .unwrap(),
    );
    assert_eq!(pending.sealed_response, None);
    ids.complete(&scope, org.id, &first.key, first.token, None, b"sealed")
        .await
        .unwrap();
}

/// The count retiring a KEK version goes by: every org's data key at that KEK
/// and version, and no other.
pub async fn org_data_keys_are_counted_by_kek_and_version_over_every_org(store: StorePorts) {
    let f = Fixtures::new();
    let kek = KekId::parse("fixture-kek").unwrap();
    let v = |n| KekVersion::new(n).unwrap();
    let ids = &store.idempotency;
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
