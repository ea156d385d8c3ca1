//! `CachedStore`: answers are served from the cache until invalidated; writes
//! through it invalidate at once; a lookup that raced with an invalidation is
//! not cached; the cache is bounded and its entries expire.

use domain::ports::DataScope;
use std::sync::Arc;
use std::time::Duration;

use adapters_cache::{CacheLimits, CachedStore};
use adapters_memory::ManualClock;
use domain::ports::{ApiKeyStore, TenantStore};
use domain::{AuditAction, KeyHash, TenantStatus, VerifyCode};
use test_support::fixtures::at;

use crate::support::{Probe, World, verdict};

fn cache_over<S>(inner: Arc<S>) -> CachedStore<S> {
    CachedStore::new(inner, CacheLimits::default(), clock())
}

/// A clock that stands still unless a test moves it.
fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::default())
}

/// Looks every key of the world up through `cache` so that each is cached,
/// checking each is valid to begin with.
async fn warm(cache: &dyn ApiKeyStore, world: &World) {
    for key in world.keys() {
        assert_eq!(
            verdict(cache, &key.hash).await,
            VerifyCode::Valid,
            "{}",
            key.name
        );
    }
}

#[tokio::test]
async fn a_cached_answer_is_served_until_its_key_is_invalidated() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    let [key, sibling] = &world.acme_keys;

    // Behind the cache's back, as another instance would.
    world.revoke(&*world.inner, key).await;
    world.revoke(&*world.inner, sibling).await;
    assert_eq!(verdict(&*world.inner, &key.hash).await, VerifyCode::Revoked);

    assert_eq!(
        verdict(&cache, &key.hash).await,
        VerifyCode::Valid,
        "served from the cache"
    );
    cache.invalidate_key(&key.hash);
    assert_eq!(verdict(&cache, &key.hash).await, VerifyCode::Revoked);
    assert_eq!(
        verdict(&cache, &sibling.hash).await,
        VerifyCode::Valid,
        "another key stays cached"
    );
}

#[tokio::test]
async fn invalidating_a_tenant_forgets_its_keys_and_no_others() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    world
        .move_tenant(&*world.inner, &world.acme.tenant, TenantStatus::Suspended)
        .await;
    world.revoke(&*world.inner, &world.beta_key).await;
    world.revoke(&*world.inner, &world.org_key).await;
    for key in world.keys() {
        assert_eq!(
            verdict(&cache, &key.hash).await,
            VerifyCode::Valid,
            "{} served from the cache",
            key.name
        );
    }

    cache.invalidate_tenant(world.acme.tenant.id);

    for key in &world.acme_keys {
        assert_eq!(
            verdict(&cache, &key.hash).await,
            VerifyCode::TenantSuspended,
            "{}",
            key.name
        );
    }
    assert_eq!(
        verdict(&cache, &world.beta_key.hash).await,
        VerifyCode::Valid,
        "another tenant's key stays cached"
    );
    assert_eq!(
        verdict(&cache, &world.org_key.hash).await,
        VerifyCode::Valid,
        "an org key stays cached"
    );
    cache.invalidate_tenant(world.beta.tenant.id);
    assert_eq!(
        verdict(&cache, &world.beta_key.hash).await,
        VerifyCode::Revoked
    );
}

#[tokio::test]
async fn clearing_forgets_every_key() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    for key in world.keys() {
        world.revoke(&*world.inner, key).await;
        assert_eq!(
            verdict(&cache, &key.hash).await,
            VerifyCode::Valid,
            "{} served from the cache",
            key.name
        );
    }

    cache.clear();

    for key in world.keys() {
        assert_eq!(
            verdict(&cache, &key.hash).await,
            VerifyCode::Revoked,
            "{}",
            key.name
        );
    }
}

