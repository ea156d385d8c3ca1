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
