//! `RegistrationStore`: pending registrations stored with their audit
//! record, claimed exactly once by their token's hash before they expire,
//! given back only by the claim that took them, purged once expired, and
//! seen by their org only.

use std::sync::Arc;

use chrono::Duration;
use domain::ports::{DataScope, StoreError};
use domain::{AuditAction, Email, Org, Registration, RegistrationClaim, RegistrationId, TokenHash};
use tokio::sync::Barrier;

use super::{seed_org, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, name, plan, region, tenant_key};

fn registration(f: &Fixtures, org: &Org, key: &str, token: u8, created: i64) -> Registration {
    Registration {
        id: RegistrationId::from_uuid(f.id()),
        org_id: org.id,
        name: name("Ada's workspace"),
        key: tenant_key(key),
        admin_email: Email::parse("ada@example.com").unwrap(),
        region: region("eu-west"),
        plan: plan("starter"),
        token_hash: TokenHash::from_bytes([token; 32]),
        created_at: at(created),
        expires_at: at(created) + Registration::VALID_FOR,
        used_at: None,
    }
}

async fn create(
    store: &StorePorts,
    f: &Fixtures,
    scope: &DataScope,
    org: &Org,
    registration: &Registration,
) -> Result<(), StoreError> {
    store
        .registrations
        .create_registration(
            scope,
            registration,
            &f.org_audit(org, AuditAction::RegistrationRequested),
        )
        .await
}

async fn claim(store: &StorePorts, token: u8, minutes: i64) -> RegistrationClaim {
    store
        .registrations
        .claim_registration(
            &DataScope::Platform,
            &TokenHash::from_bytes([token; 32]),
            at(minutes),
        )
        .await
        .expect("claiming a token")
}

pub async fn a_registration_is_claimed_once_read_back_exactly_and_never_after_it_expires(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let before = trail(&store, &org).await.len();
    let first = registration(&f, &org, "acme", 1, 0);
    let second = registration(&f, &org, "globex", 2, 0);
    create(&store, &f, &DataScope::Org(org.id), &org, &first)
        .await
        .expect("storing a registration");
    create(&store, &f, &DataScope::Platform, &org, &second)
        .await
        .expect("storing another");
    assert_eq!(
        trail(&store, &org).await.len(),
        before + 2,
        "one record each"
    );

    assert_eq!(claim(&store, 9, 1).await, RegistrationClaim::Unknown);
    let claimed = claim(&store, 1, 10).await;
    assert_eq!(
        claimed,
        RegistrationClaim::Claimed(Box::new(Registration {
            used_at: Some(at(10)),
            ..first.clone()
        })),
        "read back exactly, marked used at the claim"
    );
    assert_eq!(claim(&store, 1, 11).await, RegistrationClaim::Used);

    // Expiry is exclusive: at `expires_at` the link no longer works.
    let expiry = Registration::VALID_FOR.num_minutes();
    assert_eq!(claim(&store, 2, expiry).await, RegistrationClaim::Expired);
    assert_eq!(
        claim(&store, 2, expiry - 1).await,
        RegistrationClaim::Claimed(Box::new(Registration {
            used_at: Some(at(expiry - 1)),
            ..second
        }))
    );
}

pub async fn a_claim_is_given_back_only_by_the_claim_that_took_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let pending = registration(&f, &org, "acme", 1, 0);
    create(&store, &f, &DataScope::Org(org.id), &org, &pending)
        .await
        .unwrap();
    assert!(matches!(
        claim(&store, 1, 5).await,
        RegistrationClaim::Claimed(_)
    ));
    // Another time's release (a claim that lost, a stale retry) changes nothing.
    store
        .registrations
        .release_registration(&DataScope::Platform, pending.id, at(4))
        .await
        .unwrap();
    assert_eq!(claim(&store, 1, 6).await, RegistrationClaim::Used);
    store
        .registrations
        .release_registration(&DataScope::Platform, pending.id, at(5))
        .await
        .unwrap();
    assert!(
        matches!(claim(&store, 1, 7).await, RegistrationClaim::Claimed(r) if r.used_at == Some(at(7))),
        "released: claimable again"
    );
}

pub async fn concurrent_claims_of_one_token_let_exactly_one_win(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    create(
        &store,
        &f,
        &DataScope::Org(org.id),
        &org,
        &registration(&f, &org, "acme", 1, 0),
    )
    .await
    .unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let claims: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                claim(&store, 1, 3).await
            })
        })
        .collect();
    let mut won = 0;
    for task in claims {
        match task.await.expect("a claim task") {
            RegistrationClaim::Claimed(_) => won += 1,
            RegistrationClaim::Used => {}
            other => panic!("a racing claim got {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one claim wins");
}

pub async fn registrations_are_an_orgs_own_and_refused_outside_its_scope(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "other").await;
    let before = trail(&store, &org).await.len();
    let pending = registration(&f, &org, "acme", 1, 0);
    assert_eq!(
        create(&store, &f, &DataScope::Org(other.id), &org, &pending).await,
        Err(StoreError::OutOfScope),
        "another org's scope"
    );
    assert_eq!(trail(&store, &org).await.len(), before, "nothing written");
    create(&store, &f, &DataScope::Org(org.id), &org, &pending)
        .await
        .unwrap();
    let token = TokenHash::from_bytes([1; 32]);
    assert_eq!(
        store
            .registrations
            .claim_registration(&DataScope::Org(other.id), &token, at(1))
            .await,
        Ok(RegistrationClaim::Unknown),
        "another org does not find it"
    );
    assert!(matches!(
        store
            .registrations
            .claim_registration(&DataScope::Org(org.id), &token, at(1))
            .await,
        Ok(RegistrationClaim::Claimed(_))
    ));
}

pub async fn expired_registrations_are_purged_oldest_first_and_live_ones_stay(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    for (token, created) in [(1, 0), (2, 10), (3, 20), (4, 2000)] {
        let pending = registration(&f, &org, &format!("tenant-{token}"), token, created);
        create(&store, &f, &DataScope::Org(org.id), &org, &pending)
            .await
            .unwrap();
    }
    assert!(matches!(
        claim(&store, 2, 11).await,
        RegistrationClaim::Claimed(_)
    ));
    let now = at(30) + Registration::VALID_FOR;
    let purged = store
        .registrations
        .purge_registrations(now, 2)
        .await
        .unwrap();
    assert_eq!(purged, 2, "the limit");
    assert_eq!(
        claim(&store, 1, 1).await,
        RegistrationClaim::Unknown,
        "oldest"
    );
    assert_eq!(
        claim(&store, 2, 12).await,
        RegistrationClaim::Unknown,
        "used ones go too"
    );
    assert!(
        matches!(claim(&store, 3, 21).await, RegistrationClaim::Claimed(_)),
        "beyond the limit: kept"
    );
    let purged = store
        .registrations
        .purge_registrations(now + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(purged, 1, "the third, expired too");
    assert!(
        matches!(claim(&store, 4, 2001).await, RegistrationClaim::Claimed(_)),
        "a live one stays"
    );
}
