//! `NamespaceStore`.

use async_trait::async_trait;
use domain::ports::{DataScope, NamespaceStore, StoreError};
use domain::{AuditRecord, Namespace, NamespaceId, NamespaceRef, TenantId};

use super::rows::{self, NAMESPACE_COLUMNS, stored_version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::translate_write;

#[async_trait]
impl NamespaceStore for PgStore {
    async fn create_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(ns.org_id, ns.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_active_tenant(&mut tx, ns.org_id, ns.tenant_id)
            .await?
        {
            return Err(StoreError::Stale);
        }
        self.insert_namespace(&mut tx, ns).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_namespace(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        ns: &NamespaceRef,
    ) -> Result<Option<Namespace>, StoreError> {
        let by_id =
            format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 AND id = $2");
        let by_key =
            format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 AND key = $2");
        let query = match ns {
            NamespaceRef::Id(id) => self
                .db
                .query(&by_id)
                .bind(tenant.as_uuid())
                .bind(id.as_uuid()),
            NamespaceRef::Key(key) => self
                .db
                .query(&by_key)
                .bind(tenant.as_uuid())
                .bind(key.as_str()),
        };
        self.read_one(scope, query, rows::namespace).await
    }

    async fn list_namespaces(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<NamespaceId>,
        limit: usize,
    ) -> Result<Vec<Namespace>, StoreError> {
        let sql = format!(
            "SELECT {NAMESPACE_COLUMNS} FROM namespaces \
             WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(after.map(|a| a.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, rows::namespace).await
    }

    async fn update_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        // The tenant first, as everywhere (see the module docs of `stores`).
        let active = self
            .lock_active_tenant(&mut tx, ns.org_id, ns.tenant_id)
            .await?;
        let updated = self
            .db
            .query(
                "UPDATE namespaces SET name = $5, mode = $6, created_at = $7, updated_at = $8, \
                 version = $9 \
                 WHERE tenant_id = $1 AND id = $2 AND org_id = $3 AND key = $4 \
                 AND version = $9 - 1",
            )
            .bind(ns.tenant_id.as_uuid())
            .bind(ns.id.as_uuid())
            .bind(ns.org_id.as_uuid())
            .bind(ns.key.as_str())
            .bind(ns.name.as_str())
            .bind(ns.mode.as_str())
            .bind(ns.created_at)
            .bind(ns.updated_at)
            .bind(stored_version(ns.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        if !active {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}

impl PgStore {
    pub(super) async fn insert_namespace(
        &self,
        tx: &mut Tx,
        ns: &Namespace,
    ) -> Result<(), StoreError> {
        self.db
            .query(
                "INSERT INTO namespaces (tenant_id, id, org_id, key, name, mode, created_at, \
                 updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(ns.tenant_id.as_uuid())
            .bind(ns.id.as_uuid())
            .bind(ns.org_id.as_uuid())
            .bind(ns.key.as_str())
            .bind(ns.name.as_str())
            .bind(ns.mode.as_str())
            .bind(ns.created_at)
            .bind(ns.updated_at)
            .bind(stored_version(ns.version))
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }
}
