//! `ApiKeyStore`: namespace keys in `api_keys`, org keys in `org_api_keys`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{ApiKeyStore, DataScope, StoreError};
use domain::settings::IpAllowlist;
use domain::{
    ApiKey, ApiKeyId, AuditRecord, KeyHash, KeyLookup, KeyOwner, NamespaceBrief, NamespaceId,
    NamespaceKey, OrgId, TenantBrief, TenantId, TenantKey,
};
use sqlx::Row;
use uuid::Uuid;

use super::rows::{self, KEY_COMMON_COLUMNS, corrupt, stored_version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};
use crate::invalidation::Invalidation;

/// Both key tables as one relation, org keys without tenant or namespace.
fn both_tables(namespace_filter: &str, org_filter: &str) -> String {
    format!(
        "SELECT tenant_id, namespace_id, {KEY_COMMON_COLUMNS} FROM api_keys WHERE {namespace_filter} \
         UNION ALL \
         SELECT NULL::uuid AS tenant_id, NULL::uuid AS namespace_id, {KEY_COMMON_COLUMNS} \
         FROM org_api_keys WHERE {org_filter}"
    )
}

#[async_trait]
impl ApiKeyStore for PgStore {
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees(key.org_id, key.tenant_id()), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        self.check_owner_and_insert(&mut tx, key).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        // A cache miss: one statement, one round trip. `tenancy_find_key`
        // (migration 0009, rewritten by 0017, 0024, 0025, 0030 and 0049) sets the platform scope
        // and runs the lookup in the call's own implicit transaction; row-level
        // security still applies.
        // On a lookup connection of its own, not the pool's (see `lookups.rs`),
        // within the lookup's deadline: a lookup that runs out of it is
        // abandoned, its connection closed, and the caller told the store is
        // unavailable (a verification's slowness is never the caller's doing).
        let lookups = self.db.lookups();
        let mut lookup = lookups.get().await.map_err(translate)?;
        let statement = self
            .db
            .query("SELECT * FROM tenancy_find_key($1)")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(lookup.connection());
        let row = tokio::time::timeout(lookups.deadline(), statement)
            .await
            .map_err(|_| StoreError::Unavailable("the key lookup did not answer in time".into()))?
            .map_err(translate)?;
        lookup.reuse();
        let Some(row) = row else {
            return Ok(None);
        };
        let key = rows::api_key(&row)?;
        let (tenant, namespace) = match key.owner {
            KeyOwner::Org => (None, None),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => {
                let tenant_key: Option<String> = row.try_get("tenant_key").map_err(translate)?;
                let status: Option<String> = row.try_get("tenant_status").map_err(translate)?;
                let namespace_key: Option<String> =
                    row.try_get("namespace_key").map_err(translate)?;
                let allowlist: Option<serde_json::Value> =
                    row.try_get("ip_allowlist").map_err(translate)?;
                let tenant = match (tenant_key, status) {
                    (Some(k), Some(s)) => Some(TenantBrief {
                        id: tenant_id,
                        key: TenantKey::parse(&k).map_err(|_| corrupt("tenants.key"))?,
                        status: rows::status(&s).map_err(|()| corrupt("tenants.status"))?,
                        ip_allowlist: IpAllowlist::from_stored(allowlist.as_ref())
                            .map_err(|_| corrupt("settings_documents.document"))?,
                    }),
                    _ => None,
                };
                let namespace = namespace_key
                    .map(|k| {
                        NamespaceKey::parse(&k)
                            .map(|key| NamespaceBrief {
                                id: namespace_id,
                                key,
                            })
                            .map_err(|_| corrupt("namespaces.key"))
                    })
                    .transpose()?;
                (tenant, namespace)
            }
        };
        Ok(Some(Arc::new(KeyLookup {
            key,
            tenant,
            namespace,
        })))
    }

    async fn get_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: ApiKeyId,
    ) -> Result<Option<ApiKey>, StoreError> {
        let sql = both_tables("id = $1 AND org_id = $2", "id = $1 AND org_id = $2");
        let query = self.db.query(&sql).bind(id.as_uuid()).bind(org.as_uuid());
        self.read_one(scope, query, rows::api_key).await
    }

    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut tx = self.begin(scope).await?;
        let after = after.map(|a| a.as_uuid());
        let found = match owner {
            KeyOwner::Org => {
                let sql = format!(
                    "SELECT NULL::uuid AS tenant_id, NULL::uuid AS namespace_id, \
                     {KEY_COMMON_COLUMNS} FROM org_api_keys \
                     WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
                );
                self.db
                    .query(&sql)
                    .bind(org.as_uuid())
                    .bind(after)
                    .bind(sql_limit(limit))
                    .fetch_all(&mut *tx)
                    .await
            }
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => {
                let sql = format!(
                    "SELECT tenant_id, namespace_id, {KEY_COMMON_COLUMNS} FROM api_keys \
                     WHERE tenant_id = $1 AND namespace_id = $2 AND org_id = $3 \
                     AND ($4::uuid IS NULL OR id > $4) ORDER BY id LIMIT $5"
                );
                self.db
                    .query(&sql)
                    .bind(tenant_id.as_uuid())
                    .bind(namespace_id.as_uuid())
                    .bind(org.as_uuid())
                    .bind(after)
                    .bind(sql_limit(limit))
                    .fetch_all(&mut *tx)
                    .await
            }
        }
        .map_err(translate)?;
        let keys = rows::all(&found, rows::api_key)?;
        commit(tx).await?;
        Ok(keys)
    }

    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        self.replace_key(&mut tx, key).await?;
        in_scope(true, scope, audit)?;
        self.notify(&mut tx, Invalidation::Key(key.hash)).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        // The new key's tenant before any key row (see the module docs of `stores`).
        let active = match new.owner {
            KeyOwner::Org => true,
            KeyOwner::Namespace { tenant_id, .. } => {
                self.lock_active_tenant(&mut tx, new.org_id, tenant_id)
                    .await?
            }
        };
        self.replace_key(&mut tx, old).await?;
        in_scope(scope.sees(new.org_id, new.tenant_id()), scope, audit)?;
        if !active {
            return Err(StoreError::Stale);
        }
        self.insert_key(&mut tx, new).await?;
        self.notify(&mut tx, Invalidation::Key(old.hash)).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = used.iter().map(|(id, _)| id.as_uuid()).collect();
        let times: Vec<DateTime<Utc>> = used.iter().map(|(_, at)| *at).collect();
        let mut tx = self.begin(&DataScope::Platform).await?;
        // One row per id (the latest time), so each key is updated once. The
        // rows are locked in primary-key order before any is written: a
        // tenant's status change locks all its key rows in the same order
        // (migration 0025) and then writes them, so a batch and a suspension
        // that share keys queue behind each other instead of deadlocking. The
        // update only writes rows `locked` has handed out, so whatever plan
        // joins the two, each lock is taken in `locked`'s order.
        for (table, order) in [
            ("api_keys", "k.tenant_id, k.id"),
            ("org_api_keys", "k.org_id, k.id"),
        ] {
            let sql = format!(
                "WITH used AS (SELECT id, max(at) AS at \
                     FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, at) GROUP BY id), \
                 locked AS (SELECT k.id FROM {table} k JOIN used u ON u.id = k.id \
                     ORDER BY {order} FOR NO KEY UPDATE OF k) \
                 UPDATE {table} k SET last_used_at = greatest(k.last_used_at, u.at) \
                 FROM used u JOIN locked l ON l.id = u.id \
                 WHERE k.id = u.id"
            );
            self.db
                .query(&sql)
                .bind(&ids)
                .bind(&times)
                .execute(&mut *tx)
                .await
                .map_err(translate)?;
        }
        commit(tx).await
    }
}

