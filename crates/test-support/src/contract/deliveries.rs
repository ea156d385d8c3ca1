//! `DeliveryStore`: fan-out, claims (one at a time per endpoint, never one
//! message twice), the attempt log, and requeueing exactly what is asked.

use std::collections::HashSet;

use domain::ports::{DataScope, EndpointChange, StoreError};
use domain::webhook_delivery::{Attempt, DeliveryId, DeliveryState, Next, RecordedAttempt};
use domain::{AuditAction, EventFilter, EventType, Org, WebhookEndpoint};

use super::webhooks::{audit, create, endpoint};
use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at};

fn recorded(delivery: DeliveryId, attempt: Attempt, next: Next) -> RecordedAttempt {
    RecordedAttempt {
        delivery,
        attempt,
        next,
    }
}

fn attempt(minute: i64, status: u16) -> Attempt {
    Attempt {
        at: at(minute),
        status: Some(status),
        latency_ms: 7,
        excerpt: Some(format!("status {status}")),
        error: None,
    }
}

/// An endpoint of `org` receiving every event type.
async fn all_events(store: &StorePorts, f: &Fixtures, org: &Org, path: &str) -> WebhookEndpoint {
    let e = WebhookEndpoint {
        event_types: EventFilter::all(),
        ..endpoint(f, org, path)
    };
    create(store, f, &e).await;
    e
}

async fn log(store: &StorePorts, e: &WebhookEndpoint) -> Vec<domain::webhook_delivery::Delivery> {
    store
        .deliveries
        .deliveries(&DataScope::Org(e.org_id), e.org_id, e.id, None, ALL)
        .await
        .expect("reading the delivery log")
}

pub async fn fan_out_queues_one_message_per_subscribed_enabled_endpoint_once(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let every = all_events(&store, &f, &org, "every").await;
    // Subscribed to suspensions and revocations only.
    let picky = endpoint(&f, &org, "picky");
    create(&store, &f, &picky).await;
    let off = WebhookEndpoint {
        enabled: false,
        ..endpoint(&f, &org, "off")
    };
    create(&store, &f, &off).await;
    let theirs = all_events(&store, &f, &other, "theirs").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;

    assert_eq!(store.deliveries.fan_out(at(1), ALL).await.unwrap(), 2);
    assert_eq!(
        store.deliveries.fan_out(at(2), ALL).await.unwrap(),
        0,
        "once"
    );
    let queued = log(&store, &every).await;
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|d| d.state == DeliveryState::Pending
        && d.event.event_type == EventType::TenantProvisioned
        && d.queued_at == at(1)
        && d.attempts.is_empty()));
    let feed = store
        .events
        .events(
            &DataScope::Platform,
            org.id,
            None,
            at(-60),
            &EventFilter::all(),
            ALL,
        )
        .await
        .unwrap();
    let newest_first: Vec<_> = feed.iter().rev().map(|e| e.id).collect();
    assert_eq!(
        queued.iter().map(|d| d.event.id).collect::<Vec<_>>(),
        newest_first,
        "the log lists newest first"
    );
    assert_eq!(log(&store, &picky).await, [], "not subscribed");
    assert_eq!(log(&store, &off).await, [], "disabled");
    assert_eq!(log(&store, &theirs).await, [], "another org's");
}

