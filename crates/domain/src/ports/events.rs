//! The event outbox, as readers see it (the pull feed), and the webhook
//! endpoints events are pushed to. Writing is not a port
//! method: every store writes an audit record's event ([`crate::Event::of_audit`])
//! inside the same atomic operation that appends the record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::events::{Event, EventFilter};
use crate::ids::OrgId;
use crate::webhook::{WebhookEndpoint, WebhookId};
use crate::webhook_delivery::{
    ClaimedDelivery, Delivery, DeliveryId, OutgoingWebhook, RecordedAttempt, SendOutcome, Target,
};

/// The events written to the outbox.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventLog: Send + Sync {
    /// The org's events in the order written (the order of their audit
    /// records, which is commit order within an org), strictly after the
    /// event `after` in that order, only those at or after `since` and of a
    /// type `types` matches, at most `limit`. An `after` the store does not
    /// know (or cannot see) yields nothing. The scope filters as everywhere:
    /// a tenant scope sees its tenant's events only.
    async fn events(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<Uuid>,
        since: DateTime<Utc>,
        types: &EventFilter,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
}

/// Webhook endpoints. Every write stores its audit record with it, atomically.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Inserts `endpoint` with its audit record. `Stale` if its org does not
    /// exist; `OutOfScope` outside the org's scope.
    async fn create_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The org's endpoint with this id, if any (and visible).
    async fn get_endpoint(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// The org's endpoints in id order, strictly after `after`, at most `limit`.
    async fn list_endpoints(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<WebhookId>,
        limit: usize,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Replaces the endpoint whose stored version is `endpoint.version - 1`,
    /// with its audit record. `Stale` if the stored version differs or the
    /// endpoint is gone.
    async fn update_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Deletes the endpoint stored at `version`, with its audit record.
    /// `Stale` if the stored version differs or the endpoint is gone.
    async fn delete_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}

/// What an attempt changes about its endpoint, written with the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointChange {
    /// Nothing (the endpoint was changed meanwhile, or needs no change).
    None,
    /// Clear `failing_since`.
    Healthy,
    /// Set `failing_since` to this time (the endpoint is held by the
    /// batch's claim: nothing else moves it meanwhile).
    FailingSince(DateTime<Utc>),
    /// Disable it (and clear `failing_since`), bumping its version, with
    /// this audit record (`webhook.endpoint_disabled`, which the outbox
    /// turns into the event of that name).
    Disable(AuditRecord),
}

/// The delivery queue: messages per (event, endpoint), claimed by workers.
/// Every method runs with the platform scope unless it takes one: the worker
/// serves every org.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Takes up to `limit` outbox events not yet fanned out, oldest first,
    /// and queues one pending message (due at `now`) for each enabled
    /// endpoint of the event's org whose event types match; marks them fanned
    /// out. Concurrent callers MUST NOT take the same event (skip what
    /// another holds). Returns how many events it took.
    async fn fan_out(&self, now: DateTime<Utc>, limit: usize) -> Result<usize, StoreError>;

    /// Claims the due messages of up to `endpoints` (enabled) endpoints
    /// whose oldest pending message is due at `now`: for each, its oldest
    /// pending messages, at most `per_endpoint` (at least one), oldest first,
    /// consecutively in the result. The endpoint is held until `lease_until`
    /// (its oldest message's next attempt moves there), so no other caller
    /// claims any of its messages meanwhile; recording the batch
    /// ([`Self::record_attempts`]) releases it, and one never recorded (its
    /// worker died) is claimable again after the lease. Concurrent callers
    /// MUST NOT claim the same message.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        endpoints: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Appends each attempt to its message's log and moves the message to
    /// its `next`, and applies `endpoint` to their endpoint (all of one
    /// claimed batch, so of one endpoint), atomically. Messages of the batch
    /// not attempted are left as they were. `Stale` if any of them is no
    /// longer pending (nothing written).
    async fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        endpoint: &EndpointChange,
    ) -> Result<(), StoreError>;

    /// Deletes up to `limit` outbox events that happened before `before`,
    /// oldest first, that are fanned out and have no pending message, with
    /// their messages (delivered or given up). Returns how many events.
    async fn purge_events(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError>;

    /// The endpoint's messages, newest first, with their attempts, strictly
    /// before the message `before` in that order, at most `limit`.
    async fn deliveries(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        before: Option<DeliveryId>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Queues the message again, due at `now`, behind the endpoint's pending
    /// ones (its attempts are kept). `false` if the endpoint has no such
    /// message (or it is out of sight).
    async fn redeliver(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Queues again, due at `now`, a message to the endpoint for every event
    /// of its org that happened in `[since, until)` and that its event types
    /// match, whether or not it had one (one it had is re-queued, with its
    /// attempts kept). Returns how many.
    async fn recover(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// Sends one webhook (the real one: `adapters-webhooks`; tests: a recorder).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Sends `request` signed with each of its secrets and tells what came of
    /// it; never panics, never fails otherwise (every failure is an outcome).
    async fn send(&self, request: &OutgoingWebhook) -> SendOutcome;

    /// Where `url` leads as the network sees it now: allowed, forbidden by
    /// the SSRF rule of [`crate::address`] (applied after DNS resolution), or
    /// not resolving. Asked when an endpoint is saved (the domain decides
    /// what each means there); [`Self::send`] applies the same rule again at
    /// every delivery.
    async fn check_target(&self, url: &str) -> Target;
}