#[tokio::test]
async fn a_revocation_through_the_cache_is_seen_by_the_very_next_lookup() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    let [key, sibling] = &world.acme_keys;
    // Marks the sibling's cached entry stale, to see whether it was kept.
    world.revoke(&*world.inner, sibling).await;

    world.revoke(&cache, key).await;

    assert_eq!(verdict(&cache, &key.hash).await, VerifyCode::Revoked);
    assert_eq!(
        verdict(&cache, &sibling.hash).await,
        VerifyCode::Valid,
        "another key stays cached"
    );
}

#[tokio::test]
async fn a_rotation_through_the_cache_is_seen_by_the_very_next_lookup() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    let [key, sibling] = &world.acme_keys;
    world.revoke(&*world.inner, sibling).await;
    let (old, new) = world.f.rotation(key, at(50));
    // The new key is unknown until the rotation: that answer must not stick.
    assert_eq!(verdict(&cache, &new.hash).await, VerifyCode::NotFound);

    cache
        .rotate_key(
            &DataScope::Platform,
            &old,
            &new,
            &world.f.key_audit(&old, AuditAction::ApiKeyRotated),
        )
        .await
        .unwrap();

    assert_eq!(verdict(&cache, &old.hash).await, VerifyCode::Revoked);
    assert_eq!(verdict(&cache, &new.hash).await, VerifyCode::Valid);
    assert_eq!(
        verdict(&cache, &sibling.hash).await,
        VerifyCode::Valid,
        "another key stays cached"
    );
}

#[tokio::test]
async fn tenant_updates_through_the_cache_are_seen_by_the_very_next_lookup() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    warm(&cache, &world).await;
    // Marks the other entries stale, to see whether they were kept.
    world.revoke(&*world.inner, &world.beta_key).await;
    world.revoke(&*world.inner, &world.org_key).await;
    let acme = &world.acme.tenant;

    let steps = [
        (TenantStatus::Suspended, VerifyCode::TenantSuspended),
        (TenantStatus::Active, VerifyCode::Valid),
        (TenantStatus::Deactivated, VerifyCode::TenantDeactivated),
        (TenantStatus::Active, VerifyCode::Revoked),
    ];
    for (status, expected) in steps {
        world.move_tenant(&cache, acme, status).await;

        for key in &world.acme_keys {
            assert_eq!(
                verdict(&cache, &key.hash).await,
                expected,
                "{} after the move to {status:?}",
                key.name
            );
        }
        for key in [&world.beta_key, &world.org_key] {
            assert_eq!(
                verdict(&cache, &key.hash).await,
                VerifyCode::Valid,
                "{} stays cached after the move to {status:?}",
                key.name
            );
        }
    }
}

#[tokio::test]
async fn a_lookup_that_raced_with_an_invalidation_is_not_cached() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let cache = Arc::new(cache_over(probe.clone()));
    // Without a race, an answer is cached: the second lookup stays in the cache.
    assert_eq!(
        verdict(&*cache, &world.org_key.hash).await,
        VerifyCode::Valid
    );
    assert_eq!(
        verdict(&*cache, &world.org_key.hash).await,
        VerifyCode::Valid
    );
    assert_eq!(
        probe.finds(),
        1,
        "the second lookup was served from the cache"
    );

    let [revoked_key, suspended_key] = &world.acme_keys;
    let cases = [
        (
            "a revocation through the cache",
            revoked_key,
            VerifyCode::Revoked,
        ),
        (
            "a tenant invalidation after a suspension elsewhere",
            suspended_key,
            VerifyCode::TenantSuspended,
        ),
    ];
    for (what, key, expected) in cases {
        let hold = probe.hold_next_find();
        let lookup = tokio::spawn({
            let cache = cache.clone();
            let hash = key.hash;
            async move { verdict(&*cache, &hash).await }
        });
        // The lookup has read its (soon stale) answer and waits.
        hold.entered.notified().await;
        if expected == VerifyCode::Revoked {
            world.revoke(&*cache, key).await;
        } else {
            world
                .move_tenant(&*world.inner, &world.acme.tenant, TenantStatus::Suspended)
                .await;
            cache.invalidate_tenant(world.acme.tenant.id);
        }
        hold.release.notify_one();
        assert_eq!(
            lookup.await.unwrap(),
            VerifyCode::Valid,
            "{what}: the raced lookup read before the change"
        );

        let finds = probe.finds();
        assert_eq!(verdict(&*cache, &key.hash).await, expected, "{what}");
        assert_eq!(
            probe.finds(),
            finds + 1,
            "{what}: the next lookup went to the store"
        );
    }
}

