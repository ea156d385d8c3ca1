//! The delivery worker's steps and the delivery log: fan-out and claiming,
//! sending one endpoint's claimed batch and recording what came of it (the rules are
//! `webhook_delivery::judge`'s), and, for the org, the log, redelivery of one
//! message and recovery of a time range.

use chrono::{DateTime, Duration, Utc};

use super::Tenancy;
use super::webhooks::WebhookError;
use crate::audit::{Actor, AuditAction, AuditDetails, AuditRecord, Change, Context, TargetKind};
use crate::events::FEED_WINDOW_DAYS;
use crate::ids::{AuditId, OrgRef};
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::{EndpointChange, WebhookSender};
use crate::values::InvalidValue;
use crate::webhook::{WebhookEndpoint, WebhookId};
use crate::webhook_delivery::{
    BATCH_BUDGET, CLAIM_LEASE, ClaimedDelivery, Delivery, DeliveryId, Health, Next,
    OutgoingWebhook, RecordedAttempt, judge,
};

/// The actor of what the delivery worker writes.
pub const DELIVERY_WORKER: &str = "webhook-delivery";

/// Outbox events turned into messages per store call, and calls per round:
/// at most 10,000 events a round, so one round's work stays bounded.
const FAN_OUT_BATCH: usize = 500;
const FAN_OUT_BATCHES: usize = 20;

impl Tenancy {
    /// The worker's first step: queues messages for new outbox events, then
    /// claims the due messages of up to `endpoints` endpoints, at most
    /// `per_endpoint` each: one batch per endpoint, its messages oldest
    /// first, for [`Self::deliver_webhooks`].
    pub async fn claim_webhook_deliveries(
        &self,
        endpoints: usize,
        per_endpoint: usize,
    ) -> Result<Vec<Vec<ClaimedDelivery>>, WebhookError> {
        let now = self.now();
        // The outbox is drained into messages first, in bounded batches: an
        // event no endpoint wants makes no message, so a round that claims
        // nothing may still have had a backlog of those to get through, and
        // must not leave it to the next poll.
        for _ in 0..FAN_OUT_BATCHES {
            if self.ports.deliveries.fan_out(now, FAN_OUT_BATCH).await? < FAN_OUT_BATCH {
                break;
            }
        }
        let claimed = self
            .ports
            .deliveries
            .claim_due(now, now + CLAIM_LEASE, endpoints, per_endpoint.max(1))
            .await?;
        // The store lists each endpoint's messages together, oldest first.
        let mut batches: Vec<Vec<ClaimedDelivery>> = Vec::new();
        for message in claimed {
            match batches.last_mut() {
                Some(batch) if batch[0].endpoint.id == message.endpoint.id => batch.push(message),
                _ => batches.push(vec![message]),
            }
        }
        Ok(batches)
    }

