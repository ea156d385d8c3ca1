//! `SecretStore`: `tenant_secrets` (sealed values only), with the helpers on
//! wrapped keys that `data_keys.rs` uses for `tenant_data_keys`.

use async_trait::async_trait;
use domain::kms::{KekId, KekVersion, WrappedKey};
use domain::ports::{DataScope, SecretStore, StoreError};
use domain::{AuditRecord, OrgId, SecretName, StoredSecret, Tenant, TenantId};
use sqlx::postgres::PgRow;

use super::rows::{self, corrupt, get, parsed, stored_version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

const SECRET_COLUMNS: &str = "id, org_id, tenant_id, name, sealed, created_at, updated_at, \
                              updated_by_kind, updated_by_id, version";

fn secret(row: &PgRow) -> Result<StoredSecret, StoreError> {
    Ok(StoredSecret {
        id: get(row, "id")?,
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        name: parsed(row, "name", SecretName::parse)?,
        sealed: get(row, "sealed")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        updated_by: domain::Actor {
            kind: parsed(row, "updated_by_kind", rows::actor_kind)?,
            id: get(row, "updated_by_id")?,
        },
        version: rows::version(row)?,
    })
}

pub(super) fn wrapped(row: &PgRow) -> Result<WrappedKey, StoreError> {
    let bytes: Vec<u8> = get(row, "wrapped")?;
    WrappedKey::from_bytes(&bytes).map_err(|_| corrupt("wrapped"))
}

pub(super) fn kek_version(key: &WrappedKey) -> i32 {
    i32::try_from(key.kek_version().get()).unwrap_or(i32::MAX)
}

/// A table of wrapped data keys, and the column that names whose key a row is.
#[derive(Debug, Clone, Copy)]
pub(super) enum WrappedIn {
    TenantDataKeys,
    OrgDataKeys,
}

impl WrappedIn {
    fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Self::TenantDataKeys => ("tenant_data_keys", "tenant_id"),
            Self::OrgDataKeys => ("org_data_keys", "org_id"),
        }
    }
}

impl PgStore {
    /// The rewrap's replacement of one wrapped key (the platform scope's
    /// system path): `new` in place of `old` if `old` is still stored,
    /// `Stale` otherwise.
    pub(super) async fn replace_wrapped(
        &self,
        table: WrappedIn,
        owner: uuid::Uuid,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        let (table, column) = table.table_and_column();
        let sql = format!(
            "UPDATE {table} SET wrapped = $3, kek_id = $4, kek_version = $5 \
             WHERE {column} = $1 AND wrapped = $2"
        );
        let mut tx = self.begin(&DataScope::Platform).await?;
        let updated = self
            .db
            .query(&sql)
            .bind(owner)
            .bind(old.to_bytes())
            .bind(new.to_bytes())
            .bind(new.kek_id().as_str())
            .bind(kek_version(new))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        commit(tx).await
    }