pub async fn claims_take_each_endpoints_oldest_pending_message_until_its_lease_ends(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let a = all_events(&store, &f, &org, "a").await;
    let b = all_events(&store, &f, &org, "b").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;
    store.deliveries.fan_out(at(0), ALL).await.unwrap();
    let first_event = log(&store, &a).await[1].event.id;

    let claimed = store
        .deliveries
        .claim_due(at(1), at(2), ALL, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "one per endpoint");
    assert!(claimed.iter().all(|c| c.delivery.event.id == first_event));
    let ends: HashSet<_> = claimed.iter().map(|c| c.endpoint.id).collect();
    assert_eq!(ends, HashSet::from([a.id, b.id]));
    assert_eq!(
        store
            .deliveries
            .claim_due(at(1), at(2), ALL, 1)
            .await
            .unwrap(),
        [],
        "held until the lease ends, and the next message waits behind"
    );
    let again = store
        .deliveries
        .claim_due(at(2), at(10), ALL, 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 2, "a lease that ended is claimable again");
    assert!(again.iter().all(|c| c.delivery.event.id == first_event));

    let on_a = again.iter().find(|c| c.endpoint.id == a.id).unwrap();
    store
        .deliveries
        .record_attempts(
            &[recorded(on_a.delivery.id, attempt(3, 200), Next::Delivered)],
            &EndpointChange::None,
        )
        .await
        .unwrap();
    let next = store
        .deliveries
        .claim_due(at(3), at(4), ALL, 1)
        .await
        .unwrap();
    assert_eq!(next.len(), 1, "a's next message; b's first is leased");
    assert_eq!(next[0].endpoint.id, a.id);
    assert_ne!(next[0].delivery.event.id, first_event);
    assert_eq!(
        store
            .deliveries
            .claim_due(at(3), at(4), 0, 1)
            .await
            .unwrap(),
        [],
        "at most the limit"
    );
}

pub async fn a_batch_claim_takes_an_endpoints_oldest_messages_in_order_until_recorded(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let a = all_events(&store, &f, &org, "a").await;
    for key in ["acme", "globex", "initech"] {
        seed_tenant(&store, &f, &org, key, &[&format!("{key}-live")]).await;
    }
    store.deliveries.fan_out(at(0), ALL).await.unwrap();
    let oldest_first: Vec<DeliveryId> = log(&store, &a).await.iter().rev().map(|d| d.id).collect();

    let claim = |minute| store.deliveries.claim_due(at(minute), at(30), ALL, 2);
    let batch: Vec<DeliveryId> = claim(1)
        .await
        .unwrap()
        .iter()
        .map(|c| c.delivery.id)
        .collect();
    assert_eq!(batch, oldest_first[..2], "the two oldest, oldest first");
    assert_eq!(claim(1).await.unwrap(), [], "the endpoint is held");

    // Only the first was sent (the batch stopped): the second is not held.
    let delivered = |id| recorded(id, attempt(2, 200), Next::Delivered);
    store
        .deliveries
        .record_attempts(&[delivered(batch[0])], &EndpointChange::None)
        .await
        .unwrap();
    let batch: Vec<DeliveryId> = claim(2)
        .await
        .unwrap()
        .iter()
        .map(|c| c.delivery.id)
        .collect();
    assert_eq!(batch, oldest_first[1..], "claimable again at once");

    assert_eq!(
        store
            .deliveries
            .record_attempts(
                &[delivered(oldest_first[1]), delivered(oldest_first[0])],
                &EndpointChange::None,
            )
            .await,
        Err(StoreError::Stale),
        "one of them is no longer pending"
    );
    let entries = log(&store, &a).await;
    assert_eq!(
        entries.iter().map(|d| d.attempts.len()).collect::<Vec<_>>(),
        [0, 0, 1],
        "nothing written"
    );
    assert_eq!(entries[1].state, DeliveryState::Pending);
}

