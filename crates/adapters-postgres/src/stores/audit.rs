//! `AuditLog`: the trail in the order written (`seq`, which the per-org
//! advisory lock of [`PgStore::append`] makes commit order within an org), and
//! each org's hash chain (`chain_seq`, `hash`), linked by the
//! `audit_events_link` trigger of migration 0040 as each row is inserted.

use async_trait::async_trait;
use domain::ports::{AuditLog, DataScope, StoreError};
use domain::{AuditFilter, AuditLink, AuditRecord, ChainHead, OrgId};
use uuid::Uuid;

use super::rows::{self, AUDIT_COLUMNS};
use super::{PgStore, commit, sql_limit};
use crate::error::translate;

#[async_trait]
impl AuditLog for PgStore {
    async fn append(&self, scope: &DataScope, record: &AuditRecord) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        // Row-level security's `WITH CHECK` refuses a record outside the scope.
        PgStore::append(self, &mut tx, record).await?;
        commit(tx).await
    }

    async fn audit_events(
        &self,
        scope: &DataScope,
        org: OrgId,
        filter: &AuditFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError> {
        let mut tx = self.begin(scope).await?;
        // An `after` that is unknown (or out of sight) makes the subquery NULL,
        // and `seq > NULL` matches nothing.
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE org_id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) \
             AND ($3::uuid IS NULL OR seq > (SELECT a.seq FROM audit_events a WHERE a.id = $3)) \
             AND ($5::text IS NULL OR action = $5) \
             AND ($6::text IS NULL OR actor_id = $6) \
             AND ($7::timestamptz IS NULL OR at >= $7) \
             AND ($8::timestamptz IS NULL OR at < $8) \
             ORDER BY seq LIMIT $4"
        );
        let found = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(filter.tenant.map(|t| t.as_uuid()))
            .bind(after)
            .bind(sql_limit(limit))
            .bind(filter.action.map(|a| a.as_str()))
            .bind(filter.actor.as_deref())
            .bind(filter.since)
            .bind(filter.until)
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let links = rows::all(&found, rows::audit_link)?;
        commit(tx).await?;
        Ok(links)
    }

    async fn audit_chain(
        &self,
        scope: &DataScope,
        org: OrgId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE org_id = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(sql_limit(limit));
        self.read_all(scope, query, rows::audit_link).await
    }

    async fn audit_head(&self, scope: &DataScope, org: OrgId) -> Result<ChainHead, StoreError> {
        let query = self
            .db
            .query(
                "SELECT chain_seq, hash FROM audit_events WHERE org_id = $1 \
                 ORDER BY chain_seq DESC LIMIT 1",
            )
            .bind(org.as_uuid());
        Ok(self
            .read_one(scope, query, rows::chain_head)
            .await?
            .unwrap_or(ChainHead::GENESIS))
    }
}
