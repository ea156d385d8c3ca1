//! The delivery worker's steps through `Tenancy`, with a recording sender and
//! a manual clock: retries with growing delays, order per endpoint, 410,
//! the delivery log, redelivery and recovery, and the secrets handed over
//! during a rotation's grace.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::ports::{DataScope, EventLog, WebhookSender};
use domain::webhook_delivery::{
    ClaimedDelivery, DeliveryState, Next, OutgoingWebhook, SendOutcome, Target,
};
use domain::{
    EventFilter, EventType, GracePeriod, Limit, NewWebhook, Org, OrgRef, WebhookWithSecret,
};

use crate::support::{App, admin, spec};

/// One request as received: URL, event id, the secrets it was signed with,
/// its timestamp.
type Seen = (String, String, Vec<String>, DateTime<Utc>);

/// Answers each URL from its script (then 200), and records every request.
#[derive(Default)]
struct Receiver {
    scripts: Mutex<HashMap<String, VecDeque<u16>>>,
    seen: Mutex<Vec<Seen>>,
}

impl Receiver {
    fn script(&self, url: &str, statuses: &[u16]) {
        self.scripts
            .lock()
            .unwrap()
            .insert(url.to_owned(), statuses.iter().copied().collect());
    }

    /// (url, event id) of every request, in order.
    fn requests(&self) -> Vec<(String, String)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(u, id, _, _)| (u.clone(), id.clone()))
            .collect()
    }
}

#[async_trait]
impl WebhookSender for Receiver {
    /// Every target resolves to a public address here.
    async fn check_target(&self, _url: &str) -> Target {
        Target::Allowed
    }

    async fn send(&self, request: &OutgoingWebhook) -> SendOutcome {
        self.seen.lock().unwrap().push((
            request.url.clone(),
            request.message_id.clone(),
            request
                .secrets
                .iter()
                .map(|s| s.expose().to_owned())
                .collect(),
            request.timestamp,
        ));
        let status = self
            .scripts
            .lock()
            .unwrap()
            .get_mut(&request.url)
            .and_then(VecDeque::pop_front)
            .unwrap_or(200);
        SendOutcome::Answered {
            status,
            retry_after: None,
            latency_ms: 3,
            excerpt: format!("answer {status}"),
        }
    }
}

const A: &str = "https://a.example.com/hook";
const B: &str = "https://b.example.com/hook";

async fn endpoint(app: &App, org: &Org, url: &str) -> WebhookWithSecret {
    app.tenancy
        .create_webhook(
            &admin(),
            &OrgRef::Id(org.id),
            NewWebhook {
                url: url.into(),
                description: None,
                event_types: EventFilter::of(vec![EventType::TenantProvisioned]),
                enabled: true,
            },
        )
        .await
        .unwrap()
}

/// One worker round, one message per endpoint: claim what is due now and
/// deliver it all.
async fn round(app: &App, receiver: &Receiver) -> Vec<(ClaimedDelivery, Next)> {
    batch_round(app, receiver, 1).await
}

/// One worker round taking up to `per_endpoint` messages of each endpoint;
/// each message attempted, with what followed.
async fn batch_round(
    app: &App,
    receiver: &Receiver,
    per_endpoint: usize,
) -> Vec<(ClaimedDelivery, Next)> {
    let claimed = app
        .tenancy
        .claim_webhook_deliveries(50, per_endpoint)
        .await
        .unwrap();
    let mut done = Vec::new();
    for batch in claimed {
        let nexts = app
            .tenancy
            .deliver_webhooks(&batch, receiver)
            .await
            .unwrap();
        done.extend(batch.into_iter().zip(nexts));
    }
    done
}

