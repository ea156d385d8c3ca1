//! `DeliveryStore`: the webhook delivery queue under the one lock, so fan-out
//! and claims are trivially exclusive; the order and lease rules are those
//! the Postgres store enforces with `FOR UPDATE SKIP LOCKED`.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, DeliveryStore, EndpointChange, StoreError};
use domain::webhook_delivery::{
    ClaimedDelivery, Delivery, DeliveryId, DeliveryState, Next, RecordedAttempt,
};
use domain::{Event, OrgId, WebhookEndpoint, WebhookId};
use uuid::Uuid;

use super::{MemoryStore, State};

/// The queue: each message with its place (`seq`, the order queued).
#[derive(Default)]
pub(crate) struct Deliveries {
    next_seq: u64,
    rows: HashMap<DeliveryId, (u64, Delivery)>,
    by_pair: HashMap<(Uuid, WebhookId), DeliveryId>,
    /// Each endpoint's pending messages by place (the Postgres pending index).
    pending: HashMap<WebhookId, BTreeMap<u64, DeliveryId>>,
    /// How many outbox events (in order) are fanned out.
    fanned_out: usize,
}

impl Deliveries {
    /// Drops every message of a deleted endpoint (Postgres: the cascade).
    pub(crate) fn forget_endpoint(&mut self, endpoint: WebhookId) {
        self.rows.retain(|_, (_, d)| d.endpoint_id != endpoint);
        self.by_pair.retain(|(_, e), _| *e != endpoint);
        self.pending.remove(&endpoint);
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Queues `event` for `endpoint` at `now`: a new message, or the one it
    /// has queued again behind every other.
    fn queue(&mut self, event: &Event, endpoint: WebhookId, now: DateTime<Utc>) {
        let seq = self.seq();
        if let Some(id) = self.by_pair.get(&(event.id, endpoint)).copied() {
            if let Some((place, d)) = self.rows.get_mut(&id) {
                let queue = self.pending.entry(endpoint).or_default();
                queue.remove(place);
                queue.insert(seq, id);
                *place = seq;
                d.state = DeliveryState::Pending;
                d.queued_at = now;
                d.next_attempt_at = now;
            }
            return;
        }
        // Unique within the store: the sequence number is.
        let id = DeliveryId::from_uuid(Uuid::from_u64_pair(u64::MAX, seq));
        self.by_pair.insert((event.id, endpoint), id);
        self.pending.entry(endpoint).or_default().insert(seq, id);
        self.rows.insert(
            id,
            (
                seq,
                Delivery {
                    id,
                    org_id: event.org_id,
                    endpoint_id: endpoint,
                    event: event.clone(),
                    state: DeliveryState::Pending,
                    queued_at: now,
                    next_attempt_at: now,
                    attempts: Vec::new(),
                },
            ),
        );
    }
}

fn receives(endpoint: &WebhookEndpoint, event: &Event) -> bool {
    endpoint.org_id == event.org_id && endpoint.event_types.matches(event.event_type)
}

impl State {
    fn endpoint_of(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
    ) -> Option<&WebhookEndpoint> {
        self.webhooks
            .get(&endpoint)
            .filter(|e| e.org_id == org && scope.sees_org_level(org))
    }
}

#[async_trait]
impl DeliveryStore for MemoryStore {
    async fn fan_out(&self, now: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        // The worker asks many times a second: with nothing to do, it must
        // not take the write lock, which would stall every reader meanwhile.
        {
            let s = self.read();
            if s.deliveries.fanned_out >= s.outbox.events.len() {
                return Ok(0);
            }
        }
        let mut s = self.write();
        let start = s.deliveries.fanned_out;
        let events: Vec<Event> = s.outbox.events[start..]
            .iter()
            .take(limit)
            .cloned()
            .collect();
        for event in &events {
            let targets: Vec<WebhookId> = s
                .webhooks
                .values()
                .filter(|e| e.enabled && receives(e, event))
                .map(|e| e.id)
                .collect();
            for endpoint in targets {
                s.deliveries.queue(event, endpoint, now);
            }
        }
        s.deliveries.fanned_out = start + events.len();
        Ok(events.len())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        endpoints: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        if self
            .read()
            .deliveries
            .pending
            .values()
            .all(BTreeMap::is_empty)
        {
            return Ok(Vec::new());
        }
        let mut s = self.write();
        let s = &mut *s;
        // Each enabled endpoint's oldest pending message, if it is due.
        let mut due: Vec<(DateTime<Utc>, u64, WebhookId)> = s
            .deliveries
            .pending
            .iter()
            .filter(|(endpoint, _)| s.webhooks.get(endpoint).is_some_and(|e| e.enabled))
            .filter_map(|(endpoint, queue)| {
                let (seq, id) = queue.first_key_value()?;
                let head = &s.deliveries.rows[id].1;
                (head.next_attempt_at <= now).then_some((head.next_attempt_at, *seq, *endpoint))
            })
            .collect();
        due.sort_unstable();
        let mut claimed = Vec::new();
        for (_, _, endpoint_id) in due.into_iter().take(endpoints) {
            let endpoint = &s.webhooks[&endpoint_id];
            let ids = s.deliveries.pending[&endpoint_id]
                .values()
                .take(per_endpoint.max(1));
            for (n, id) in ids.enumerate() {
                let Some((_, d)) = s.deliveries.rows.get_mut(id) else {
                    continue;
                };
                if n == 0 {
                    d.next_attempt_at = lease_until;
                } else if d.next_attempt_at > now {
                    break;
                }
                claimed.push(ClaimedDelivery {
                    delivery: d.clone(),
                    endpoint: endpoint.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        endpoint: &EndpointChange,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        let mut endpoint_id = None;
        for recorded in attempts {
            match s.deliveries.rows.get(&recorded.delivery) {
                Some((_, d)) if d.state == DeliveryState::Pending => {
                    endpoint_id = Some(d.endpoint_id);
                }
                _ => return Err(StoreError::Stale),
            }
        }
        let Some(endpoint_id) = endpoint_id else {
            return Ok(());
        };
        if let EndpointChange::Disable(audit) = endpoint {
            let Some(e) = s.webhooks.get_mut(&endpoint_id) else {
                return Err(StoreError::Stale);
            };
            e.enabled = false;
            e.failing_since = None;
            e.version += 1;
            e.updated_at = audit.at;
            s.append(audit);
        } else if let Some(e) = s.webhooks.get_mut(&endpoint_id) {
            match endpoint {
                EndpointChange::Healthy => e.failing_since = None,
                EndpointChange::FailingSince(since) => e.failing_since = Some(*since),
                EndpointChange::None | EndpointChange::Disable(_) => {}
            }
        }
        let deliveries = &mut s.deliveries;
        for recorded in attempts {
            let Some((place, d)) = deliveries.rows.get_mut(&recorded.delivery) else {
                continue;
            };
            d.attempts.push(recorded.attempt.clone());
            match recorded.next {
                Next::Delivered => d.state = DeliveryState::Delivered,
                Next::GaveUp => d.state = DeliveryState::GaveUp,
                Next::RetryAt(at) => d.next_attempt_at = at,
            }
            if d.state != DeliveryState::Pending
                && let Some(queue) = deliveries.pending.get_mut(&d.endpoint_id)
            {
                queue.remove(place);
            }
        }
        Ok(())
    }

    async fn purge_events(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        let mut s = self.write();
        let s = &mut *s;
        let busy: HashSet<Uuid> = s
            .deliveries
            .rows
            .values()
            .filter(|(_, d)| d.state == DeliveryState::Pending)
            .map(|(_, d)| d.event.id)
            .collect();
        let old: HashSet<Uuid> = s.outbox.events[..s.deliveries.fanned_out]
            .iter()
            .filter(|e| e.at < before && !busy.contains(&e.id))
            .take(limit)
            .map(|e| e.id)
            .collect();
        // Every one is fanned out, so the fanned-out prefix shrinks by as many.
        s.outbox.remove(&old);
        s.deliveries.fanned_out -= old.len();
        s.deliveries
            .rows
            .retain(|_, (_, d)| !old.contains(&d.event.id));
        s.deliveries
            .by_pair
            .retain(|(event, _), _| !old.contains(event));
        Ok(old.len())
    }

    async fn deliveries(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        before: Option<DeliveryId>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let s = self.read();
        if s.endpoint_of(scope, org, endpoint).is_none() {
            return Ok(Vec::new());
        }
        let bound = match before {
            None => u64::MAX,
            Some(id) => match s.deliveries.rows.get(&id) {
                Some((seq, d)) if d.endpoint_id == endpoint => *seq,
                _ => return Ok(Vec::new()),
            },
        };
        let mut found: Vec<&(u64, Delivery)> = s
            .deliveries
            .rows
            .values()
            .filter(|(seq, d)| d.endpoint_id == endpoint && *seq < bound)
            .collect();
        found.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect())
    }

    async fn redeliver(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut s = self.write();
        if s.endpoint_of(scope, org, endpoint).is_none() {
            return Ok(false);
        }
        let event = match s.deliveries.rows.get(&delivery) {
            Some((_, d)) if d.endpoint_id == endpoint => d.event.clone(),
            _ => return Ok(false),
        };
        s.deliveries.queue(&event, endpoint, now);
        Ok(true)
    }

    async fn recover(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut s = self.write();
        let Some(target) = s.endpoint_of(scope, org, endpoint).cloned() else {
            return Ok(0);
        };
        let events: Vec<Event> = s
            .outbox
            .events
            .iter()
            .filter(|e| e.at >= since && e.at < until && receives(&target, e))
            .cloned()
            .collect();
        for event in &events {
            s.deliveries.queue(event, endpoint, now);
        }
        Ok(u64::try_from(events.len()).unwrap_or(u64::MAX))
    }
}
