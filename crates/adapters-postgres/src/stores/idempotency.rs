//! `IdempotencyStore`: `idempotency_records` (sealed responses only); the org
//! data keys that seal them are `DataKeyStore`'s, in `data_keys.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, IdempotencyStore, StoreError};
use domain::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, OrgId, RequestFingerprint,
    TenantId, TenantStatus,
};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::rows::{corrupt, get, parsed};
use super::{PgStore, commit, sql_limit};
use crate::error::{translate, translate_write};

pub(super) fn out_of_scope_unless(allowed: bool) -> Result<(), StoreError> {
    if allowed {
        Ok(())
    } else {
        Err(StoreError::OutOfScope)
    }
}

fn record(row: &PgRow) -> Result<IdempotencyRecord, StoreError> {
    let fingerprint: Vec<u8> = get(row, "fingerprint")?;
    let fingerprint: [u8; 32] = fingerprint.try_into().map_err(|_| corrupt("fingerprint"))?;
    Ok(IdempotencyRecord {
        claim: IdempotencyClaim {
            org_id: OrgId::from_uuid(get(row, "org_id")?),
            key: parsed(row, "key", IdempotencyKey::parse)?,
            fingerprint: RequestFingerprint::from_bytes(fingerprint),
            token: get(row, "token")?,
            claimed_at: get(row, "claimed_at")?,
            lease_until: get(row, "lease_until")?,
            expires_at: get(row, "expires_at")?,
        },
        sealed_response: get(row, "sealed_response")?,
        tenant_id: get::<Option<Uuid>>(row, "tenant_id")?.map(TenantId::from_uuid),
    })
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn claim(
        &self,
        scope: &DataScope,
        claim: &IdempotencyClaim,
    ) -> Result<Claimed, StoreError> {
        out_of_scope_unless(scope.sees_org_level(claim.org_id))?;
        let mut tx = self.begin(scope).await?;
        // The `WHERE` of the update is `IdempotencyRecord::yields_to`. When it
        // is false the conflicting row is still locked, so the `SELECT` below
        // reads the very record the claim met.
        let claimed = self
            .db
            .query(
                "INSERT INTO idempotency_records AS r (org_id, key, fingerprint, token, \
                 sealed_response, claimed_at, lease_until, expires_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $6, $7) \
                 ON CONFLICT (org_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
                 token = EXCLUDED.token, sealed_response = NULL, tenant_id = NULL, \
                 claimed_at = EXCLUDED.claimed_at, lease_until = EXCLUDED.lease_until, \
                 expires_at = EXCLUDED.expires_at \
                 WHERE r.expires_at <= EXCLUDED.claimed_at \
                 OR (r.sealed_response IS NULL AND r.lease_until <= EXCLUDED.claimed_at \
                     AND r.fingerprint = EXCLUDED.fingerprint)",
            )
            .bind(claim.org_id.as_uuid())
            .bind(claim.key.as_str())
            .bind(claim.fingerprint.as_bytes().as_slice())
            .bind(claim.token)
            .bind(claim.claimed_at)
            .bind(claim.lease_until)
            .bind(claim.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if claimed.rows_affected() == 1 {
            commit(tx).await?;
            return Ok(Claimed::New);
        }
        let row = self
            .db
            .query(
                "SELECT org_id, key, fingerprint, token, sealed_response, tenant_id, claimed_at, \
                 lease_until, expires_at FROM idempotency_records WHERE org_id = $1 AND key = $2",
            )
            .bind(claim.org_id.as_uuid())
            .bind(claim.key.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        let held = row
            .as_ref()
            .map(record)
            .transpose()?
            .ok_or_else(|| StoreError::Unavailable("a conflicting claim vanished".into()))?;
        commit(tx).await?;
        Ok(Claimed::Held(held))
    }

    async fn complete(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
        about: Option<TenantId>,
        sealed_response: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        if let Some(tenant) = about {
            // The tenant's row is locked until commit: a tombstone (which
            // takes its update lock) is wholly before this, and then refused
            // here, or wholly after, and then deletes this row.
            let status: Option<String> = self
                .db
                .query_scalar("SELECT status FROM tenants WHERE id = $1 AND org_id = $2 FOR SHARE")
                .bind(tenant.as_uuid())
                .bind(org.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(translate)?;
            if status.is_none_or(|s| s == TenantStatus::Deleted.as_str()) {
                return Err(StoreError::Stale);
            }
        }
        let updated = self
            .db
            .query(
                "UPDATE idempotency_records SET sealed_response = $4, tenant_id = $5 \
                 WHERE org_id = $1 AND key = $2 AND token = $3 AND sealed_response IS NULL",
            )
            .bind(org.as_uuid())
            .bind(key.as_str())
            .bind(token)
            .bind(sealed_response)
            .bind(about.map(|t| t.as_uuid()))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        commit(tx).await
    }

    async fn release(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        self.db
            .query(
                "DELETE FROM idempotency_records \
                 WHERE org_id = $1 AND key = $2 AND token = $3 AND sealed_response IS NULL",
            )
            .bind(org.as_uuid())
            .bind(key.as_str())
            .bind(token)
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await
    }

    async fn purge_idempotency(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let deleted = self
            .db
            .query(
                "DELETE FROM idempotency_records WHERE (org_id, key) IN ( \
                 SELECT org_id, key FROM idempotency_records WHERE expires_at <= $1 \
                 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(now)
            .bind(sql_limit(limit))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok(usize::try_from(deleted.rows_affected()).unwrap_or(usize::MAX))
    }
}