async fn event_ids(app: &App, org: &Org) -> Vec<String> {
    app.store
        .events(
            &DataScope::Platform,
            org.id,
            None,
            app.now() - Duration::days(1),
            &EventFilter::of(vec![EventType::TenantProvisioned]),
            100,
        )
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect()
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_message_four_times_with_growing_delays() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    let hook = endpoint(&app, &org, A).await;
    receiver.script(A, &[500, 500, 500]);
    app.provision(&org, spec("acme")).await;

    let mut delays = Vec::new();
    let mut last = app.now();
    for attempt in 1..=4 {
        let done = round(&app, &receiver).await;
        assert_eq!(done.len(), 1, "attempt {attempt} is due");
        match done[0].1 {
            Next::RetryAt(at) => {
                assert!(attempt < 4, "the fourth is delivered");
                assert!(
                    round(&app, &receiver).await.is_empty(),
                    "nothing before its time"
                );
                app.clock.advance(at - app.now());
                delays.push(at - last);
                last = at;
            }
            Next::Delivered => assert_eq!(attempt, 4),
            Next::GaveUp => panic!("gave up"),
        }
    }
    assert_eq!(receiver.requests().len(), 4);
    assert!(
        delays.windows(2).all(|w| w[0] < w[1]),
        "delays grow: {delays:?}"
    );
    let log = app
        .tenancy
        .list_deliveries(
            &admin(),
            &OrgRef::Id(org.id),
            hook.endpoint.id,
            None,
            Limit::default(),
        )
        .await
        .unwrap();
    let statuses: Vec<Option<u16>> = log.items[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(log.items[0].state, DeliveryState::Delivered);
    assert_eq!(
        log.items[0].attempts[3].excerpt.as_deref(),
        Some("answer 200")
    );
}

#[tokio::test]
async fn an_endpoints_next_message_waits_for_the_one_being_retried_and_others_do_not() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    endpoint(&app, &org, A).await;
    endpoint(&app, &org, B).await;
    receiver.script(A, &[503]);
    app.provision(&org, spec("acme")).await;
    app.provision(&org, spec("globex")).await;
    let events = event_ids(&app, &org).await;

    let first = round(&app, &receiver).await;
    assert_eq!(first.len(), 2, "one message per endpoint at a time");
    let Some(Next::RetryAt(retry)) = first
        .iter()
        .find(|(c, _)| c.endpoint.url.as_str() == A)
        .map(|(_, n)| *n)
    else {
        panic!("A is retried")
    };
    // B moves on to its second message; A's second waits behind its first.
    let second = round(&app, &receiver).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].0.endpoint.url.as_str(), B);
    app.clock.advance(retry - app.now());
    round(&app, &receiver).await;
    round(&app, &receiver).await;
    let to_a: Vec<String> = receiver
        .requests()
        .into_iter()
        .filter(|(u, _)| u == A)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        to_a,
        [events[0].clone(), events[0].clone(), events[1].clone()],
        "in order, the first until delivered"
    );
}

#[tokio::test]
async fn a_410_disables_the_endpoint_with_an_event_and_nothing_more_goes_to_it() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    let hook = endpoint(&app, &org, A).await;
    receiver.script(A, &[410]);
    app.provision(&org, spec("acme")).await;
    app.provision(&org, spec("globex")).await;
    let done = round(&app, &receiver).await;
    assert_eq!(done[0].1, Next::GaveUp);
    let stored = app
        .tenancy
        .get_webhook(&admin(), &OrgRef::Id(org.id), hook.endpoint.id)
        .await
        .unwrap();
    assert!(!stored.enabled);
    app.clock.advance(Duration::hours(1));
    assert!(round(&app, &receiver).await.is_empty());
    assert_eq!(receiver.requests().len(), 1);
    let feed = app
        .tenancy
        .list_events(
            &admin(),
            &OrgRef::Id(org.id),
            &EventFilter::of(vec![EventType::WebhookEndpointDisabled]),
            None,
            Limit::default(),
        )
        .await
        .unwrap();
    assert_eq!(feed.items.len(), 1);
    assert_eq!(feed.items[0].data.target_id, hook.endpoint.id.as_uuid());
}

