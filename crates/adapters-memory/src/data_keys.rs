//! `DataKeyStore` in memory: tenant data keys (kept beside the tenant's
//! secrets, in `SecretsState`) and org data keys (kept beside the org's
//! idempotency records, in `IdempotencyState`), wrapped only.

use std::ops::Bound;

use async_trait::async_trait;
use domain::kms::{KekId, KekVersion, WrappedKey};
use domain::ports::{DataKeyStore, DataScope, StoreError, StoredDataKey};
use domain::{OrgId, TenantId};

use crate::MemoryStore;
use crate::idempotency::out_of_scope_unless;
use crate::store::after;

#[async_trait]
impl DataKeyStore for MemoryStore {
    async fn data_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<WrappedKey>, StoreError> {
        Ok(self.read().secrets.visible_key(scope, tenant).cloned())
    }

    async fn data_keys(
        &self,
        after: Option<TenantId>,
        limit: usize,
    ) -> Result<Vec<StoredDataKey>, StoreError> {
        let s = self.read();
        let range = match after {
            Some(t) => (Bound::Excluded(t), Bound::Unbounded),
            None => (Bound::Unbounded, Bound::Unbounded),
        };
        Ok(s.secrets
            .data_keys
            .range(range)
            .take(limit)
            .map(|(tenant, (org, wrapped))| StoredDataKey {
                org_id: *org,
                tenant_id: *tenant,
                wrapped: wrapped.clone(),
            })
            .collect())
    }

    async fn replace_data_key(
        &self,
        tenant: TenantId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.secrets.data_keys.get_mut(&tenant) {
            Some((_, stored)) if stored == old => {
                *stored = new.clone();
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn count_data_keys(&self, kek: &KekId, version: KekVersion) -> Result<u64, StoreError> {
        let s = self.read();
        let wrapped_by =
            |(_, key): &&(OrgId, WrappedKey)| key.kek_id() == kek && key.kek_version() == version;
        Ok(s.secrets.data_keys.values().filter(wrapped_by).count() as u64)
    }

    async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Option<WrappedKey>, StoreError> {
        if !scope.sees_org_level(org) {
            return Ok(None);
        }
        Ok(self.read().idempotency.org_data_keys.get(&org).cloned())
    }

    async fn put_org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        wrapped: &WrappedKey,
    ) -> Result<(), StoreError> {
        out_of_scope_unless(scope.sees_org_level(org))?;
        let mut s = self.write();
        if !s.orgs.contains_key(&org) || s.idempotency.org_data_keys.contains_key(&org) {
            return Err(StoreError::Stale);
        }
        s.idempotency.org_data_keys.insert(org, wrapped.clone());
        Ok(())
    }

    async fn org_data_keys(
        &self,
        after_org: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<(OrgId, WrappedKey)>, StoreError> {
        Ok(self
            .read()
            .idempotency
            .org_data_keys
            .range(after(after_org))
            .take(limit)
            .map(|(org, wrapped)| (*org, wrapped.clone()))
            .collect())
    }

    async fn replace_org_data_key(
        &self,
        org: OrgId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.idempotency.org_data_keys.get_mut(&org) {
            Some(stored) if stored == old => {
                *stored = new.clone();
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn count_org_data_keys(
        &self,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError> {
        let s = self.read();
        let wrapped_by = |key: &&WrappedKey| key.kek_id() == kek && key.kek_version() == version;
        Ok(s.idempotency
            .org_data_keys
            .values()
            .filter(wrapped_by)
            .count() as u64)
    }
}
