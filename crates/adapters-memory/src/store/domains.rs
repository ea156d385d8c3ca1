//! `CustomDomainStore` in memory: one domain per tenant, by tenant; a name's
//! holder is found by looking at every domain (the lock makes the check and
//! the write one step).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{CustomDomainStore, DataScope, StoreError, StoredDomain, Unique};
use domain::{AuditRecord, DomainName, DomainStatus, OrgId, TenantId, TenantStatus};

use super::{MemoryStore, State, in_scope};

impl State {
    /// A deleted tenant's domain goes with it.
    pub(crate) fn forget_domain(&mut self, tenant: TenantId) {
        self.domains.remove(&tenant);
    }

    /// Whether the tenant of `stored` exists in its org, is in the scope and
    /// is not deleted.
    fn domain_tenant_live(&self, scope: &DataScope, stored: &StoredDomain) -> bool {
        self.tenant(stored.tenant_id).is_some_and(|t| {
            t.org_id == stored.org_id
                && scope.sees_tenant(t.org_id, t.id)
                && t.lifecycle.status != TenantStatus::Deleted
        })
    }
}

#[async_trait]
impl CustomDomainStore for MemoryStore {
    async fn custom_domain(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<StoredDomain>, StoreError> {
        Ok(self
            .read()
            .domains
            .get(&tenant)
            .filter(|d| scope.sees_tenant(d.org_id, d.tenant_id))
            .cloned())
    }

    async fn put_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: Option<AuditRecord>,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        let allowed = scope.sees_tenant(stored.org_id, stored.tenant_id);
        match &audit {
            Some(audit) => in_scope(allowed, scope, audit)?,
            None if !allowed => return Err(StoreError::OutOfScope),
            None => {}
        }
        if !s.domain_tenant_live(scope, stored) {
            return Err(StoreError::Stale);
        }
        let current = s.domains.get(&stored.tenant_id);
        if stored.version == 1 {
            if current.is_some() {
                return Err(StoreError::Stale);
            }
            if s.domains
                .values()
                .any(|d| d.domain.domain == stored.domain.domain)
            {
                return Err(StoreError::Taken(Unique::Domain));
            }
        } else if !current.is_some_and(|c| {
            c.version + 1 == stored.version && c.domain.domain == stored.domain.domain
        }) {
            return Err(StoreError::Stale);
        }
        s.domains.insert(stored.tenant_id, stored.clone());
        if let Some(audit) = &audit {
            s.append(audit);
        }
        Ok(())
    }

    async fn remove_custom_domain(
        &self,
        scope: &DataScope,
        stored: &StoredDomain,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_tenant(stored.org_id, stored.tenant_id),
            scope,
            audit,
        )?;
        let current = s.domains.get(&stored.tenant_id);
        if !s.domain_tenant_live(scope, stored)
            || !current.is_some_and(|c| {
                c.version == stored.version && c.domain.domain == stored.domain.domain
            })
        {
            return Err(StoreError::Stale);
        }
        s.domains.remove(&stored.tenant_id);
        s.append(audit);
        Ok(())
    }

    async fn due_custom_domains(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StoredDomain>, StoreError> {
        let s = self.read();
        let mut due: Vec<&StoredDomain> = s
            .domains
            .values()
            .filter(|d| d.domain.is_due(now))
            .collect();
        due.sort_by_key(|d| (d.domain.next_check_at, d.tenant_id));
        Ok(due.into_iter().take(limit).cloned().collect())
    }

    async fn tenant_of_verified_domain(
        &self,
        name: &DomainName,
    ) -> Result<Option<(OrgId, TenantId)>, StoreError> {
        Ok(self
            .read()
            .domains
            .values()
            .find(|d| d.domain.domain == *name && d.domain.status == DomainStatus::Verified)
            .map(|d| (d.org_id, d.tenant_id)))
    }
}
