//! `ApiKeyStore` and `KeyUsage` in memory: keys by hash, id and owner;
//! revocation, rotation, last-used times.

use super::*;

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        s.admit_new_key(scope, key, audit)?;
        s.insert_key(key);
        s.append(audit);
        Ok(())
    }

    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError> {
        let s = self.read();
        let Some(key) = s.key_hashes.get(hash).and_then(|id| s.keys.get(id)) else {
            return Ok(None);
        };
        let (tenant, namespace) = match key.owner {
            KeyOwner::Org => (None, None),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => (
                s.tenants
                    .get(&tenant_id)
                    .map(|t| {
                        Ok::<_, StoreError>(TenantBrief {
                            id: t.id,
                            key: t.key.clone(),
                            status: t.lifecycle.status,
                            ip_allowlist: s.ip_allowlist(t.org_id, t.id)?,
                        })
                    })
                    .transpose()?,
                s.namespaces.get(&namespace_id).map(|n| NamespaceBrief {
                    id: n.id,
                    key: n.key.clone(),
                }),
            ),
        };
        Ok(Some(Arc::new(KeyLookup {
            key: key.clone(),
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
        Ok(self
            .read()
            .keys
            .get(&id)
            .filter(|k| k.org_id == org && scope.sees(k.org_id, k.tenant_id()))
            .cloned())
    }

    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after_id: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let s = self.read();
        Ok(s.keys
            .range(after(after_id))
            .map(|(_, k)| k)
            .filter(|k| k.org_id == org && k.owner == owner && scope.sees(k.org_id, k.tenant_id()))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        check_key_version(&s, scope, key)?;
        in_scope(true, scope, audit)?;
        s.replace_key(key);
        s.append(audit);
        Ok(())
    }

    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        check_key_version(&s, scope, old)?;
        s.admit_new_key(scope, new, audit)?;
        s.replace_key(old);
        s.insert_key(new);
        s.append(audit);
        Ok(())
    }

    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError> {
        let mut s = self.write();
        for (id, at) in used {
            if let Some(key) = s.keys.get_mut(id) {
                key.last_used_at = key.last_used_at.max(Some(*at));
            }
        }
        Ok(())
    }
}

fn check_key_version(s: &State, scope: &DataScope, key: &ApiKey) -> Result<(), StoreError> {
    match s.keys.get(&key.id) {
        Some(stored)
            if stored.version + 1 == key.version
                && stored.hash == key.hash
                && stored.owner == key.owner
                && scope.sees(stored.org_id, stored.tenant_id()) =>
        {
            Ok(())
        }
        _ => Err(StoreError::Stale),
    }
}

/// Writes `last_used_at` straight through: fine for tests and embedders; the
/// server puts a batching adapter in front instead, off the hot path.
impl KeyUsage for MemoryStore {
    fn key_used(&self, key: ApiKeyId, at: DateTime<Utc>) {
        let mut s = self.write();
        if let Some(k) = s.keys.get_mut(&key) {
            k.last_used_at = k.last_used_at.max(Some(at));
        }
    }
}
