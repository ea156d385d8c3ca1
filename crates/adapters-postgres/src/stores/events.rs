//! `EventLog`: the outbox read as the pull feed, in `seq` order (commit order
//! within an org: [`PgStore::append`] writes each event under the org's lock).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, EventLog, StoreError};
use domain::{Actor, Event, EventData, EventFilter, EventType, OrgId, TargetKind, TenantId};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::rows::{self, get, parsed};
use super::{PgStore, commit, sql_limit};
use crate::error::translate;

/// The channel the append statement notifies when it writes an event: the
/// delivery workers LISTEN on it.
pub const OUTBOX_CHANNEL: &str = "tenancy_outbox";

pub(crate) const EVENT_COLUMNS: &str = "id, org_id, tenant_id, event_type, at, actor_kind, \
     actor_id, target_type, target_id, request_id";

#[async_trait]
impl EventLog for PgStore {
    async fn events(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<Uuid>,
        since: DateTime<Utc>,
        types: &EventFilter,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.begin(scope).await?;
        let types: Vec<&str> = types.types().iter().map(|t| t.as_str()).collect();
        // An `after` that is unknown (or out of sight) makes the subquery NULL,
        // and `seq > NULL` matches nothing.
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM event_outbox \
             WHERE org_id = $1 AND at >= $2 \
             AND (cardinality($3::text[]) = 0 OR event_type = ANY($3)) \
             AND ($4::uuid IS NULL OR seq > (SELECT e.seq FROM event_outbox e WHERE e.id = $4)) \
             ORDER BY seq LIMIT $5"
        );
        let found = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(since)
            .bind(&types)
            .bind(after)
            .bind(sql_limit(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let events = rows::all(&found, event)?;
        commit(tx).await?;
        Ok(events)
    }
}

/// An outbox row as an [`Event`].
pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
    let tenant_id: Option<Uuid> = get(row, "tenant_id")?;
    Ok(Event {
        id: get(row, "id")?,
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: tenant_id.map(TenantId::from_uuid),
        event_type: parsed(row, "event_type", |t| EventType::parse(t).ok_or(()))?,
        at: get(row, "at")?,
        data: EventData {
            actor: Actor {
                kind: parsed(row, "actor_kind", rows::actor_kind)?,
                id: get(row, "actor_id")?,
            },
            target_kind: parsed(row, "target_type", |t| {
                TargetKind::ALL
                    .into_iter()
                    .find(|x| x.as_str() == t)
                    .ok_or(())
            })?,
            target_id: get(row, "target_id")?,
            request_id: get(row, "request_id")?,
        },
    })
}
