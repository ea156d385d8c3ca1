//! `UsageBatcher`: uses wait in memory until a flush, which writes the latest
//! use of each key once; a failed flush keeps them for the next one.

use domain::ports::DataScope;
use std::sync::Arc;

use adapters_cache::UsageBatcher;
use chrono::{DateTime, Utc};
use domain::ApiKey;
use domain::ports::{ApiKeyStore, KeyUsage};
use test_support::fixtures::at;

use crate::support::{Batch, Probe, World};

/// When `key` was last used, as the store has it.
async fn last_used(world: &World, key: &ApiKey) -> Option<DateTime<Utc>> {
    world
        .inner
        .get_key(&DataScope::Platform, key.org_id, key.id)
        .await
        .unwrap()
        .expect("the key exists")
        .last_used_at
}

/// A batch in id order, to compare batches whatever order they were sent in.
fn sorted(mut batch: Batch) -> Batch {
    batch.sort();
    batch
}

#[tokio::test]
async fn uses_reach_the_store_only_when_flushed() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let batcher = UsageBatcher::new(probe.clone());
    let key = &world.beta_key;
    // Fixture keys were last used at minute 2.
    assert_eq!(last_used(&world, key).await, Some(at(2)));

    batcher.key_used(key.id, at(10));

    assert_eq!(batcher.pending(), 1);
    assert_eq!(probe.usage_attempts(), 0, "the store is not touched");
    assert_eq!(last_used(&world, key).await, Some(at(2)));

    batcher.flush().await;

    assert_eq!(probe.usage_written(), vec![vec![(key.id, at(10))]]);
    assert_eq!(last_used(&world, key).await, Some(at(10)));
    assert_eq!(batcher.pending(), 0);
}

#[tokio::test]
async fn a_flush_writes_the_latest_use_of_each_key_once() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let batcher = UsageBatcher::new(probe.clone());
    let [a, b] = &world.acme_keys;

    for (key, minute) in [(a, 10), (a, 30), (b, 15), (a, 20)] {
        batcher.key_used(key.id, at(minute));
    }
    assert_eq!(batcher.pending(), 2, "one pending use per key");
    batcher.flush().await;
    batcher.flush().await;

    let written = probe.usage_written();
    assert_eq!(
        written.len(),
        1,
        "one batch; nothing left for the second flush"
    );
    assert_eq!(
        sorted(written[0].clone()),
        sorted(vec![(a.id, at(30)), (b.id, at(15))])
    );
    assert_eq!(probe.usage_attempts(), 1);
    assert_eq!(last_used(&world, a).await, Some(at(30)));
    assert_eq!(last_used(&world, b).await, Some(at(15)));
}

#[tokio::test]
async fn uses_a_failed_flush_could_not_write_wait_for_the_next() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let batcher = UsageBatcher::new(probe.clone());
    let [a, b] = &world.acme_keys;
    probe.fail_usage(true);
    batcher.key_used(a.id, at(10));

    batcher.flush().await;

    assert_eq!(probe.usage_attempts(), 1, "the flush tried");
    assert_eq!(batcher.pending(), 1, "the use is kept");
    assert_eq!(last_used(&world, a).await, Some(at(2)));

    // An older use of the same key arrives late, and a use of another key.
    batcher.key_used(a.id, at(5));
    batcher.key_used(b.id, at(7));
    probe.fail_usage(false);
    batcher.flush().await;

    assert_eq!(
        probe
            .usage_written()
            .into_iter()
            .map(sorted)
            .collect::<Vec<_>>(),
        vec![sorted(vec![(a.id, at(10)), (b.id, at(7))])],
        "the kept use, still the latest, with the new one"
    );
    assert_eq!(last_used(&world, a).await, Some(at(10)));
    assert_eq!(last_used(&world, b).await, Some(at(7)));
    assert_eq!(batcher.pending(), 0);
}

#[tokio::test]
async fn uses_arriving_during_a_flush_are_kept_for_the_next() {
    let world = World::new().await;
    let probe = Probe::new(world.inner.clone());
    let batcher = UsageBatcher::new(probe.clone());
    let [a, b] = &world.acme_keys;
    let (a_id, b_id) = (a.id, b.id);

    // During a flush that fails: a later use of the same key, and another key.
    batcher.key_used(a_id, at(10));
    probe.fail_usage(true);
    probe.during_next_usage({
        let batcher = Arc::downgrade(&batcher);
        move || {
            let batcher = batcher.upgrade().expect("the batcher");
            batcher.key_used(a_id, at(20));
            batcher.key_used(b_id, at(3));
        }
    });
    batcher.flush().await;
    assert_eq!(batcher.pending(), 2);

    // During a flush that works: another use of the same key.
    probe.fail_usage(false);
    probe.during_next_usage({
        let batcher = Arc::downgrade(&batcher);
        move || {
            let batcher = batcher.upgrade().expect("the batcher");
            batcher.key_used(a_id, at(40));
        }
    });
    batcher.flush().await;
    assert_eq!(
        batcher.pending(),
        1,
        "the use that arrived during the write"
    );
    batcher.flush().await;

    assert_eq!(
        probe
            .usage_written()
            .into_iter()
            .map(sorted)
            .collect::<Vec<_>>(),
        vec![
            sorted(vec![(a_id, at(20)), (b_id, at(3))]),
            vec![(a_id, at(40))],
        ],
        "the failed batch's older use does not win over a later one"
    );
    assert_eq!(last_used(&world, a).await, Some(at(40)));
    assert_eq!(last_used(&world, b).await, Some(at(3)));
}