    /// Sends one claimed batch (one endpoint's messages, oldest first) with
    /// `sender`, each signed with every secret the endpoint signs with, one
    /// after another, and stops at the first message not delivered (order
    /// per endpoint) or once [`BATCH_BUDGET`] has passed; then records every
    /// attempt, what follows for each message and for the endpoint
    /// (healthy, failing or disabled), in one store call. Answers what
    /// followed each message attempted, in order.
    pub async fn deliver_webhooks(
        &self,
        batch: &[ClaimedDelivery],
        sender: &dyn WebhookSender,
    ) -> Result<Vec<Next>, WebhookError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let started = self.now();
        let secrets = self
            .webhook_signing_secrets(&first.endpoint, started)
            .await?;
        // The endpoint as each attempt finds it: its health moves with them.
        let mut endpoint = first.endpoint.clone();
        let mut disabled_at = None;
        let mut recorded = Vec::with_capacity(batch.len());
        for ClaimedDelivery { delivery, .. } in batch {
            let now = self.now();
            if now - started >= BATCH_BUDGET {
                break;
            }
            let request = OutgoingWebhook {
                url: endpoint.url.as_str().to_owned(),
                message_id: delivery.event.id.to_string(),
                timestamp: now,
                payload: delivery.event.payload_text(),
                secrets: secrets.clone(),
            };
            let outcome = sender.send(&request).await;
            let verdict = judge(delivery, &endpoint, &outcome, self.now(), self.jitter());
            match verdict.health {
                Health::Healthy => endpoint.failing_since = None,
                Health::FailingSince(since) => endpoint.failing_since = Some(since),
                Health::Disable => disabled_at = Some(verdict.attempt.at),
            }
            let next = verdict.next;
            recorded.push(RecordedAttempt {
                delivery: delivery.id,
                attempt: verdict.attempt,
                next,
            });
            if next != Next::Delivered {
                break;
            }
        }
        let change = match (
            disabled_at,
            first.endpoint.failing_since,
            endpoint.failing_since,
        ) {
            (Some(at), _, _) => EndpointChange::Disable(self.endpoint_disabled(&endpoint, at)),
            (None, before, after) if before == after => EndpointChange::None,
            (None, _, None) => EndpointChange::Healthy,
            // A success earlier in the batch restarts the failing time.
            (None, _, Some(since)) => EndpointChange::FailingSince(since),
        };
        self.ports
            .deliveries
            .record_attempts(&recorded, &change)
            .await?;
        Ok(recorded.into_iter().map(|r| r.next).collect())
    }

    /// The audit record of the worker's disabling `endpoint` at `at`.
    fn endpoint_disabled(&self, endpoint: &WebhookEndpoint, at: DateTime<Utc>) -> AuditRecord {
        AuditRecord {
            id: AuditId::from_uuid(self.new_id()),
            at,
            actor: Actor::system(DELIVERY_WORKER),
            action: AuditAction::WebhookEndpointDisabled,
            target_kind: TargetKind::WebhookEndpoint,
            target_id: endpoint.id.as_uuid(),
            org_id: endpoint.org_id,
            tenant_id: None,
            request_id: None,
            details: AuditDetails::changes_only(vec![Change {
                field: "enabled",
                from: Some("true".into()),
                to: Some("false".into()),
            }]),
        }
    }

    /// Deletes up to `batch` events older than the feed's window
    /// ([`FEED_WINDOW_DAYS`]: the feed serves no older ones) with their
    /// finished messages, so the history does not grow forever: the
    /// retention job's work. A recovery then finds only what is kept. An event with a message still pending stays until it is done.
    /// Returns how many it deleted.
    pub async fn purge_old_events(&self, batch: usize) -> Result<usize, WebhookError> {
        let before = self.now() - Duration::days(FEED_WINDOW_DAYS);
        Ok(self.ports.deliveries.purge_events(before, batch).await?)
    }

    /// The endpoint's messages, newest first, each with every attempt.
    pub async fn list_deliveries(
        &self,
        ctx: &Context,
        org: &OrgRef,
        endpoint: WebhookId,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Delivery>, WebhookError> {
        let fetch = |before: Option<uuid::Uuid>, n| async move {
            let found = self.get_webhook(ctx, org, endpoint).await?;
            let scope = ctx.principal.scope_in(found.org_id);
            Ok(self
                .ports
                .deliveries
                .deliveries(
                    &scope,
                    found.org_id,
                    endpoint,
                    before.map(DeliveryId::from_uuid),
                    n,
                )
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |d: &Delivery| d.id.as_uuid()).await
    }

    /// Queues one message of the endpoint again, now, behind its pending ones.
    pub async fn redeliver_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        endpoint: WebhookId,
        delivery: DeliveryId,
    ) -> Result<(), WebhookError> {
        let found = self.get_webhook(ctx, org, endpoint).await?;
        let scope = ctx.principal.scope_in(found.org_id);
        let queued = self
            .ports
            .deliveries
            .redeliver(&scope, found.org_id, endpoint, delivery, self.now())
            .await?;
        if queued {
            Ok(())
        } else {
            Err(WebhookError::DeliveryNotFound)
        }
    }

    /// Queues again a message to the endpoint for every event it receives
    /// that happened in `[since, until)`; returns how many.
    pub async fn recover_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        endpoint: WebhookId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, WebhookError> {
        if since >= until {
            return Err(WebhookError::Invalid(
                "until",
                InvalidValue::new("must be later than `since`"),
            ));
        }
        // Bounded work per request: one recovery spans at most the feed's window.
        if until - since > Duration::days(FEED_WINDOW_DAYS) {
            return Err(WebhookError::Invalid(
                "until",
                InvalidValue::new(format!(
                    "must be at most {FEED_WINDOW_DAYS} days after `since`; recover a longer time in parts"
                )),
            ));
        }
        let found = self.get_webhook(ctx, org, endpoint).await?;
        let scope = ctx.principal.scope_in(found.org_id);
        Ok(self
            .ports
            .deliveries
            .recover(&scope, found.org_id, endpoint, since, until, self.now())
            .await?)
    }

    /// A uniformly random fraction in `[0, 1)` from the randomness port.
    fn jitter(&self) -> f64 {
        let mut bytes = [0u8; 8];
        self.ports.entropy.fill(&mut bytes);
        // The top 53 bits: exactly representable, uniformly spaced.
        #[allow(clippy::cast_precision_loss)]
        let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        fraction
    }
}