#[tokio::test]
async fn the_cache_holds_at_most_max_keys() {
    let world = World::new().await;
    let limits = CacheLimits {
        max_keys: 10,
        ..CacheLimits::default()
    };
    let cache = CachedStore::new(world.inner.clone(), limits, clock());
    let ns = &world.acme.namespaces[0];
    let mut keys = Vec::new();
    for i in 0..100 {
        let key = world.f.namespace_api_key(ns, &format!("key {i}"));
        world.create(&key).await;
        keys.push(key);
    }

    for key in &keys {
        assert_eq!(verdict(&cache, &key.hash).await, VerifyCode::Valid);
    }

    let cached = cache.cached_keys();
    assert!(cached <= 10, "{cached} keys cached");
    assert!(cached > 0, "the cache keeps some");
}

#[tokio::test]
async fn an_entry_missed_by_every_invalidation_expires_after_its_time_to_live() {
    let world = World::new().await;
    let limits = CacheLimits {
        time_to_live: Duration::from_millis(50),
        ..CacheLimits::default()
    };
    let clock = clock();
    let cache = CachedStore::new(world.inner.clone(), limits, clock.clone());
    let key = &world.beta_key;
    assert_eq!(verdict(&cache, &key.hash).await, VerifyCode::Valid);
    world.revoke(&*world.inner, key).await;
    assert_eq!(
        verdict(&cache, &key.hash).await,
        VerifyCode::Valid,
        "within its time-to-live the entry is served"
    );

    clock.advance(chrono::TimeDelta::milliseconds(50));
    assert_eq!(
        verdict(&cache, &key.hash).await,
        VerifyCode::Revoked,
        "the revocation was never seen through the cache"
    );
}

#[tokio::test]
async fn an_unknown_key_is_asked_again_after_its_time_to_live() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let clock = clock();
    let limits = CacheLimits {
        unknown_time_to_live: Duration::from_secs(5),
        ..CacheLimits::default()
    };
    let cache = CachedStore::new(probe.clone(), limits, clock.clone());
    assert_eq!(verdict(&cache, &unknown(7)).await, VerifyCode::NotFound);
    clock.advance(chrono::TimeDelta::milliseconds(4_999));
    assert_eq!(verdict(&cache, &unknown(7)).await, VerifyCode::NotFound);
    assert_eq!(probe.finds(), 1, "remembered within its time-to-live");
    clock.advance(chrono::TimeDelta::milliseconds(1));
    assert_eq!(verdict(&cache, &unknown(7)).await, VerifyCode::NotFound);
    assert_eq!(probe.finds(), 2, "asked again once it expired");
}

/// A hash no key has.
fn unknown(n: u8) -> KeyHash {
    KeyHash::from_bytes([n; 32])
}

// Before unknown keys were remembered, every lookup of one reached the store:
// "left: 5 right: 1".
#[tokio::test]
async fn an_unknown_key_reaches_the_store_once_however_often_it_is_tried() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let cache = cache_over(probe.clone());
    for _ in 0..5 {
        assert_eq!(verdict(&cache, &unknown(1)).await, VerifyCode::NotFound);
    }
    assert_eq!(
        probe.finds(),
        1,
        "the other lookups were answered from memory"
    );
    assert_eq!(verdict(&cache, &unknown(2)).await, VerifyCode::NotFound);
    assert_eq!(probe.finds(), 2, "each unknown key is asked about once");
}

