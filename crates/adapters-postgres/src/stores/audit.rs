//! `AuditLog`: the trail in the order written (`seq`, which the per-org
//! advisory lock of [`PgStore::append`] makes commit order within an org).

use async_trait::async_trait;
use domain::ports::{AuditLog, DataScope, StoreError};
use domain::{AuditRecord, OrgId, TenantId};
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

    async fn audit_records(
        &self,
        scope: &DataScope,
        org: OrgId,
        tenant: Option<TenantId>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = self.begin(scope).await?;
        // An `after` that is unknown (or out of sight) makes the subquery NULL,
        // and `seq > NULL` matches nothing.
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE org_id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) \
             AND ($3::uuid IS NULL OR seq > (SELECT a.seq FROM audit_events a WHERE a.id = $3)) \
             ORDER BY seq LIMIT $4"
        );
        let found = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(tenant.map(|t| t.as_uuid()))
            .bind(after)
            .bind(sql_limit(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let records = rows::all(&found, rows::audit)?;
        commit(tx).await?;
        Ok(records)
    }
}
