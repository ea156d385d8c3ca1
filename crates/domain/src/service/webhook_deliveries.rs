//! The delivery worker's steps and the delivery log: fan-out and claiming,
//! sending one claimed message and recording what came of it (the rules are
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
use crate::webhook::WebhookId;
use crate::webhook_delivery::{
    CLAIM_LEASE, ClaimedDelivery, Delivery, DeliveryId, Health, Next, OutgoingWebhook, judge,
};

/// The actor of what the delivery worker writes.
pub const DELIVERY_WORKER: &str = "webhook-delivery";

/// Outbox events turned into messages per store call, and calls per round:
/// at most 10,000 events a round, so one round's work stays bounded.
const FAN_OUT_BATCH: usize = 500;
const FAN_OUT_BATCHES: usize = 20;

impl Tenancy {
    /// The worker's first step: queues messages for new outbox events (up to
    /// `limit` events), then claims up to `limit` due messages, each the
    /// oldest pending one of its endpoint, for [`Self::deliver_webhook`].
    pub async fn claim_webhook_deliveries(
        &self,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, WebhookError> {
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
        Ok(self
            .ports
            .deliveries
            .claim_due(now, now + CLAIM_LEASE, limit)
            .await?)
    }

    /// Sends one claimed message with `sender`, signed with every secret the
    /// endpoint signs with now, and records the attempt and what follows
    /// (delivered, retried later, given up; the endpoint healthy, failing or
    /// disabled) in one store call.
    pub async fn deliver_webhook(
        &self,
        claimed: &ClaimedDelivery,
        sender: &dyn WebhookSender,
    ) -> Result<Next, WebhookError> {
        let ClaimedDelivery { delivery, endpoint } = claimed;
        let now = self.now();
        let request = OutgoingWebhook {
            url: endpoint.url.as_str().to_owned(),
            message_id: delivery.event.id.to_string(),
            timestamp: now,
            payload: delivery.event.payload_text(),
            secrets: self.webhook_signing_secrets(endpoint, now).await?,
        };
        let outcome = sender.send(&request).await;
        let verdict = judge(delivery, endpoint, &outcome, self.now(), self.jitter());
        let change = match verdict.health {
            Health::Healthy if endpoint.failing_since.is_some() => EndpointChange::Healthy,
            Health::FailingSince(since) if endpoint.failing_since.is_none() => {
                EndpointChange::FailingSince(since)
            }
            Health::Healthy | Health::FailingSince(_) => EndpointChange::None,
            Health::Disable => EndpointChange::Disable(AuditRecord {
                id: AuditId::from_uuid(self.new_id()),
                at: verdict.attempt.at,
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
            }),
        };
        self.ports
            .deliveries
            .record_attempt(delivery.id, &verdict.attempt, verdict.next, &change)
            .await?;
        Ok(verdict.next)
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