#[tokio::test]
async fn a_key_created_through_the_cache_is_found_at_once_though_it_was_unknown() {
    let world = World::new().await;
    let cache = cache_over(world.inner.clone());
    let ns = &world.acme.namespaces[0];
    let [_, rotated_from] = &world.acme_keys;

    // Created one by one, provisioned with a tenant, and minted by rotation.
    let created = world.f.namespace_api_key(ns, "created");
    let mut other = world.f.provisioning(&world.org, "gamma", &["gamma-live"]);
    other.keys.push(
        world
            .f
            .namespace_api_key(&other.namespaces[0], "gamma first"),
    );
    let mut rotated = world.f.namespace_api_key(ns, "rotated");
    rotated.rotated_from = Some(rotated_from.id);
    let provisioned = other.keys[0].clone();
    for hash in [created.hash, provisioned.hash, rotated.hash] {
        assert_eq!(verdict(&cache, &hash).await, VerifyCode::NotFound);
    }

    world.create_through(&cache, &created).await;
    cache
        .provision(&DataScope::Platform, &other)
        .await
        .expect("provisioning");
    let mut old = world
        .inner
        .get_key(&DataScope::Platform, rotated_from.org_id, rotated_from.id)
        .await
        .unwrap()
        .unwrap();
    old.version += 1;
    cache
        .rotate_key(
            &DataScope::Platform,
            &old,
            &rotated,
            &world.f.key_audit(&rotated, AuditAction::ApiKeyRotated),
        )
        .await
        .expect("rotating");

    for (what, hash) in [
        ("created", created.hash),
        ("provisioned", provisioned.hash),
        ("rotated", rotated.hash),
    ] {
        assert_eq!(verdict(&cache, &hash).await, VerifyCode::Valid, "{what}");
    }
}

#[tokio::test]
async fn a_lookup_that_raced_with_a_creation_does_not_remember_the_key_as_unknown() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let cache = Arc::new(cache_over(probe.clone()));
    let key = world.f.namespace_api_key(&world.acme.namespaces[0], "late");

    let hold = probe.hold_next_find();
    let lookup = tokio::spawn({
        let cache = cache.clone();
        let hash = key.hash;
        async move { verdict(&*cache, &hash).await }
    });
    // The lookup has read "unknown" and waits while the key is created.
    hold.entered.notified().await;
    world.create_through(&*cache, &key).await;
    hold.release.notify_one();
    assert_eq!(lookup.await.unwrap(), VerifyCode::NotFound, "read before");
    assert_eq!(verdict(&*cache, &key.hash).await, VerifyCode::Valid);
}

#[tokio::test]
async fn unknown_keys_are_remembered_within_their_own_bound_and_not_with_a_zero_ttl() {
    let world = World::new().await;
    let limits = CacheLimits {
        max_unknown_keys: 10,
        ..CacheLimits::default()
    };
    let cache = CachedStore::new(world.inner.clone(), limits, clock());
    warm(&cache, &world).await;
    for n in 0..100 {
        assert_eq!(verdict(&cache, &unknown(n)).await, VerifyCode::NotFound);
    }
    let remembered = cache.remembered_unknown_keys();
    assert!(remembered <= 10, "{remembered} unknown keys remembered");
    assert!(remembered > 0, "some are");
    assert_eq!(
        cache.cached_keys(),
        4,
        "a flood of unknown keys evicts no known one"
    );

    let probe = Probe::new(world.inner.clone());
    let never = CachedStore::new(
        probe.clone(),
        CacheLimits {
            unknown_time_to_live: Duration::ZERO,
            ..CacheLimits::default()
        },
        clock(),
    );
    for _ in 0..3 {
        assert_eq!(verdict(&never, &unknown(1)).await, VerifyCode::NotFound);
    }
    assert_eq!(probe.finds(), 3);
    assert_eq!(never.remembered_unknown_keys(), 0);
}