#[tokio::test]
async fn redelivery_and_recovery_resend_exactly_the_chosen_messages() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    let hook = endpoint(&app, &org, A).await;
    let at = OrgRef::Id(org.id);
    for key in ["acme", "globex", "initech"] {
        app.provision(&org, spec(key)).await;
        app.clock.advance(Duration::minutes(10));
    }
    round(&app, &receiver).await;
    round(&app, &receiver).await;
    round(&app, &receiver).await;
    let events = event_ids(&app, &org).await;
    assert_eq!(receiver.requests().len(), 3);

    let log = app
        .tenancy
        .list_deliveries(
            &admin(),
            &at,
            hook.endpoint.id,
            None,
            Limit::new(2).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(log.items.len(), 2, "newest first, paged");
    let rest = app
        .tenancy
        .list_deliveries(
            &admin(),
            &at,
            hook.endpoint.id,
            log.next_cursor.as_ref(),
            Limit::default(),
        )
        .await
        .unwrap();
    let oldest = &rest.items[0];
    assert_eq!(oldest.event.id.to_string(), events[0]);
    app.tenancy
        .redeliver_webhook(&admin(), &at, hook.endpoint.id, oldest.id)
        .await
        .unwrap();
    round(&app, &receiver).await;
    assert!(round(&app, &receiver).await.is_empty());
    assert_eq!(
        receiver.requests()[3].1,
        events[0],
        "exactly the one chosen"
    );
    assert_eq!(receiver.requests().len(), 4);

    // The second event only: from just before it to just before the third.
    let since = oldest.event.at + Duration::minutes(5);
    let until = since + Duration::minutes(10);
    let queued = app
        .tenancy
        .recover_webhook(&admin(), &at, hook.endpoint.id, since, until)
        .await
        .unwrap();
    assert_eq!(queued, 1);
    round(&app, &receiver).await;
    assert!(round(&app, &receiver).await.is_empty());
    let sent: Vec<String> = receiver.requests().into_iter().map(|(_, id)| id).collect();
    assert_eq!(sent[4..], [events[1].clone()]);

    let log = app
        .tenancy
        .list_deliveries(&admin(), &at, hook.endpoint.id, None, Limit::default())
        .await
        .unwrap();
    let attempts: usize = log.items.iter().map(|d| d.attempts.len()).sum();
    assert_eq!(attempts, 5, "the log shows every attempt");

    let unknown = app
        .tenancy
        .redeliver_webhook(
            &admin(),
            &at,
            hook.endpoint.id,
            domain::webhook_delivery::DeliveryId::from_uuid(uuid::Uuid::nil()),
        )
        .await;
    assert_eq!(unknown, Err(domain::WebhookError::DeliveryNotFound));
    let backwards = app
        .tenancy
        .recover_webhook(&admin(), &at, hook.endpoint.id, until, since)
        .await;
    assert!(matches!(
        backwards,
        Err(domain::WebhookError::Invalid("until", _))
    ));
    let too_long = app
        .tenancy
        .recover_webhook(
            &admin(),
            &at,
            hook.endpoint.id,
            since,
            since + Duration::days(31),
        )
        .await;
    assert!(matches!(
        too_long,
        Err(domain::WebhookError::Invalid("until", _))
    ));
}

#[tokio::test]
async fn during_a_rotations_grace_both_secrets_sign_and_after_it_only_the_new_one() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    let hook = endpoint(&app, &org, A).await;
    let old = hook.secret.expose().to_owned();
    let rotated = app
        .tenancy
        .rotate_webhook_secret(
            &admin(),
            &OrgRef::Id(org.id),
            hook.endpoint.id,
            GracePeriod::seconds(600).unwrap(),
        )
        .await
        .unwrap();
    let new = rotated.secret.expose().to_owned();
    app.provision(&org, spec("acme")).await;
    round(&app, &receiver).await;
    app.clock.advance(Duration::seconds(600));
    app.provision(&org, spec("globex")).await;
    round(&app, &receiver).await;
    let secrets: Vec<Vec<String>> = receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, s, _)| s.clone())
        .collect();
    assert_eq!(secrets, [vec![new.clone(), old], vec![new]]);
}

/// A backlog of events no endpoint wants (here 240 suspensions and
/// reactivations, more than a round claims) does not hold back the next
/// event an endpoint does want: one round fans the whole backlog out.
#[tokio::test]
async fn events_nobody_subscribed_to_do_not_delay_the_next_round() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    endpoint(&app, &org, A).await;
    let busy = app.provision(&org, spec("busy")).await;
    for round_trip in 0..120 {
        for action in [
            domain::LifecycleAction::Suspend,
            domain::LifecycleAction::Reactivate,
        ] {
            app.tenancy
                .transition(
                    &admin(),
                    &OrgRef::Id(org.id),
                    &domain::TenantRef::Id(busy.tenant.id),
                    action,
                    domain::Reason::parse(&format!("round trip {round_trip}")).unwrap(),
                )
                .await
                .unwrap();
        }
    }
    app.provision(&org, spec("late")).await;
    // One message of the endpoint at a time: `busy`'s, then `late`'s.
    let first = round(&app, &receiver).await;
    let second = round(&app, &receiver).await;
    assert_eq!(
        (first.len(), second.len()),
        (1, 1),
        "the late provisioning in the second round, the backlog notwithstanding"
    );
}

