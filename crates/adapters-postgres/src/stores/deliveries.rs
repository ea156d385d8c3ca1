//! `DeliveryStore`: the webhook delivery queue (migration 0043). Fan-out is
//! serialised by an advisory lock (so messages are numbered in outbox order);
//! claims take each enabled endpoint's oldest pending message (one probe of
//! the pending index per endpoint) with `FOR UPDATE SKIP LOCKED` and lease it
//! by moving its next attempt forward, so concurrent workers, on any
//! instance, never claim one endpoint's messages together; with it, the
//! messages queued behind it, as one batch recorded in one transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, DeliveryStore, EndpointChange, StoreError};
use domain::webhook_delivery::{
    Attempt, ClaimedDelivery, Delivery, DeliveryId, DeliveryState, Next, RecordedAttempt,
};
use domain::{OrgId, WebhookEndpoint, WebhookId};
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::events::{EVENT_COLUMNS, event};
use super::rows::{self, corrupt, get};
use super::webhooks::{ENDPOINT_COLUMNS, endpoint};
use super::{PgStore, commit, sql_limit};
use crate::error::{translate, translate_write};

/// The advisory lock key fan-out holds: one worker at a time numbers messages.
const FAN_OUT_LOCK: i64 = 0x7765_6268_6f6f_6b73; // "webhooks"

/// A message's columns, joined with its event's (`EVENT_COLUMNS`, as `o`).
const DELIVERY_COLUMNS: &str = "d.id AS delivery_id, d.endpoint_id, d.state, d.queued_at, \
     d.next_attempt_at, d.attempts";

fn attempt_json(a: &Attempt) -> Value {
    json!([{
        "at": a.at,
        "status": a.status,
        "latencyMs": a.latency_ms,
        "excerpt": a.excerpt,
        "error": a.error,
    }])
}

fn attempts_from_json(value: &Value) -> Result<Vec<Attempt>, StoreError> {
    let bad = || corrupt("attempts");
    let text = |v: &Value| -> Result<Option<String>, StoreError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(bad()),
        }
    };
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|a| {
            Ok(Attempt {
                at: serde_json::from_value(a["at"].clone()).map_err(|_| bad())?,
                status: match &a["status"] {
                    Value::Null => None,
                    v => Some(
                        v.as_u64()
                            .and_then(|s| u16::try_from(s).ok())
                            .ok_or_else(bad)?,
                    ),
                },
                latency_ms: a["latencyMs"].as_u64().ok_or_else(bad)?,
                excerpt: text(&a["excerpt"])?,
                error: text(&a["error"])?,
            })
        })
        .collect()
}

/// A message row joined with its event.
fn delivery(row: &PgRow) -> Result<Delivery, StoreError> {
    let event = event(row)?;
    Ok(Delivery {
        id: DeliveryId::from_uuid(get(row, "delivery_id")?),
        org_id: event.org_id,
        endpoint_id: WebhookId::from_uuid(get(row, "endpoint_id")?),
        state: rows::parsed(row, "state", |s| DeliveryState::parse(s).ok_or(()))?,
        queued_at: get(row, "queued_at")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        attempts: attempts_from_json(&get::<Value>(row, "attempts")?)?,
        event,
    })
}

