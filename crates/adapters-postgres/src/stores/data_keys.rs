//! `DataKeyStore`: `tenant_data_keys` and `org_data_keys`, wrapped only.
//! A tenant's first data key is inserted with its provisioning or its first
//! secret (`tenants.rs`, `secrets.rs`), in their transactions.

use async_trait::async_trait;
use domain::kms::{KekId, KekVersion, WrappedKey};
use domain::ports::{DataKeyStore, DataScope, StoreError, StoredDataKey};
use domain::{OrgId, TenantId};

use super::idempotency::out_of_scope_unless;
use super::rows::{self, get};
use super::secrets::{WrappedIn, kek_version, wrapped};
use super::{PgStore, commit, sql_limit};
use crate::error::{translate, translate_write};

#[async_trait]
impl DataKeyStore for PgStore {
    async fn data_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<WrappedKey>, StoreError> {
        let query = self
            .db
            .query("SELECT wrapped FROM tenant_data_keys WHERE tenant_id = $1")
            .bind(tenant.as_uuid());
        self.read_one(scope, query, wrapped).await
    }

    async fn data_keys(
        &self,
        after: Option<TenantId>,
        limit: usize,
    ) -> Result<Vec<StoredDataKey>, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let found = self
            .db
            .query(
                "SELECT tenant_id, org_id, wrapped FROM tenant_data_keys \
                 WHERE $1::uuid IS NULL OR tenant_id > $1 ORDER BY tenant_id LIMIT $2",
            )
            .bind(after.map(|t| t.as_uuid()))
            .bind(sql_limit(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let keys = rows::all(&found, |row| {
            Ok(StoredDataKey {
                org_id: OrgId::from_uuid(get(row, "org_id")?),
                tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
                wrapped: wrapped(row)?,
            })
        })?;
        commit(tx).await?;
        Ok(keys)
    }

    async fn replace_data_key(
        &self,
        tenant: TenantId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        self.replace_wrapped(WrappedIn::TenantDataKeys, tenant.as_uuid(), old, new)
            .await
    }

    async fn count_data_keys(&self, kek: &KekId, version: KekVersion) -> Result<u64, StoreError> {
        self.count_wrapped(WrappedIn::TenantDataKeys, kek, version)
            .await
    }

    async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Option<WrappedKey>, StoreError> {
        let query = self
            .db
            .query("SELECT wrapped FROM org_data_keys WHERE org_id = $1")
            .bind(org.as_uuid());
        self.read_one(scope, query, wrapped).await
    }

    async fn put_org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &WrappedKey,
    ) -> Result<(), StoreError> {
        out_of_scope_unless(scope.sees_org_level(org))?;
        let mut tx = self.begin(scope).await?;
        let inserted = self
            .db
            .query(
                "INSERT INTO org_data_keys (org_id, wrapped, kek_id, kek_version) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(org.as_uuid())
            .bind(key.to_bytes())
            .bind(key.kek_id().as_str())
            .bind(kek_version(key))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        commit(tx).await
    }

    async fn org_data_keys(
        &self,
        after: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<(OrgId, WrappedKey)>, StoreError> {
        let query = self
            .db
            .query(
                "SELECT org_id, wrapped FROM org_data_keys \
                 WHERE $1::uuid IS NULL OR org_id > $1 ORDER BY org_id LIMIT $2",
            )
            .bind(after.map(|o| o.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(&DataScope::Platform, query, |row| {
            Ok((OrgId::from_uuid(get(row, "org_id")?), wrapped(row)?))
        })
        .await
    }

    async fn replace_org_data_key(
        &self,
        org: OrgId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        self.replace_wrapped(WrappedIn::OrgDataKeys, org.as_uuid(), old, new)
            .await
    }

    async fn count_org_data_keys(
        &self,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError> {
        self.count_wrapped(WrappedIn::OrgDataKeys, kek, version)
            .await
    }
}
