//! `OrgStore`.

use async_trait::async_trait;
use domain::ports::{DataScope, OrgStore, StoreError};
use domain::{AuditRecord, Org, OrgId, OrgRef};

use super::rows::{self, ORG_COLUMNS, stored_version};
use super::{PgStore, commit, in_scope, sql_limit};
use crate::error::translate_write;

#[async_trait]
impl OrgStore for PgStore {
    async fn create_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_org_level(org.id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        self.db
            .query(
                "INSERT INTO orgs (id, key, name, created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(org.id.as_uuid())
            .bind(org.key.as_str())
            .bind(org.name.as_str())
            .bind(org.created_at)
            .bind(org.updated_at)
            .bind(stored_version(org.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_org(&self, scope: &DataScope, org: &OrgRef) -> Result<Option<Org>, StoreError> {
        let by_id = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1");
        let by_key = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE key = $1");
        let query = match org {
            OrgRef::Id(id) => self.db.query(&by_id).bind(id.as_uuid()),
            OrgRef::Key(key) => self.db.query(&by_key).bind(key.as_str()),
        };
        self.read_one(scope, query, rows::org).await
    }

    async fn list_orgs(
        &self,
        scope: &DataScope,
        after: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<Org>, StoreError> {
        let sql = format!(
            "SELECT {ORG_COLUMNS} FROM orgs WHERE ($1::uuid IS NULL OR id > $1) \
             ORDER BY id LIMIT $2"
        );
        let query = self
            .db
            .query(&sql)
            .bind(after.map(|a| a.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, rows::org).await
    }

    async fn update_org(
        &self,
        scope: &DataScope,
        org: &Org,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        let updated = self
            .db
            .query(
                "UPDATE orgs SET name = $3, created_at = $4, updated_at = $5, version = $6 \
                 WHERE id = $1 AND key = $2 AND version = $6 - 1",
            )
            .bind(org.id.as_uuid())
            .bind(org.key.as_str())
            .bind(org.name.as_str())
            .bind(org.created_at)
            .bind(org.updated_at)
            .bind(stored_version(org.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}
