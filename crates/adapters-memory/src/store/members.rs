//! `MemberStore` in memory: members by (tenant, user id), so a tenant's are
//! one range in user id order; the owner is the tenant's `owner`.

use std::ops::Bound;

use async_trait::async_trait;
use domain::ports::{DataScope, MemberStore, StoreError, Unique};
use domain::{AuditRecord, Member, Tenant, TenantId, TenantStatus, UserId};

use super::{MemoryStore, State, in_scope};

impl State {
    /// A deleted tenant's members go with its other personal data.
    pub(crate) fn forget_members(&mut self, tenant: TenantId) {
        self.members.retain(|(t, _), _| *t != tenant);
    }

    /// Members of `tenant`, its owner counted.
    fn member_count(&self, tenant: &Tenant) -> u64 {
        let rows = self.members_of(tenant.id).count();
        u64::try_from(rows).unwrap_or(u64::MAX) + u64::from(tenant.owner.is_some())
    }

    fn members_of(&self, tenant: TenantId) -> impl Iterator<Item = &Member> {
        self.members
            .range((tenant, String::new())..)
            .take_while(move |((t, _), _)| *t == tenant)
            .map(|(_, m)| m)
    }

    /// Whether `user` is in `tenant`: its owner or a member.
    fn is_in(&self, tenant: &Tenant, user: &UserId) -> bool {
        tenant.owner.as_ref().is_some_and(|o| o.user_id == *user)
            || self
                .members
                .contains_key(&(tenant.id, user.as_str().to_owned()))
    }

    /// The tenant of `member` when it is in the scope and not deleted.
    fn live_tenant(&self, scope: &DataScope, member: &Member) -> Option<Tenant> {
        self.tenant(member.tenant_id)
            .filter(|t| {
                t.org_id == member.org_id
                    && scope.sees_tenant(t.org_id, t.id)
                    && t.lifecycle.status != TenantStatus::Deleted
            })
            .cloned()
    }

    /// Whether `member` is stored at `version`.
    fn stored_at(&self, member: &Member, version: u64) -> bool {
        self.members
            .get(&(member.tenant_id, member.user_id.as_str().to_owned()))
            .is_some_and(|m| m.id == member.id && m.version == version)
    }
}

fn key(member: &Member) -> (TenantId, String) {
    (member.tenant_id, member.user_id.as_str().to_owned())
}

#[async_trait]
impl MemberStore for MemoryStore {
    async fn members(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let s = self.read();
        let from = match &after {
            Some(user) => Bound::Excluded((tenant, user.as_str().to_owned())),
            None => Bound::Included((tenant, String::new())),
        };
        Ok(s.members
            .range((from, Bound::Unbounded))
            .take_while(|((t, _), _)| *t == tenant)
            .map(|(_, m)| m)
            .filter(|m| scope.sees_tenant(m.org_id, m.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn get_member(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        user: &UserId,
    ) -> Result<Option<Member>, StoreError> {
        Ok(self
            .read()
            .members
            .get(&(tenant, user.as_str().to_owned()))
            .filter(|m| scope.sees_tenant(m.org_id, m.tenant_id))
            .cloned())
    }

    async fn add_member(
        &self,
        scope: &DataScope,
        member: &Member,
        max_members: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_tenant(member.org_id, member.tenant_id),
            scope,
            audit,
        )?;
        let tenant = s.live_tenant(scope, member).ok_or(StoreError::Stale)?;
        if s.is_in(&tenant, &member.user_id) {
            return Err(StoreError::Taken(Unique::Member));
        }
        let used = s.member_count(&tenant);
        if used >= max_members {
            return Err(StoreError::LimitReached { used });
        }
        s.members.insert(key(member), member.clone());
        s.append(audit);
        Ok(())
    }

    async fn update_member(
        &self,
        scope: &DataScope,
        member: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        if s.live_tenant(scope, member).is_none() || !s.stored_at(member, member.version - 1) {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        s.members.insert(key(member), member.clone());
        s.append(audit);
        Ok(())
    }

    async fn remove_member(
        &self,
        scope: &DataScope,
        member: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        if s.live_tenant(scope, member).is_none() || !s.stored_at(member, member.version) {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        s.members.remove(&key(member));
        s.append(audit);
        Ok(())
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
        let mut s = self.write();
        let stored = match s.tenant(tenant.id) {
            Some(t)
                if t.version + 1 == tenant.version
                    && t.org_id == tenant.org_id
                    && scope.sees_tenant(t.org_id, t.id) =>
            {
                t.clone()
            }
            _ => return Err(StoreError::Stale),
        };
        let (promoted, demoted) = (promoted.as_ref(), demoted.as_ref());
        if promoted.is_some_and(|m| m.tenant_id != tenant.id || !s.stored_at(m, m.version)) {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        if let Some(former) = demoted {
            let taken = s
                .members
                .get(&key(former))
                .is_some_and(|m| promoted.is_none_or(|p| p.id != m.id));
            if taken || former.tenant_id != tenant.id {
                return Err(StoreError::Taken(Unique::Member));
            }
        }
        // A promoted member was counted already; a new owner from outside
        // is one more.
        let used = s.member_count(&stored);
        if promoted.is_none() && used >= max_members {
            return Err(StoreError::LimitReached { used });
        }
        if let Some(promoted) = promoted {
            s.members.remove(&key(promoted));
        }
        if let Some(former) = demoted {
            s.members.insert(key(former), former.clone());
        }
        s.replace_tenant(tenant.clone());
        s.append(audit);
        Ok(())
    }
}