impl PgStore {
    /// Inserts a new key after checking that its owner may hold it: for a
    /// namespace key, its tenant is active (locked `FOR SHARE` until commit) and
    /// the namespace is the tenant's (the foreign keys); for an org key, the org
    /// exists (its foreign key). Any of them failing is `Stale`.
    async fn check_owner_and_insert(&self, tx: &mut Tx, key: &ApiKey) -> Result<(), StoreError> {
        if let KeyOwner::Namespace { tenant_id, .. } = key.owner {
            if !self.lock_active_tenant(tx, key.org_id, tenant_id).await? {
                return Err(StoreError::Stale);
            }
        }
        self.insert_key(tx, key).await
    }

    /// Inserts `key` into its table. A missing org, tenant or namespace is
    /// `Stale` (foreign keys); a hash already stored is `Unavailable`.
    pub(super) async fn insert_key(&self, tx: &mut Tx, key: &ApiKey) -> Result<(), StoreError> {
        let (table, owner_columns, tenant, namespace): (
            _,
            _,
            Option<TenantId>,
            Option<NamespaceId>,
        ) = match key.owner {
            KeyOwner::Org => ("org_api_keys", "", None, None),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => (
                "api_keys",
                "tenant_id, namespace_id, ",
                Some(tenant_id),
                Some(namespace_id),
            ),
        };
        let owner_values = if tenant.is_some() { "$18, $19, " } else { "" };
        let sql = format!(
            "INSERT INTO {table} ({owner_columns}{KEY_COMMON_COLUMNS}) VALUES ({owner_values}\
             $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        let mut query = self
            .db
            .query(&sql)
            .bind(key.id.as_uuid())
            .bind(key.org_id.as_uuid())
            .bind(key.hash.as_bytes().as_slice())
            .bind(&key.display)
            .bind(key.name.as_str())
            .bind(key.mode.as_str())
            .bind(key.access.role.map(|r| r.as_str()))
            .bind(i32::from(key.access.scopes.bits()))
            .bind(&key.access.resources)
            .bind(key.expires_at)
            .bind(key.last_used_at)
            .bind(key.revoked_at)
            .bind(key.rotated_from.map(|r| r.as_uuid()))
            .bind(key.created_at)
            .bind(key.created_by.kind.as_str())
            .bind(&key.created_by.id)
            .bind(stored_version(key.version));
        if let (Some(tenant), Some(namespace)) = (tenant, namespace) {
            query = query.bind(tenant.as_uuid()).bind(namespace.as_uuid());
        }
        query.execute(&mut **tx).await.map_err(translate_write)?;
        Ok(())
    }

    /// Stores a new version of a key whose stored version is `key.version - 1`
    /// (and whose hash and owner are unchanged); `Stale` otherwise, or when the
    /// key is out of sight. `last_used_at` only moves forward.
    async fn replace_key(&self, tx: &mut Tx, key: &ApiKey) -> Result<(), StoreError> {
        const SET: &str = "name = $4, display = $5, mode = $6, role = $7, scopes = $8, \
             resources = $9, expires_at = $10, last_used_at = greatest(last_used_at, $11), \
             revoked_at = $12, rotated_from = $13, created_at = $14, created_by_kind = $15, \
             created_by_id = $16, version = $17";
        let sql = match key.owner {
            KeyOwner::Org => format!(
                "UPDATE org_api_keys SET {SET} \
                 WHERE id = $1 AND org_id = $2 AND hash = $3 AND version = $17 - 1"
            ),
            KeyOwner::Namespace { .. } => format!(
                "UPDATE api_keys SET {SET} \
                 WHERE id = $1 AND org_id = $2 AND hash = $3 AND version = $17 - 1 \
                 AND tenant_id = $18 AND namespace_id = $19"
            ),
        };
        let mut query = self
            .db
            .query(&sql)
            .bind(key.id.as_uuid())
            .bind(key.org_id.as_uuid())
            .bind(key.hash.as_bytes().as_slice())
            .bind(key.name.as_str())
            .bind(&key.display)
            .bind(key.mode.as_str())
            .bind(key.access.role.map(|r| r.as_str()))
            .bind(i32::from(key.access.scopes.bits()))
            .bind(&key.access.resources)
            .bind(key.expires_at)
            .bind(key.last_used_at)
            .bind(key.revoked_at)
            .bind(key.rotated_from.map(|r| r.as_uuid()))
            .bind(key.created_at)
            .bind(key.created_by.kind.as_str())
            .bind(&key.created_by.id)
            .bind(stored_version(key.version));
        if let KeyOwner::Namespace {
            tenant_id,
            namespace_id,
        } = key.owner
        {
            query = query.bind(tenant_id.as_uuid()).bind(namespace_id.as_uuid());
        }
        let updated = query.execute(&mut **tx).await.map_err(translate_write)?;
        if updated.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Stale)
        }
    }
}
