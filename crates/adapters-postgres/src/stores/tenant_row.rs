//! The `tenants` row, written whole: inserted by a provisioning, replaced by
//! version by every update (`update_tenant`, and `transfer_owner` with the
//! member rows). Both statements take the tenant's columns in one order, bound
//! once here.

use domain::Tenant;
use domain::ports::StoreError;
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

use super::rows::{metadata_json, stored_version};
use super::{PgStore, Tx};
use crate::error::translate_write;

/// The tenant's columns as `$1`–`$19`, in the order both statements use.
fn bind_tenant<'q>(
    query: Query<'q, Postgres, PgArguments>,
    tenant: &'q Tenant,
) -> Query<'q, Postgres, PgArguments> {
    let owner = tenant.owner.as_ref();
    query
        .bind(tenant.id.as_uuid())
        .bind(tenant.org_id.as_uuid())
        .bind(tenant.key.as_str())
        .bind(tenant.name.as_str())
        .bind(tenant.plan.as_str())
        .bind(tenant.region.as_str())
        .bind(owner.map(|o| o.user_id.as_str()))
        .bind(owner.map(|o| o.email.as_str()))
        .bind(metadata_json(&tenant.metadata))
        .bind(tenant.lifecycle.status.as_str())
        .bind(tenant.lifecycle.changed_at)
        .bind(tenant.lifecycle.changed_by.kind.as_str())
        .bind(&tenant.lifecycle.changed_by.id)
        .bind(tenant.lifecycle.reason.as_ref().map(|r| r.as_str()))
        .bind(tenant.lifecycle.retention_ends_at)
        .bind(tenant.spec_digest.as_bytes().as_slice())
        .bind(tenant.created_at)
        .bind(tenant.updated_at)
        .bind(stored_version(tenant.version))
}

impl PgStore {
    /// Inserts a new tenant's row in `tx`.
    pub(super) async fn insert_tenant(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
    ) -> Result<(), StoreError> {
        let query = self.db.query(
            "INSERT INTO tenants (id, org_id, key, name, plan, region, owner_user_id, \
             owner_email, metadata, status, status_changed_at, status_changed_by_kind, \
             status_changed_by_id, status_reason, retention_ends_at, spec_digest, \
             created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18, $19)",
        );
        bind_tenant(query, tenant)
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }

    /// Writes `tenant` over its stored version (`version - 1`) in `tx`;
    /// `Stale` when that is not what is stored.
    pub(super) async fn write_tenant_row(
        &self,
        tx: &mut Tx,
        tenant: &Tenant,
    ) -> Result<(), StoreError> {
        let query = self.db.query(
            "UPDATE tenants SET name = $4, plan = $5, region = $6, owner_user_id = $7, \
             owner_email = $8, metadata = $9, status = $10, status_changed_at = $11, \
             status_changed_by_kind = $12, status_changed_by_id = $13, status_reason = $14, \
             retention_ends_at = $15, spec_digest = $16, created_at = $17, updated_at = $18, \
             version = $19 \
             WHERE id = $1 AND org_id = $2 AND key = $3 AND version = $19 - 1",
        );
        let updated = bind_tenant(query, tenant)
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        Ok(())
    }
}