    /// How many keys of `table` are wrapped by `version` of `kek`, over every
    /// owner (the platform scope's system path). The `kek_id` and
    /// `kek_version` columns are written with every envelope, so no envelope
    /// needs parsing.
    pub(super) async fn count_wrapped(
        &self,
        table: WrappedIn,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError> {
        let (table, _) = table.table_and_column();
        let sql = format!("SELECT count(*) FROM {table} WHERE kek_id = $1 AND kek_version = $2");
        let mut tx = self.begin(&DataScope::Platform).await?;
        let count: i64 = self
            .db
            .query_scalar(&sql)
            .bind(kek.as_str())
            .bind(i32::try_from(version.get()).unwrap_or(i32::MAX))
            .fetch_one(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Stores a tenant's wrapped data key in `tx` (provisioning, or a first
    /// secret of a tenant from before data keys).
    pub(super) async fn insert_data_key(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
        key: &WrappedKey,
    ) -> Result<(), StoreError> {
        self.insert_key_for(tx, tenant.org_id, tenant.id, key).await
    }

    async fn insert_key_for(
        &self,
        tx: &mut Tx,
        org: OrgId,
        tenant: TenantId,
        key: &WrappedKey,
    ) -> Result<(), StoreError> {
        self.db
            .query(
                "INSERT INTO tenant_data_keys (tenant_id, org_id, wrapped, kek_id, kek_version) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant.as_uuid())
            .bind(org.as_uuid())
            .bind(key.to_bytes())
            .bind(key.kek_id().as_str())
            .bind(kek_version(key))
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }

    async fn has_data_key(&self, tx: &mut Tx, tenant: TenantId) -> Result<bool, StoreError> {
        let found: Option<i32> = self
            .db
            .query_scalar("SELECT 1 FROM tenant_data_keys WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(translate)?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl SecretStore for PgStore {
    async fn put_secret(
        &self,
        scope: &DataScope,
        s: &StoredSecret,
        new_data_key: Option<WrappedKey>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(s.org_id, s.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_active_tenant(&mut tx, s.org_id, s.tenant_id)
            .await?
        {
            return Err(StoreError::Stale);
        }
        let has_key = self.has_data_key(&mut tx, s.tenant_id).await?;
        match (has_key, new_data_key) {
            (false, Some(key)) => {
                self.insert_key_for(&mut tx, s.org_id, s.tenant_id, &key)
                    .await?;
            }
            (true, None) => {}
            _ => return Err(StoreError::Stale),
        }
        let written = if s.version == 1 {
            self.db
                .query(
                    "INSERT INTO tenant_secrets (tenant_id, name, id, org_id, sealed, created_at, \
                     updated_at, updated_by_kind, updated_by_id, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) \
                     ON CONFLICT (tenant_id, name) DO NOTHING",
                )
                .bind(s.tenant_id.as_uuid())
                .bind(s.name.as_str())
                .bind(s.id)
                .bind(s.org_id.as_uuid())
                .bind(&s.sealed)
                .bind(s.created_at)
                .bind(s.updated_at)
                .bind(s.updated_by.kind.as_str())
                .bind(&s.updated_by.id)
                .execute(&mut *tx)
                .await
        } else {
            self.db
                .query(
                    "UPDATE tenant_secrets SET sealed = $4, updated_at = $5, \
                     updated_by_kind = $6, updated_by_id = $7, version = $8 \
                     WHERE tenant_id = $1 AND name = $2 AND id = $3 AND version = $8 - 1",
                )
                .bind(s.tenant_id.as_uuid())
                .bind(s.name.as_str())
                .bind(s.id)
                .bind(&s.sealed)
                .bind(s.updated_at)
                .bind(s.updated_by.kind.as_str())
                .bind(&s.updated_by.id)
                .bind(stored_version(s.version))
                .execute(&mut *tx)
                .await
        }
        .map_err(translate_write)?;
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError> {
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM tenant_secrets WHERE tenant_id = $1 AND name = $2"
        );
        let query = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(name.as_str());
        self.read_one(scope, query, secret).await
    }

    async fn reveal_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        audit: &AuditRecord,
    ) -> Result<Option<StoredSecret>, StoreError> {
        let mut tx = self.begin(scope).await?;
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM tenant_secrets WHERE tenant_id = $1 AND name = $2"
        );
        let row = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = secret(&row)?;
        in_scope(true, scope, audit)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(Some(found))
    }

    async fn list_secrets(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<SecretName>,
        limit: usize,
    ) -> Result<Vec<StoredSecret>, StoreError> {
        // Byte order (`COLLATE "C"`), the order the domain's names compare in.
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM tenant_secrets \
             WHERE tenant_id = $1 AND ($2::text IS NULL OR name COLLATE \"C\" > $2) \
             ORDER BY name COLLATE \"C\" LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(after.as_ref().map(SecretName::as_str))
            .bind(sql_limit(limit));
        self.read_all(scope, query, secret).await
    }

    async fn delete_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_active_tenant(&mut tx, audit.org_id, tenant)
            .await?
        {
            return Err(StoreError::Stale);
        }
        let deleted = self
            .db
            .query("DELETE FROM tenant_secrets WHERE tenant_id = $1 AND name = $2 AND version = $3")
            .bind(tenant.as_uuid())
            .bind(name.as_str())
            .bind(stored_version(version))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        if deleted.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}
