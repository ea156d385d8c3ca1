//! `RegistrationStore`: `registrations` (migration 0048). A claim is one
//! conditional `UPDATE ... WHERE used_at IS NULL AND expires_at > now`: of
//! concurrent claims of one token, the first takes the row's lock and the
//! others, re-reading the row once it commits, no longer match; only when
//! none matched is the row read again to say why.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, RegistrationStore, StoreError};
use domain::{
    AuditRecord, Email, Name, OrgId, Plan, RegionCode, Registration, RegistrationClaim,
    RegistrationId, TenantKey, TokenHash,
};
use sqlx::postgres::PgRow;

use super::rows::{corrupt, get, parsed};
use super::{PgStore, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

const REGISTRATION_COLUMNS: &str = "id, org_id, name, tenant_key, admin_email, region, plan, \
     token_hash, created_at, expires_at, used_at";

fn registration(row: &PgRow) -> Result<Registration, StoreError> {
    let hash: Vec<u8> = get(row, "token_hash")?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| corrupt("token_hash"))?;
    Ok(Registration {
        id: RegistrationId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        name: parsed(row, "name", Name::parse)?,
        key: parsed(row, "tenant_key", TenantKey::parse)?,
        admin_email: parsed(row, "admin_email", Email::parse)?,
        region: parsed(row, "region", RegionCode::parse)?,
        plan: parsed(row, "plan", Plan::parse)?,
        token_hash: TokenHash::from_bytes(hash),
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        used_at: get(row, "used_at")?,
    })
}

#[async_trait]
impl RegistrationStore for PgStore {
    async fn create_registration(
        &self,
        scope: &DataScope,
        registration: &Registration,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_org_level(registration.org_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let org: Option<uuid::Uuid> = self
            .db
            .query_scalar("SELECT id FROM orgs WHERE id = $1")
            .bind(registration.org_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        if org.is_none() {
            return Err(StoreError::Stale);
        }
        self.db
            .query(
                "INSERT INTO registrations (id, org_id, name, tenant_key, admin_email, region, \
                 plan, token_hash, created_at, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(registration.id.as_uuid())
            .bind(registration.org_id.as_uuid())
            .bind(registration.name.as_str())
            .bind(registration.key.as_str())
            .bind(registration.admin_email.as_str())
            .bind(registration.region.as_str())
            .bind(registration.plan.as_str())
            .bind(registration.token_hash.as_bytes().as_slice())
            .bind(registration.created_at)
            .bind(registration.expires_at)
            .bind(registration.used_at)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn claim_registration(
        &self,
        scope: &DataScope,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RegistrationClaim, StoreError> {
        let mut tx = self.begin(scope).await?;
        let claimed = self
            .db
            .query(&format!(
                "UPDATE registrations SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING {REGISTRATION_COLUMNS}"
            ))
            .bind(token.as_bytes().as_slice())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        if let Some(row) = claimed {
            let claimed = registration(&row)?;
            commit(tx).await?;
            return Ok(RegistrationClaim::Claimed(Box::new(claimed)));
        }
        let found: Option<(Option<DateTime<Utc>>, DateTime<Utc>)> = self
            .db
            .query_as("SELECT used_at, expires_at FROM registrations WHERE token_hash = $1")
            .bind(token.as_bytes().as_slice())
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok(match found {
            None => RegistrationClaim::Unknown,
            Some((None, expires_at)) if expires_at <= now => RegistrationClaim::Expired,
            // Used, or released and taken again between the two statements:
            // either way this claim did not get it.
            Some(_) => RegistrationClaim::Used,
        })
    }

    async fn release_registration(
        &self,
        scope: &DataScope,
        id: RegistrationId,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        self.db
            .query("UPDATE registrations SET used_at = NULL WHERE id = $1 AND used_at = $2")
            .bind(id.as_uuid())
            .bind(claimed_at)
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await
    }

    async fn purge_registrations(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let deleted = self
            .db
            .query(
                // A CTE runs once: a subquery under `IN` may be scanned again
                // after some rows are gone, and pick others past the limit.
                "WITH doomed AS (SELECT id FROM registrations WHERE expires_at < $1 \
                 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
                 DELETE FROM registrations r USING doomed WHERE r.id = doomed.id",
            )
            .bind(before)
            .bind(sql_limit(limit))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok(deleted.rows_affected())
    }
}
