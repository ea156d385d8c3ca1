//! `TenantStore` and `NamespaceStore` in memory: provisioning, tenant updates
//! with what they do to keys and library rows, namespaces.

use super::*;

#[async_trait]
impl TenantStore for MemoryStore {
    async fn provision(&self, scope: &DataScope, p: &Provisioning) -> Result<(), StoreError> {
        let mut s = self.write();
        let owned = p.namespaces.iter().all(|ns| ns.tenant_id == p.tenant.id)
            && p.keys.iter().all(|k| k.tenant_id() == Some(p.tenant.id));
        in_scope(
            owned && scope.sees_tenant(p.tenant.org_id, p.tenant.id),
            scope,
            &p.audit,
        )?;
        // Check everything first, then mutate: all or nothing.
        if s.tenant_keys.contains_key(&p.tenant.key) {
            return Err(StoreError::Taken(Unique::TenantKey));
        }
        for (i, ns) in p.namespaces.iter().enumerate() {
            let clash = p.namespaces[..i].iter().any(|other| other.key == ns.key)
                || s.namespace_keys
                    .contains_key(&(p.tenant.id, ns.key.clone()));
            if clash {
                return Err(StoreError::Taken(Unique::NamespaceKey));
            }
        }
        if p.keys.iter().any(|k| s.key_hashes.contains_key(&k.hash)) {
            return Err(StoreError::Unavailable("API key hash collision".into()));
        }
        s.tenant_keys.insert(p.tenant.key.clone(), p.tenant.id);
        s.tenants.insert(p.tenant.id, p.tenant.clone());
        for ns in &p.namespaces {
            s.insert_namespace(ns);
        }
        for key in &p.keys {
            s.insert_key(key);
        }
        s.secrets.insert_data_key(&p.tenant, &p.data_key);
        s.append(&p.audit);
        Ok(())
    }

    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        Ok(self
            .read()
            .find_tenant(tenant)
            .filter(|t| scope.sees_tenant(t.org_id, t.id))
            .cloned())
    }

    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        let s = self.read();
        let limit = query.fetch_limit();
        let matching = s
            .tenants
            .values()
            .filter(|t| scope.sees_tenant(t.org_id, t.id) && query.matches(t));
        Ok(match query.sort {
            // The map is in id order already.
            TenantSort::CreatedAsc => matching.take(limit).cloned().collect(),
            TenantSort::CreatedDesc => {
                let mut all: Vec<_> = matching.collect();
                all.reverse();
                all.into_iter().take(limit).cloned().collect()
            }
            TenantSort::NameAsc | TenantSort::NameDesc => {
                let mut all: Vec<_> = matching.collect();
                all.sort_by(|a, b| query.sort.compare(a, b));
                all.into_iter().take(limit).cloned().collect()
            }
        })
    }

    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.tenants.get(&tenant.id) {
            Some(stored)
                if stored.version + 1 == tenant.version
                    && stored.key == tenant.key
                    && stored.org_id == tenant.org_id
                    && scope.sees_tenant(stored.org_id, stored.id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        if tenant.lifecycle.status == TenantStatus::Deactivated {
            let at = tenant.lifecycle.changed_at;
            for key in s.keys.values_mut() {
                if key.tenant_id() == Some(tenant.id) && key.revoked_at.is_none() {
                    key.revoked_at = Some(at);
                    key.version += 1;
                }
            }
        }
        if tenant.lifecycle.status == TenantStatus::Deleted {
            let keys: Vec<_> = s
                .keys
                .values()
                .filter(|k| k.tenant_id() == Some(tenant.id))
                .map(|k| (k.id, k.hash))
                .collect();
            for (id, hash) in keys {
                s.keys.remove(&id);
                s.key_hashes.remove(&hash);
            }
            let owned: Vec<_> = s
                .namespaces
                .values()
                .filter(|ns| ns.tenant_id == tenant.id)
                .map(|ns| (ns.id, ns.key.clone()))
                .collect();
            for (id, key) in owned {
                s.namespaces.remove(&id);
                s.namespace_keys.remove(&(tenant.id, key));
            }
            s.library.purge_tenant(tenant.id);
            s.forget_members(tenant.id);
            s.forget_settings(tenant.id);
            s.forget_domain(tenant.id);
            s.secrets.purge_tenant(tenant.id);
            s.idempotency.purge_tenant(tenant.id);
        }
        s.tenants.insert(tenant.id, tenant.clone());
        s.append(audit);
        Ok(())
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        let s = self.read();
        let mut due: Vec<_> = s
            .tenants
            .values()
            .filter(|t| {
                t.lifecycle.status == TenantStatus::Deactivated
                    && t.lifecycle.retention_ends_at.is_some_and(|end| end <= now)
            })
            .collect();
        due.sort_by_key(|t| (t.lifecycle.retention_ends_at, t.id));
        Ok(due.into_iter().take(limit).cloned().collect())
    }
}

#[async_trait]
impl NamespaceStore for MemoryStore {
    async fn create_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(scope.sees_tenant(ns.org_id, ns.tenant_id), scope, audit)?;
        if !s.tenant_is_active(ns.tenant_id) {
            return Err(StoreError::Stale);
        }
        if s.namespace_keys
            .contains_key(&(ns.tenant_id, ns.key.clone()))
        {
            return Err(StoreError::Taken(Unique::NamespaceKey));
        }
        s.insert_namespace(ns);
        s.append(audit);
        Ok(())
    }

    async fn get_namespace(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        ns: &NamespaceRef,
    ) -> Result<Option<Namespace>, StoreError> {
        let s = self.read();
        let id = match ns {
            NamespaceRef::Id(id) => Some(*id),
            NamespaceRef::Key(key) => s.namespace_keys.get(&(tenant, key.clone())).copied(),
        };
        Ok(id
            .and_then(|id| s.namespaces.get(&id))
            .filter(|n| n.tenant_id == tenant && scope.sees_tenant(n.org_id, n.tenant_id))
            .cloned())
    }

    async fn list_namespaces(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after_id: Option<NamespaceId>,
        limit: usize,
    ) -> Result<Vec<Namespace>, StoreError> {
        let s = self.read();
        Ok(s.namespaces
            .range(after(after_id))
            .map(|(_, n)| n)
            .filter(|n| n.tenant_id == tenant && scope.sees_tenant(n.org_id, n.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_namespace(
        &self,
        scope: &DataScope,
        ns: &Namespace,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.namespaces.get(&ns.id) {
            Some(stored)
                if stored.version + 1 == ns.version
                    && stored.tenant_id == ns.tenant_id
                    && stored.key == ns.key
                    && scope.sees_tenant(stored.org_id, stored.tenant_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        if !s.tenant_is_active(ns.tenant_id) {
            return Err(StoreError::Stale);
        }
        s.namespaces.insert(ns.id, ns.clone());
        s.append(audit);
        Ok(())
    }
}
