//! The event outbox, as readers see it: the pull feed. Writing is not a port
//! method: every store writes an audit record's event ([`crate::Event::of_audit`])
//! inside the same atomic operation that appends the record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DataScope, StoreError};
use crate::events::{Event, EventFilter};
use crate::ids::OrgId;

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