/// `EVENT_COLUMNS` of the outbox row aliased `o`.
fn event_columns() -> String {
    EVENT_COLUMNS
        .split(',')
        .map(|c| format!("o.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl DeliveryStore for PgStore {
    async fn fan_out(&self, now: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let locked: bool = self
            .db
            .query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(FAN_OUT_LOCK)
            .fetch_one(&mut *tx)
            .await
            .map_err(translate)?;
        if !locked {
            // Another worker is fanning out; it will take these events.
            commit(tx).await?;
            return Ok(0);
        }
        // The messages are numbered in the order of the (materialised) CTE
        // `targets`: outbox order, so each endpoint receives in that order.
        let taken: i64 = self
            .db
            .query_scalar(
                "WITH taken AS (SELECT id, seq, org_id, event_type FROM event_outbox \
                 WHERE fanned_out_at IS NULL ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED), \
                 marked AS (UPDATE event_outbox o SET fanned_out_at = $1 FROM taken \
                 WHERE o.id = taken.id RETURNING o.id), \
                 targets AS MATERIALIZED (SELECT t.id AS event_id, t.org_id, e.id AS endpoint_id \
                 FROM taken t JOIN webhook_endpoints e ON e.org_id = t.org_id AND e.enabled \
                 AND (cardinality(e.event_types) = 0 OR t.event_type = ANY(e.event_types)) \
                 ORDER BY t.seq, e.id), \
                 queued AS (INSERT INTO webhook_deliveries (id, seq, org_id, endpoint_id, \
                 event_id, state, queued_at, next_attempt_at) \
                 SELECT gen_random_uuid(), nextval('webhook_deliveries_seq'), org_id, \
                 endpoint_id, event_id, 'pending', $1, $1 FROM targets \
                 ON CONFLICT (event_id, endpoint_id) DO NOTHING) \
                 SELECT count(*) FROM marked",
            )
            .bind(now)
            .bind(sql_limit(limit))
            .fetch_one(&mut *tx)
            .await
            .map_err(translate_write)?;
        commit(tx).await?;
        Ok(usize::try_from(taken).unwrap_or(0))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        endpoints: usize,
        per_endpoint: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let heads: Vec<(Uuid, Uuid)> = sqlx::query_as(
            // Each enabled endpoint's head, one probe of the pending index
            // each: the cost follows the endpoints, not their backlogs.
            // Then the due heads are locked with SKIP LOCKED (a head another
            // claimer holds is skipped, never the message behind it, which
            // would break the order), re-checked once locked (one another
            // claimer leased meanwhile is no longer due) and leased: a leased
            // head holds its endpoint's every message.
            "WITH heads AS (SELECT h.id FROM webhook_endpoints e \
             CROSS JOIN LATERAL (SELECT d.id FROM webhook_deliveries d \
             WHERE d.endpoint_id = e.id AND d.state = 'pending' ORDER BY d.seq LIMIT 1) h \
             WHERE e.enabled), \
             due AS (SELECT d.id FROM webhook_deliveries d JOIN heads ON heads.id = d.id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             ORDER BY d.next_attempt_at, d.seq LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
             UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM due \
             WHERE d.id = due.id RETURNING d.id, d.endpoint_id",
        )
        .bind(now)
        .bind(lease_until)
        .bind(sql_limit(endpoints))
        .fetch_all(&mut *tx)
        .await
        .map_err(translate)?;
        if heads.is_empty() {
            commit(tx).await?;
            return Ok(Vec::new());
        }
        let (head_ids, endpoint_ids): (Vec<Uuid>, Vec<Uuid>) = heads.into_iter().unzip();
        // Each held endpoint's pending messages from its head on, in order,
        // as long as they are due (one not due ends its batch: nothing is
        // sent before an older message of its endpoint).
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, {} FROM unnest($1::uuid[], $2::uuid[]) AS h(id, endpoint_id) \
             CROSS JOIN LATERAL (SELECT b.* FROM (SELECT n.*, bool_and(n.id = h.id \
             OR n.next_attempt_at <= $3) OVER (ORDER BY n.seq) AS in_order \
             FROM (SELECT p.* FROM webhook_deliveries p WHERE p.endpoint_id = h.endpoint_id \
             AND p.state = 'pending' ORDER BY p.seq LIMIT $4) n) b WHERE b.in_order) d \
             JOIN event_outbox o ON o.id = d.event_id ORDER BY d.endpoint_id, d.seq",
            event_columns()
        );
        let found = self
            .db
            .query(&sql)
            .bind(&head_ids)
            .bind(&endpoint_ids)
            .bind(now)
            .bind(sql_limit(per_endpoint.max(1)))
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let deliveries = rows::all(&found, delivery)?;
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ANY($1)");
        let found = self
            .db
            .query(&sql)
            .bind(&endpoint_ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let endpoints: HashMap<WebhookId, WebhookEndpoint> = rows::all(&found, endpoint)?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        commit(tx).await?;
        deliveries
            .into_iter()
            .map(|delivery| {
                let endpoint = endpoints
                    .get(&delivery.endpoint_id)
                    .cloned()
                    .ok_or(StoreError::Stale)?;
                Ok(ClaimedDelivery { delivery, endpoint })
            })
            .collect()
    }

    async fn record_attempts(
        &self,
        attempts: &[RecordedAttempt],
        endpoint_change: &EndpointChange,
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin(&DataScope::Platform).await?;
        let mut ids = Vec::with_capacity(attempts.len());
        let mut logs = Vec::with_capacity(attempts.len());
        let mut states = Vec::with_capacity(attempts.len());
        let mut retry_ats = Vec::with_capacity(attempts.len());
        for recorded in attempts {
            let (state, retry_at) = match recorded.next {
                Next::Delivered => (DeliveryState::Delivered, None),
                Next::GaveUp => (DeliveryState::GaveUp, None),
                Next::RetryAt(at) => (DeliveryState::Pending, Some(at)),
            };
            ids.push(recorded.delivery.as_uuid());
            logs.push(attempt_json(&recorded.attempt));
            states.push(state.as_str());
            retry_ats.push(retry_at);
        }
        let endpoint_ids: Vec<Uuid> = self
            .db
            .query_scalar(
                "UPDATE webhook_deliveries d SET attempts = d.attempts || r.attempt, \
                 state = r.state, next_attempt_at = coalesce(r.retry_at, d.next_attempt_at) \
                 FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::timestamptz[]) \
                 AS r(id, attempt, state, retry_at) \
                 WHERE d.id = r.id AND d.state = 'pending' RETURNING d.endpoint_id",
            )
            .bind(&ids)
            .bind(&logs)
            .bind(&states)
            .bind(&retry_ats)
            .fetch_all(&mut *tx)
            .await
            .map_err(translate_write)?;
        // Dropping the transaction rolls back whatever was written.
        if endpoint_ids.len() != attempts.len() {
            return Err(StoreError::Stale);
        }
        let endpoint_id = endpoint_ids[0];
        let statement = match endpoint_change {
            EndpointChange::None => None,
            EndpointChange::Healthy => Some(
                self.db
                    .query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                    .bind(endpoint_id),
            ),
            EndpointChange::FailingSince(since) => Some(
                self.db
                    .query("UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1")
                    .bind(endpoint_id)
                    .bind(*since),
            ),
            EndpointChange::Disable(audit) => Some(
                self.db
                    .query(
                        "UPDATE webhook_endpoints SET enabled = false, failing_since = NULL, \
                         version = version + 1, updated_at = $2 WHERE id = $1",
                    )
                    .bind(endpoint_id)
                    .bind(audit.at),
            ),
        };
        if let Some(statement) = statement {
            statement.execute(&mut *tx).await.map_err(translate_write)?;
        }
        if let EndpointChange::Disable(audit) = endpoint_change {
            self.append(&mut tx, audit).await?;
        }
        commit(tx).await
    }

    async fn purge_events(&self, before: DateTime<Utc>, limit: usize) -> Result<usize, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        // One statement: the messages' foreign key is checked at its end,
        // when both are gone.
        let purged = self
            .db
            .query(
                "WITH old AS (SELECT o.id FROM event_outbox o \
                 WHERE o.fanned_out_at IS NOT NULL AND o.at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = o.id \
                 AND d.state = 'pending') ORDER BY o.seq LIMIT $2 FOR UPDATE SKIP LOCKED), \
                 messages AS (DELETE FROM webhook_deliveries d USING old \
                 WHERE d.event_id = old.id) \
                 DELETE FROM event_outbox o USING old WHERE o.id = old.id",
            )
            .bind(before)
            .bind(sql_limit(limit))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        commit(tx).await?;
        Ok(usize::try_from(purged.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn deliveries(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        before: Option<DeliveryId>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, {} FROM webhook_deliveries d \
             JOIN event_outbox o ON o.id = d.event_id \
             WHERE d.org_id = $1 AND d.endpoint_id = $2 \
             AND ($3::uuid IS NULL OR d.seq < (SELECT b.seq FROM webhook_deliveries b \
             WHERE b.id = $3 AND b.endpoint_id = $2)) \
             ORDER BY d.seq DESC LIMIT $4",
            event_columns()
        );
        let query = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(endpoint.as_uuid())
            .bind(before.map(|b| b.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, delivery).await
    }

    async fn redeliver(
        &self,
        scope: &DataScope,
        org: OrgId,
        endpoint: WebhookId,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin(scope).await?;
        let updated = self
            .db
            .query(
                "UPDATE webhook_deliveries SET state = 'pending', \
                 seq = nextval('webhook_deliveries_seq'), queued_at = $4, next_attempt_at = $4 \
                 WHERE id = $1 AND endpoint_id = $2 AND org_id = $3",
            )
            .bind(delivery.as_uuid())
            .bind(endpoint.as_uuid())
            .bind(org.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        commit(tx).await?;
        Ok(updated.rows_affected() == 1)
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
        let mut tx = self.begin(scope).await?;
        let queued = self
            .db
            .query(
                "WITH targets AS MATERIALIZED (SELECT o.id AS event_id, o.org_id, e.id AS endpoint_id \
                 FROM event_outbox o JOIN webhook_endpoints e ON e.org_id = o.org_id \
                 WHERE o.org_id = $1 AND e.id = $2 AND o.at >= $3 AND o.at < $4 \
                 AND (cardinality(e.event_types) = 0 OR o.event_type = ANY(e.event_types)) \
                 ORDER BY o.seq) \
                 INSERT INTO webhook_deliveries (id, seq, org_id, endpoint_id, event_id, state, \
                 queued_at, next_attempt_at) \
                 SELECT gen_random_uuid(), nextval('webhook_deliveries_seq'), org_id, endpoint_id, \
                 event_id, 'pending', $5, $5 FROM targets \
                 ON CONFLICT (event_id, endpoint_id) DO UPDATE SET state = 'pending', \
                 seq = EXCLUDED.seq, queued_at = EXCLUDED.queued_at, \
                 next_attempt_at = EXCLUDED.next_attempt_at",
            )
            .bind(org.as_uuid())
            .bind(endpoint.as_uuid())
            .bind(since)
            .bind(until)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        commit(tx).await?;
        Ok(queued.rows_affected())
    }
}