pub async fn recording_attempts_moves_messages_and_endpoints_and_a_disable_is_audited(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let a = all_events(&store, &f, &org, "a").await;
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    store.deliveries.fan_out(at(0), ALL).await.unwrap();
    let claimed = store
        .deliveries
        .claim_due(at(0), at(1), ALL, 1)
        .await
        .unwrap();
    let id = claimed[0].delivery.id;

    store
        .deliveries
        .record_attempts(
            &[recorded(id, attempt(1, 500), Next::RetryAt(at(5)))],
            &EndpointChange::FailingSince(at(1)),
        )
        .await
        .unwrap();
    let stored = store
        .webhooks
        .get_endpoint(&DataScope::Platform, org.id, a.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.failing_since, Some(at(1)));
    assert_eq!(
        store
            .deliveries
            .claim_due(at(4), at(9), ALL, 1)
            .await
            .unwrap(),
        [],
        "not due yet"
    );
    let due = store
        .deliveries
        .claim_due(at(5), at(9), ALL, 1)
        .await
        .unwrap();
    assert_eq!(due[0].delivery.id, id);
    assert_eq!(due[0].endpoint.failing_since, Some(at(1)));

    let before = trail(&store, &org).await.len();
    let disabled = audit(&f, &a, AuditAction::WebhookEndpointDisabled);
    store
        .deliveries
        .record_attempts(
            &[recorded(id, attempt(6, 410), Next::GaveUp)],
            &EndpointChange::Disable(disabled.clone()),
        )
        .await
        .unwrap();
    let stored = store
        .webhooks
        .get_endpoint(&DataScope::Platform, org.id, a.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.enabled);
    assert_eq!(stored.failing_since, None);
    assert_eq!(stored.version, a.version + 1);
    let records = trail(&store, &org).await;
    assert_eq!(records.len(), before + 1);
    assert_eq!(records.last(), Some(&disabled));

    let entry = &log(&store, &a).await[0];
    assert_eq!(entry.state, DeliveryState::GaveUp);
    assert_eq!(
        entry.attempts,
        [attempt(1, 500), attempt(6, 410)],
        "every attempt, in order"
    );
    assert_eq!(
        store
            .deliveries
            .record_attempts(
                &[recorded(id, attempt(7, 200), Next::Delivered)],
                &EndpointChange::Healthy
            )
            .await,
        Err(StoreError::Stale),
        "a message no longer pending"
    );
    assert_eq!(log(&store, &a).await[0].attempts.len(), 2);
}

pub async fn redelivery_and_recovery_requeue_exactly_the_chosen_messages(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let a = all_events(&store, &f, &org, "a").await;
    for key in ["acme", "globex", "initech"] {
        seed_tenant(&store, &f, &org, key, &[&format!("{key}-live")]).await;
    }
    store.deliveries.fan_out(at(0), ALL).await.unwrap();
    for minute in 1..=3 {
        let claimed = store
            .deliveries
            .claim_due(at(minute), at(minute), ALL, 1)
            .await
            .unwrap();
        store
            .deliveries
            .record_attempts(
                &[recorded(
                    claimed[0].delivery.id,
                    attempt(minute, 200),
                    Next::Delivered,
                )],
                &EndpointChange::None,
            )
            .await
            .unwrap();
    }
    let delivered = log(&store, &a).await;
    let oldest = delivered[2].clone();
    let scope = DataScope::Org(org.id);
    assert!(
        !store
            .deliveries
            .redeliver(&DataScope::Org(other.id), org.id, a.id, oldest.id, at(4))
            .await
            .unwrap(),
        "another org's scope redelivers nothing"
    );
    assert!(
        !store
            .deliveries
            .redeliver(&scope, org.id, a.id, DeliveryId::from_uuid(f.id()), at(4))
            .await
            .unwrap(),
        "an unknown message"
    );
    assert!(
        store
            .deliveries
            .redeliver(&scope, org.id, a.id, oldest.id, at(4))
            .await
            .unwrap()
    );
    let claimed = store
        .deliveries
        .claim_due(at(4), at(5), ALL, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery.id, oldest.id, "exactly the one chosen");
    assert_eq!(claimed[0].delivery.attempts.len(), 1, "its log kept");
    let relog = log(&store, &a).await;
    assert_eq!(relog[0].id, oldest.id, "requeued behind the others");

    // Every fixture event happens at the epoch: [epoch, epoch + 1 min)
    // holds all three, an empty range none.
    assert_eq!(
        store
            .deliveries
            .recover(&scope, org.id, a.id, at(1), at(2), at(6))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .deliveries
            .recover(&DataScope::Org(other.id), org.id, a.id, at(0), at(1), at(6))
            .await
            .unwrap(),
        0,
        "another org's scope recovers nothing"
    );
    assert_eq!(
        store
            .deliveries
            .recover(&scope, org.id, a.id, at(0), at(1), at(6))
            .await
            .unwrap(),
        3
    );
    let states: Vec<DeliveryState> = log(&store, &a).await.iter().map(|d| d.state).collect();
    assert_eq!(states, [DeliveryState::Pending; 3]);

    // Deleting the endpoint deletes its messages.
    store
        .webhooks
        .delete_endpoint(
            &scope,
            &a,
            &audit(&f, &a, AuditAction::WebhookEndpointDeleted),
        )
        .await
        .unwrap();
    assert_eq!(log(&store, &a).await, []);
    assert_eq!(
        store
            .deliveries
            .claim_due(at(600), at(601), ALL, 1)
            .await
            .unwrap(),
        []
    );
}

