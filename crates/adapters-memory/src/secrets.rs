//! `SecretStore` in memory: sealed secrets, and the state of tenant data
//! keys (wrapped), whose port `DataKeyStore` is in `data_keys.rs`.

use std::collections::BTreeMap;
use std::ops::Bound;

use async_trait::async_trait;
use domain::kms::WrappedKey;
use domain::ports::{DataScope, SecretStore, StoreError};
use domain::{AuditRecord, OrgId, SecretName, StoredSecret, Tenant, TenantId};

use crate::MemoryStore;
use crate::store::in_scope;

#[derive(Default)]
pub(crate) struct SecretsState {
    pub(crate) data_keys: BTreeMap<TenantId, (OrgId, WrappedKey)>,
    secrets: BTreeMap<(TenantId, SecretName), StoredSecret>,
}

impl SecretsState {
    pub(crate) fn insert_data_key(&mut self, tenant: &Tenant, wrapped: &WrappedKey) {
        self.data_keys
            .insert(tenant.id, (tenant.org_id, wrapped.clone()));
    }

    /// Crypto-shredding: the tenant's secrets and its wrapped data key go.
    pub(crate) fn purge_tenant(&mut self, tenant: TenantId) {
        self.data_keys.remove(&tenant);
        self.secrets.retain(|(t, _), _| *t != tenant);
    }

    pub(crate) fn visible_key(&self, scope: &DataScope, tenant: TenantId) -> Option<&WrappedKey> {
        self.data_keys
            .get(&tenant)
            .filter(|(org, _)| scope.sees_tenant(*org, tenant))
            .map(|(_, wrapped)| wrapped)
    }

    fn visible_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
    ) -> Option<&StoredSecret> {
        self.secrets
            .get(&(tenant, name.clone()))
            .filter(|s| scope.sees_tenant(s.org_id, s.tenant_id))
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn put_secret(
        &self,
        scope: &DataScope,
        secret: &StoredSecret,
        new_data_key: Option<WrappedKey>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_tenant(secret.org_id, secret.tenant_id),
            scope,
            audit,
        )?;
        let tenant_matches = s.tenant_is_active(secret.tenant_id)
            && s.orgs.contains_key(&secret.org_id)
            && s.secrets
                .data_keys
                .get(&secret.tenant_id)
                .is_none_or(|(org, _)| *org == secret.org_id);
        if !tenant_matches {
            return Err(StoreError::Stale);
        }
        let has_key = s.secrets.data_keys.contains_key(&secret.tenant_id);
        if has_key == new_data_key.is_some() {
            return Err(StoreError::Stale);
        }
        let stored = s
            .secrets
            .visible_secret(scope, secret.tenant_id, &secret.name);
        let fits = match stored {
            None => secret.version == 1,
            Some(stored) => stored.version + 1 == secret.version && stored.id == secret.id,
        };
        if !fits {
            return Err(StoreError::Stale);
        }
        if let Some(wrapped) = new_data_key {
            s.secrets
                .data_keys
                .insert(secret.tenant_id, (secret.org_id, wrapped));
        }
        s.secrets
            .secrets
            .insert((secret.tenant_id, secret.name.clone()), secret.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError> {
        Ok(self
            .read()
            .secrets
            .visible_secret(scope, tenant, name)
            .cloned())
    }

    async fn reveal_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        audit: &AuditRecord,
    ) -> Result<Option<StoredSecret>, StoreError> {
        let mut s = self.write();
        let Some(found) = s.secrets.visible_secret(scope, tenant, name).cloned() else {
            return Ok(None);
        };
        in_scope(true, scope, audit)?;
        s.append(audit);
        Ok(Some(found))
    }

    async fn list_secrets(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<SecretName>,
        limit: usize,
    ) -> Result<Vec<StoredSecret>, StoreError> {
        let s = self.read();
        let low = match after {
            Some(name) => Bound::Excluded((tenant, name)),
            None => Bound::Included((
                tenant,
                SecretName::parse("0").expect("the smallest name is valid"),
            )),
        };
        Ok(s.secrets
            .secrets
            .range((low, Bound::Unbounded))
            .take_while(|((t, _), _)| *t == tenant)
            .map(|(_, secret)| secret)
            .filter(|secret| scope.sees_tenant(secret.org_id, secret.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.secrets.visible_secret(scope, tenant, name) {
            Some(stored) if stored.version == version && s.tenant_is_active(tenant) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        s.secrets.secrets.remove(&(tenant, name.clone()));
        s.append(audit);
        Ok(())
    }
}
