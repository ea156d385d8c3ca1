//! `IdempotencyStore`: claims, completion, release and purge (org data keys
//! are in `data_keys.rs`).

use domain::ports::{DataScope, StoreError};
use domain::{
    AuditAction, Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Org,
    RequestFingerprint, Tenant, TenantStatus,
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

fn held(outcome: Claimed) -> IdempotencyRecord {
    match outcome {
        Claimed::Held(record) => record,
        Claimed::New => panic!("the claim was stored where a record held the key"),
    }
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
