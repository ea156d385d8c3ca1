//! The pull feed: an org's events of the last [`FEED_WINDOW_DAYS`] days, in
//! the order written, the same events (and JSON) the webhooks carry.

use chrono::Duration;

use super::Tenancy;
use super::errors::ListError;
use crate::audit::Context;
use crate::events::{Event, EventFilter, FEED_WINDOW_DAYS};
use crate::ids::OrgRef;
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};

impl Tenancy {
    /// The org's events after `cursor`, oldest first, only those `types`
    /// matches; events older than the feed's window are not served. For the
    /// platform admin and the org's own keys; anyone else finds no org.
    pub async fn list_events(
        &self,
        ctx: &Context,
        org: &OrgRef,
        types: &EventFilter,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Event>, ListError> {
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let org = self
                .find_org(ctx, org)
                .await?
                .ok_or(ListError::OrgNotFound)?;
            let since = self.now() - Duration::days(FEED_WINDOW_DAYS);
            let scope = ctx.principal.scope_in(org.id);
            Ok(self
                .ports
                .events
                .events(&scope, org.id, after, since, types, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |e: &Event| e.id).await
    }
}
