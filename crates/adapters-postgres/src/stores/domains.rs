//! `CustomDomainStore`: `custom_domains` (migration 0047), one row per tenant,
//! the name unique over all tenants. A write names the version it replaces
//! (none: the first) and locks its tenant's row `FOR SHARE` first, so a
//! deletion (which purges the row) is wholly before or after it. The
//! background batch and the public lookup are system paths, in platform
//! scope: the first an index range scan over the pending domains that are
//! due (`custom_domains_due`), the second one probe of the unique name index.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{CustomDomainStore, DataScope, StoreError, StoredDomain};
use domain::{
    AuditRecord, CheckReason, CustomDomain, DomainName, DomainStatus, OrgId, TenantId,
    TenantStatus, VerificationToken,
};
use sqlx::postgres::PgRow;

use super::rows::{corrupt, get, parsed, parsed_opt, stored_version, version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

const DOMAIN_COLUMNS: &str = "tenant_id, org_id, domain, token, status, started_at, \
     last_checked_at, last_reason, next_check_at, verified_at, checks, updated_at, version";

fn stored_domain(row: &PgRow) -> Result<StoredDomain, StoreError> {
    let checks: i32 = get(row, "checks")?;
    Ok(StoredDomain {
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        domain: CustomDomain {
            domain: parsed(row, "domain", DomainName::parse)?,
            token: parsed(row, "token", VerificationToken::parse)?,
            status: parsed(row, "status", DomainStatus::parse)?,
            started_at: get(row, "started_at")?,
            last_checked_at: get(row, "last_checked_at")?,
            last_reason: parsed_opt(row, "last_reason", CheckReason::parse)?,
            next_check_at: get(row, "next_check_at")?,
            verified_at: get(row, "verified_at")?,
            checks: u32::try_from(checks).map_err(|_| corrupt("checks"))?,
        },
        version: version(row)?,
        updated_at: get(row, "updated_at")?,
    })
}

impl PgStore {
    /// Whether the tenant of `stored` is there and not deleted, its row
    /// locked `FOR SHARE` until the end of `tx`.
    async fn domain_tenant_live(
        &self,
        tx: &mut Tx,
        stored: &StoredDomain,
    ) -> Result<bool, StoreError> {
        let status: Option<String> = self
            .db
            .query_scalar("SELECT status FROM tenants WHERE id = $1 AND org_id = $2 FOR SHARE")
            .bind(stored.tenant_id.as_uuid())
            .bind(stored.org_id.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(translate)?;
        Ok(status.is_some_and(|s| s != TenantStatus::Deleted.as_str()))
    }
}

#[async_trait]
impl CustomDomainStore for PgStore {
    async fn custom_domain(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<StoredDomain>, StoreError> {
        let sql = format!("SELECT {DOMAIN_COLUMNS} FROM custom_domains WHERE tenant_id = $1");
        let query = self.db.query(&sql).bind(tenant.as_uuid());
        self.read_one(scope, query, stored_domain).await
    }

    async fn put_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: Option<AuditRecord>,
    ) -> Result<(), StoreError> {
        let allowed = scope.sees_tenant(stored.org_id, stored.tenant_id);
        match &audit {
            Some(audit) => in_scope(allowed, scope, audit)?,
            None if !allowed => return Err(StoreError::OutOfScope),
            None => {}
        }
        let mut tx = self.begin(scope).await?;
        if !self.domain_tenant_live(&mut tx, stored).await? {
            return Err(StoreError::Stale);
        }
        let d = &stored.domain;
        let sql = if stored.version == 1 {
            // A second domain of the tenant is stale (the primary key); the
            // name of another tenant's is `Taken` (the unique index).
            "INSERT INTO custom_domains (tenant_id, org_id, domain, token, status, started_at, \
             last_checked_at, last_reason, next_check_at, verified_at, checks, updated_at, \
             version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (tenant_id) DO NOTHING"
        } else {
            "UPDATE custom_domains SET token = $4, status = $5, started_at = $6, \
             last_checked_at = $7, last_reason = $8, next_check_at = $9, verified_at = $10, \
             checks = $11, updated_at = $12, version = $13 \
             WHERE tenant_id = $1 AND org_id = $2 AND domain = $3 AND version = $13 - 1"
        };
        let written = self
            .db
            .query(sql)
            .bind(stored.tenant_id.as_uuid())
            .bind(stored.org_id.as_uuid())
            .bind(d.domain.as_str())
            .bind(d.token.as_str())
            .bind(d.status.as_str())
            .bind(d.started_at)
            .bind(d.last_checked_at)
            .bind(d.last_reason.map(|r| r.as_str()))
            .bind(d.next_check_at)
            .bind(d.verified_at)
            .bind(i32::try_from(d.checks).unwrap_or(i32::MAX))
            .bind(stored.updated_at)
            .bind(stored_version(stored.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        if let Some(audit) = &audit {
            self.append(&mut tx, audit).await?;
        }
        commit(tx).await
    }

    async fn remove_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(
            scope.sees_tenant(stored.org_id, stored.tenant_id),
            scope,
            audit,
        )?;
        let mut tx = self.begin(scope).await?;
        if !self.domain_tenant_live(&mut tx, stored).await? {
            return Err(StoreError::Stale);
        }
        let removed = self
            .db
            .query(
                "DELETE FROM custom_domains \
                 WHERE tenant_id = $1 AND org_id = $2 AND domain = $3 AND version = $4",
            )
            .bind(stored.tenant_id.as_uuid())
            .bind(stored.org_id.as_uuid())
            .bind(stored.domain.domain.as_str())
            .bind(stored_version(stored.version))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        if removed.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn due_custom_domains(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredDomain>, StoreError> {
        let sql = format!("SELECT {DOMAIN_COLUMNS} {DUE_FROM}");
        let query = self.db.query(&sql).bind(now).bind(sql_limit(limit));
        self.read_all(&DataScope::Platform, query, stored_domain)
            .await
    }

    async fn tenant_of_verified_domain(
        &self,
        name: &DomainName,
    ) -> Result<Option<(OrgId, TenantId)>, StoreError> {
        let query = self.db.query(VERIFIED_DOMAIN_SQL).bind(name.as_str());
        self.read_one(&DataScope::Platform, query, |row| {
            Ok((
                OrgId::from_uuid(get(row, "org_id")?),
                TenantId::from_uuid(get(row, "tenant_id")?),
            ))
        })
        .await
    }
}

/// The background check's batch, after its columns: a range of
/// `custom_domains_due`, in its order.
const DUE_FROM: &str = "FROM custom_domains WHERE status = 'pending' AND next_check_at <= $1 \
     ORDER BY next_check_at, tenant_id LIMIT $2";

/// The public lookup: one probe of `custom_domains_domain_unique`.
const VERIFIED_DOMAIN_SQL: &str =
    "SELECT org_id, tenant_id FROM custom_domains WHERE domain = $1 AND status = 'verified'";

impl PgStore {
    /// The plans of the two host lookups `public_tenant` makes, for tests
    /// that pin them: `EXPLAIN (FORMAT JSON)` of the tenant by key and of the
    /// tenant by verified domain, with these binds, in platform scope.
    #[cfg(feature = "testing")]
    pub async fn explain_host_lookups(
        &self,
        key: &str,
        domain: &str,
    ) -> Result<(serde_json::Value, serde_json::Value), StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let by_key: serde_json::Value = self
            .db
            .query_scalar(&format!(
                "EXPLAIN (FORMAT JSON) SELECT {} FROM tenants WHERE key = $1",
                super::rows::TENANT_COLUMNS
            ))
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(translate)?;
        let by_domain: serde_json::Value = self
            .db
            .query_scalar(&format!("EXPLAIN (FORMAT JSON) {VERIFIED_DOMAIN_SQL}"))
            .bind(domain)
            .fetch_one(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok((by_key, by_domain))
    }

    /// The plan of the background check's batch of `limit` domains due at
    /// `now`, as [`PgStore::explain_host_lookups`].
    #[cfg(feature = "testing")]
    pub async fn explain_due_domains(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<serde_json::Value, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let plan = self
            .db
            .query_scalar(&format!(
                "EXPLAIN (FORMAT JSON) SELECT {DOMAIN_COLUMNS} {DUE_FROM}"
            ))
            .bind(now)
            .bind(sql_limit(limit))
            .fetch_one(&mut *tx)
            .await
            .map_err(translate)?;
        commit(tx).await?;
        Ok(plan)
    }
}