pub async fn concurrent_claimers_never_take_one_message_twice(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let mut endpoints = Vec::new();
    for n in 0..8 {
        endpoints.push(all_events(&store, &f, &org, &format!("e{n}")).await);
    }
    seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    // Two fan-outs racing: each event is queued once per endpoint.
    let (x, y) = tokio::join!(
        store.deliveries.fan_out(at(0), ALL),
        store.deliveries.fan_out(at(0), ALL)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    let mut handles = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..4 {
                let claimed = store
                    .deliveries
                    .claim_due(at(1), at(30), 3, 1)
                    .await
                    .unwrap();
                mine.extend(claimed.into_iter().map(|c| c.delivery.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.expect("a claimer"));
    }
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "a message claimed twice: {all:?}"
    );
    assert_eq!(distinct.len(), endpoints.len(), "and none lost");
}

pub async fn old_events_are_purged_with_their_finished_messages_and_pending_ones_stay(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let a = all_events(&store, &f, &org, "a").await;
    for key in ["acme", "globex"] {
        seed_tenant(&store, &f, &org, key, &[&format!("{key}-live")]).await;
    }
    store.deliveries.fan_out(at(0), ALL).await.unwrap();
    // Not fanned out yet: kept whatever its age.
    seed_tenant(&store, &f, &org, "initech", &["initech-live"]).await;
    let claimed = store
        .deliveries
        .claim_due(at(1), at(2), ALL, 1)
        .await
        .unwrap();
    let delivered = claimed[0].delivery.clone();
    store
        .deliveries
        .record_attempts(
            &[recorded(delivered.id, attempt(1, 200), Next::Delivered)],
            &EndpointChange::None,
        )
        .await
        .unwrap();
    let every = EventFilter::all();
    let feed = || {
        store
            .events
            .events(&DataScope::Platform, org.id, None, at(-60), &every, ALL)
    };
    let before = feed().await.unwrap().len();

    // Every fixture event happens at the epoch, `at(0)`.
    assert_eq!(
        store.deliveries.purge_events(at(0), ALL).await.unwrap(),
        0,
        "none older"
    );
    assert_eq!(
        store.deliveries.purge_events(at(1), 0).await.unwrap(),
        0,
        "the limit"
    );
    assert_eq!(
        store.deliveries.purge_events(at(1), ALL).await.unwrap(),
        1,
        "the delivered one only: one pending, one not fanned out"
    );
    let events = feed().await.unwrap();
    assert_eq!(events.len(), before - 1);
    assert!(events.iter().all(|e| e.id != delivered.event.id));
    let kept = log(&store, &a).await;
    assert_eq!(kept.len(), 1, "its message went with it");
    assert_eq!(kept[0].state, DeliveryState::Pending);
    assert_eq!(
        store.deliveries.fan_out(at(2), ALL).await.unwrap(),
        1,
        "fan-out goes on"
    );
    assert_eq!(log(&store, &a).await.len(), 2);
}
