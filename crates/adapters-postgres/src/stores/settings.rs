//! `SettingsStore`: `settings_documents` (migration 0046), one row per owner
//! and group. A write names the version it replaces (none: the first), so two
//! writers from one read cannot both land; it locks its tenant's row
//! `FOR SHARE` first, so a deletion (which purges the documents) is wholly
//! before or after it.

use async_trait::async_trait;
use domain::AuditRecord;
use domain::ports::{DataScope, SettingsOwner, SettingsStore, StoreError, StoredSettings};
use serde_json::Value;

use super::rows::{get, stored_version, version};
use super::{PgStore, commit, in_scope};
use crate::error::{translate, translate_write};
use crate::invalidation::Invalidation;

fn owner_id(owner: SettingsOwner) -> uuid::Uuid {
    match owner {
        SettingsOwner::Org(org) => org.as_uuid(),
        SettingsOwner::Tenant { tenant, .. } => tenant.as_uuid(),
        SettingsOwner::Namespace { namespace, .. } => namespace.as_uuid(),
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    async fn settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
    ) -> Result<Option<StoredSettings>, StoreError> {
        let query = self
            .db
            .query(
                "SELECT document, version, updated_at FROM settings_documents \
                 WHERE owner_id = $1 AND grp = $2 AND org_id = $3",
            )
            .bind(owner_id(owner))
            .bind(group)
            .bind(owner.org().as_uuid());
        self.read_one(scope, query, |row| {
            Ok(StoredSettings {
                document: get::<Value>(row, "document")?,
                version: version(row)?,
                updated_at: get(row, "updated_at")?,
            })
        })
        .await
    }

    async fn put_settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
        stored: &StoredSettings,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(owner.writable_in(scope), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let live = match owner {
            SettingsOwner::Org(_) => true,
            SettingsOwner::Tenant { org, tenant }
            | SettingsOwner::Namespace { org, tenant, .. } => {
                let status: Option<String> = self
                    .db
                    .query_scalar(
                        "SELECT status FROM tenants WHERE id = $1 AND org_id = $2 FOR SHARE",
                    )
                    .bind(tenant.as_uuid())
                    .bind(org.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(translate)?;
                status.is_some_and(|s| s != domain::TenantStatus::Deleted.as_str())
            }
        };
        if !live {
            return Err(StoreError::Stale);
        }
        let written = if stored.version == 1 {
            self.db
                .query(
                    "INSERT INTO settings_documents (owner_id, grp, org_id, tenant_id, \
                     namespace_id, document, version, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT DO NOTHING",
                )
                .bind(owner_id(owner))
                .bind(group)
                .bind(owner.org().as_uuid())
                .bind(owner.tenant().map(|t| t.as_uuid()))
                .bind(match owner {
                    SettingsOwner::Namespace { namespace, .. } => Some(namespace.as_uuid()),
                    _ => None,
                })
                .bind(&stored.document)
                .bind(stored.updated_at)
                .execute(&mut *tx)
                .await
        } else {
            self.db
                .query(
                    "UPDATE settings_documents SET document = $4, version = $5, updated_at = $6 \
                     WHERE owner_id = $1 AND grp = $2 AND org_id = $3 AND version = $5 - 1",
                )
                .bind(owner_id(owner))
                .bind(group)
                .bind(owner.org().as_uuid())
                .bind(&stored.document)
                .bind(stored_version(stored.version))
                .bind(stored.updated_at)
                .execute(&mut *tx)
                .await
        }
        .map_err(translate_write)?;
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        // The key lookup carries this document's allowlist: every instance's
        // cache forgets the tenant's keys once it commits.
        if let Some(tenant) = owner.governs_keys_of(group) {
            self.notify(&mut tx, Invalidation::Tenant(tenant)).await?;
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}
