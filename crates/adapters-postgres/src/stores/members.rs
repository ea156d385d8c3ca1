//! `MemberStore`: `tenant_members` (migration 0045), next to the tenant row's
//! owner columns. Adds lock the tenant row `FOR UPDATE` first, so concurrent
//! adds to one tenant count one after another and never pass the quota, and
//! a transfer moves the owner and the rows in one transaction.

use async_trait::async_trait;
use domain::ports::{DataScope, MemberStore, StoreError, Unique};
use domain::{
    AuditRecord, Email, Member, MemberId, MemberRole, OrgId, Tenant, TenantId, TenantStatus, UserId,
};
use sqlx::postgres::PgRow;

use super::rows::{corrupt, get, parsed, stored_version, version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

const MEMBER_COLUMNS: &str =
    "tenant_id, user_id, id, org_id, email, role, invited_at, joined_at, updated_at, version";

fn member(row: &PgRow) -> Result<Member, StoreError> {
    Ok(Member {
        id: MemberId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        user_id: parsed(row, "user_id", UserId::parse)?,
        email: parsed(row, "email", Email::parse)?,
        role: parsed(row, "role", MemberRole::parse)?,
        invited_at: get(row, "invited_at")?,
        joined_at: get(row, "joined_at")?,
        updated_at: get(row, "updated_at")?,
        version: version(row)?,
    })
}

impl PgStore {
    /// Locks the tenant of `org` for its members' change and answers its
    /// owner's user id and how many people it has (owner and rows); `None`
    /// when it is gone, out of sight or deleted.
    async fn lock_member_tenant(
        &self,
        tx: &mut Tx,
        org: OrgId,
        tenant: TenantId,
    ) -> Result<Option<(Option<String>, u64)>, StoreError> {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, owner_user_id FROM tenants WHERE id = $1 AND org_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_uuid())
        .bind(org.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(translate)?;
        let Some((status, owner)) = row else {
            return Ok(None);
        };
        if status == TenantStatus::Deleted.as_str() {
            return Ok(None);
        }
        let rows: i64 = self
            .db
            .query_scalar("SELECT count(*) FROM tenant_members WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(&mut **tx)
            .await
            .map_err(translate)?;
        let rows = u64::try_from(rows).map_err(|_| corrupt("count"))?;
        Ok(Some((owner.clone(), rows + u64::from(owner.is_some()))))
    }

    async fn insert_member(&self, tx: &mut Tx, m: &Member) -> Result<(), StoreError> {
        self.db
            .query(
                "INSERT INTO tenant_members (tenant_id, user_id, id, org_id, email, role, \
                 invited_at, joined_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(m.tenant_id.as_uuid())
            .bind(m.user_id.as_str())
            .bind(m.id.as_uuid())
            .bind(m.org_id.as_uuid())
            .bind(m.email.as_str())
            .bind(m.role.as_str())
            .bind(m.invited_at)
            .bind(m.joined_at)
            .bind(m.updated_at)
            .bind(stored_version(m.version))
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }

    /// Deletes `m` as stored at its version; `Stale` when it is not.
    async fn delete_member(&self, tx: &mut Tx, m: &Member) -> Result<(), StoreError> {
        let deleted = self
            .db
            .query("DELETE FROM tenant_members WHERE tenant_id = $1 AND id = $2 AND version = $3")
            .bind(m.tenant_id.as_uuid())
            .bind(m.id.as_uuid())
            .bind(stored_version(m.version))
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        if deleted.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Stale)
        }
    }
}

#[async_trait]
impl MemberStore for PgStore {
    async fn members(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM tenant_members WHERE tenant_id = $1 \
             AND ($2::text IS NULL OR user_id COLLATE \"C\" > $2) \
             ORDER BY user_id COLLATE \"C\" LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(after.as_ref().map(UserId::as_str))
            .bind(sql_limit(limit));
        self.read_all(scope, query, member).await
    }

    async fn get_member(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        user: &UserId,
    ) -> Result<Option<Member>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM tenant_members WHERE tenant_id = $1 AND user_id = $2"
        );
        let query = self
            .db
            .query(&sql)
            .bind(tenant.as_uuid())
            .bind(user.as_str());
        self.read_one(scope, query, member).await
    }

    async fn add_member(
        &self,
        scope: &DataScope,
        m: &Member,
        max_members: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(m.org_id, m.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let Some((owner, used)) = self
            .lock_member_tenant(&mut tx, m.org_id, m.tenant_id)
            .await?
        else {
            return Err(StoreError::Stale);
        };
        if owner.as_deref() == Some(m.user_id.as_str()) {
            return Err(StoreError::Taken(Unique::Member));
        }
        if used >= max_members {
            return Err(StoreError::LimitReached { used });
        }
        self.insert_member(&mut tx, m).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn update_member(
        &self,
        scope: &DataScope,
        m: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(m.org_id, m.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if self
            .lock_member_tenant(&mut tx, m.org_id, m.tenant_id)
            .await?
            .is_none()
        {
            return Err(StoreError::Stale);
        }
        let updated = self
            .db
            .query(
                "UPDATE tenant_members SET email = $3, role = $4, joined_at = $5, \
                 updated_at = $6, version = $7 \
                 WHERE tenant_id = $1 AND id = $2 AND version = $7 - 1",
            )
            .bind(m.tenant_id.as_uuid())
            .bind(m.id.as_uuid())
            .bind(m.email.as_str())
            .bind(m.role.as_str())
            .bind(m.joined_at)
            .bind(m.updated_at)
            .bind(stored_version(m.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn remove_member(
        &self,
        scope: &DataScope,
        m: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(m.org_id, m.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if self
            .lock_member_tenant(&mut tx, m.org_id, m.tenant_id)
            .await?
            .is_none()
        {
            return Err(StoreError::Stale);
        }
        self.delete_member(&mut tx, m).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn transfer_owner(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        promoted: Option<Member>,
        demoted: Option<Member>,
        max_members: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let (promoted, demoted) = (promoted.as_ref(), demoted.as_ref());
        let ours = |m: &Member| m.tenant_id == tenant.id && m.org_id == tenant.org_id;
        let rows_ours = promoted.is_none_or(ours) && demoted.is_none_or(ours);
        in_scope(
            rows_ours && scope.sees_tenant(tenant.org_id, tenant.id),
            scope,
            audit,
        )?;
        let mut tx = self.begin(scope).await?;
        let Some((_, used)) = self
            .lock_member_tenant(&mut tx, tenant.org_id, tenant.id)
            .await?
        else {
            return Err(StoreError::Stale);
        };
        // A promoted member was counted already; a new owner from outside
        // is one more.
        if promoted.is_none() && used >= max_members {
            return Err(StoreError::LimitReached { used });
        }
        if let Some(promoted) = promoted {
            self.delete_member(&mut tx, promoted).await?;
        }
        if let Some(former) = demoted {
            self.insert_member(&mut tx, former)
                .await
                .map_err(|e| match e {
                    StoreError::Taken(_) => StoreError::Taken(Unique::Member),
                    e => e,
                })?;
        }
        self.write_tenant_row(&mut tx, tenant).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}
