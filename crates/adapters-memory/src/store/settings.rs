//! `SettingsStore` in memory: one document per (owner, group).

use async_trait::async_trait;
use domain::ports::{DataScope, SettingsOwner, SettingsStore, StoreError, StoredSettings};
use domain::settings::{IpAllowlist, SecuritySettings, SettingsGroup as _};
use domain::{AuditRecord, OrgId, TenantId, TenantStatus};

use super::{MemoryStore, State, in_scope};

impl State {
    /// A deleted tenant's settings (and its namespaces') go with it.
    pub(crate) fn forget_settings(&mut self, tenant: TenantId) {
        self.settings
            .retain(|(owner, _), _| owner.tenant() != Some(tenant));
    }

    /// The IP allowlist of the tenant's `security` document, as the key
    /// lookup carries it.
    pub(crate) fn ip_allowlist(
        &self,
        org: OrgId,
        tenant: TenantId,
    ) -> Result<Option<IpAllowlist>, StoreError> {
        let owner = SettingsOwner::Tenant { org, tenant };
        let Some(stored) = self.settings.get(&(owner, SecuritySettings::NAME)) else {
            return Ok(None);
        };
        IpAllowlist::from_stored(stored.document.get("ipAllowlist"))
            .map_err(|e| StoreError::Unavailable(format!("a stored ipAllowlist is invalid: {e}")))
    }

    /// Whether `owner` exists, is in the scope and (for a tenant's) is not
    /// deleted.
    fn settings_owner_live(&self, scope: &DataScope, owner: SettingsOwner) -> bool {
        match owner {
            SettingsOwner::Org(org) => self.orgs.contains_key(&org) && scope.sees_org_level(org),
            SettingsOwner::Tenant { org, tenant } => self.tenant(tenant).is_some_and(|t| {
                t.org_id == org
                    && t.lifecycle.status != TenantStatus::Deleted
                    && scope.sees_tenant(org, tenant)
            }),
            SettingsOwner::Namespace {
                org,
                tenant,
                namespace,
            } => {
                self.settings_owner_live(scope, SettingsOwner::Tenant { org, tenant })
                    && self
                        .namespaces
                        .get(&namespace)
                        .is_some_and(|ns| ns.tenant_id == tenant)
            }
        }
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
    ) -> Result<Option<StoredSettings>, StoreError> {
        if !owner.readable_in(scope) {
            return Ok(None);
        }
        Ok(self.read().settings.get(&(owner, group)).cloned())
    }

    async fn put_settings(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
        group: &'static str,
        stored: &StoredSettings,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(owner.writable_in(scope), scope, audit)?;
        if !s.settings_owner_live(scope, owner) {
            return Err(StoreError::Stale);
        }
        let current = s.settings.get(&(owner, group)).map_or(0, |d| d.version);
        if current + 1 != stored.version {
            return Err(StoreError::Stale);
        }
        s.settings.insert((owner, group), stored.clone());
        s.append(audit);
        Ok(())
    }
}