/// A sender that takes `by` of the manual clock's time for each request.
struct Slow<'a> {
    receiver: &'a Receiver,
    app: &'a App,
    by: Duration,
}

#[async_trait]
impl WebhookSender for Slow<'_> {
    async fn check_target(&self, url: &str) -> Target {
        self.receiver.check_target(url).await
    }

    async fn send(&self, request: &OutgoingWebhook) -> SendOutcome {
        let outcome = self.receiver.send(request).await;
        self.app.clock.advance(self.by);
        outcome
    }
}

#[tokio::test]
async fn a_batch_goes_in_order_and_stops_at_its_first_failure_the_rest_waiting_behind_it() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    let hook = endpoint(&app, &org, A).await;
    receiver.script(A, &[200, 500]);
    for key in ["acme", "globex", "initech", "umbrella"] {
        app.provision(&org, spec(key)).await;
    }
    let events = event_ids(&app, &org).await;

    let first = batch_round(&app, &receiver, 10).await;
    let nexts: Vec<Next> = first.iter().map(|(_, n)| *n).collect();
    assert_eq!(nexts.len(), 2, "stopped at the failure: {nexts:?}");
    assert_eq!(nexts[0], Next::Delivered);
    let Next::RetryAt(retry) = nexts[1] else {
        panic!("the second is retried")
    };
    let stored = app
        .tenancy
        .get_webhook(&admin(), &OrgRef::Id(org.id), hook.endpoint.id)
        .await
        .unwrap();
    assert_eq!(stored.failing_since, Some(app.now()), "failing since then");
    assert!(
        batch_round(&app, &receiver, 10).await.is_empty(),
        "the rest wait behind the one being retried"
    );

    app.clock.advance(retry - app.now());
    let second = batch_round(&app, &receiver, 10).await;
    assert_eq!(second.len(), 3);
    assert!(second.iter().all(|(_, n)| *n == Next::Delivered));
    let ids: Vec<String> = receiver.requests().into_iter().map(|(_, id)| id).collect();
    assert_eq!(
        ids,
        [0, 1, 1, 2, 3].map(|n| events[n].clone()),
        "in order, each after the one before it was delivered"
    );
    let stored = app
        .tenancy
        .get_webhook(&admin(), &OrgRef::Id(org.id), hook.endpoint.id)
        .await
        .unwrap();
    assert_eq!(stored.failing_since, None, "healthy again");
}

#[tokio::test]
async fn a_batch_starts_no_send_after_its_budget_and_leaves_the_rest_claimable_at_once() {
    let app = App::new();
    let receiver = Receiver::default();
    let org = app.org("signstack").await;
    endpoint(&app, &org, A).await;
    for key in ["acme", "globex", "initech"] {
        app.provision(&org, spec(key)).await;
    }
    let slow = Slow {
        receiver: &receiver,
        app: &app,
        by: Duration::seconds(20),
    };
    let claimed = app.tenancy.claim_webhook_deliveries(8, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "one endpoint's batch");
    assert_eq!(claimed[0].len(), 3);
    // Sent at 0 s and 20 s; at 40 s the budget (30 s) has passed.
    let nexts = app
        .tenancy
        .deliver_webhooks(&claimed[0], &slow)
        .await
        .unwrap();
    assert_eq!(nexts, [Next::Delivered, Next::Delivered]);
    let rest = batch_round(&app, &receiver, 10).await;
    assert_eq!(rest.len(), 1, "the unsent one is not held by the lease");
    assert_eq!(rest[0].0.delivery.id, claimed[0][2].delivery.id);
    assert_eq!(receiver.requests().len(), 3);
}
