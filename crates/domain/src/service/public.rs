//! What a tenant's own pages need, for anyone: the tenant a request's `Host`
//! names (its subdomain under the deployment's base domain, or its verified
//! custom domain) and its public branding. Unknown hosts and tenants that are
//! not active answer alike, so the answer tells nothing about tenants a page
//! may not show.

use super::Tenancy;
use super::settings::{SettingsUseError, Versioned};
use crate::custom_domain::DomainName;
use crate::ids::TenantRef;
use crate::lifecycle::TenantStatus;
use crate::ports::{DataScope, SettingsOwner};
use crate::settings::BrandingSettings;
use crate::slug::TenantKey;
use crate::values::Name;

/// A tenant as its login page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicTenant {
    pub key: TenantKey,
    pub name: Name,
    /// Its branding over its org's defaults.
    pub branding: BrandingSettings,
}

impl Tenancy {
    /// The active tenant whose subdomain or verified custom domain `host` is,
    /// with its branding; `None` for any other host (a custom domain pending,
    /// failed or removed included) or a tenant not active. One lookup by a
    /// unique index (the tenant key under the base domain, else the verified
    /// domain's name), the tenant by id, then its two branding documents.
    pub async fn public_tenant(
        &self,
        host: &str,
    ) -> Result<Option<PublicTenant>, SettingsUseError> {
        let Some(tenant) = self.tenant_of_host(host).await? else {
            return Ok(None);
        };
        // No caller: the system reads, and shows only what is public.
        let scope = DataScope::Platform;
        let Some(tenant) = self
            .ports
            .tenants
            .get_tenant(&scope, &tenant)
            .await?
            .filter(|t| t.lifecycle.status == TenantStatus::Active)
        else {
            return Ok(None);
        };
        let own: Versioned<BrandingSettings> = self
            .read_settings(
                &scope,
                SettingsOwner::Tenant {
                    org: tenant.org_id,
                    tenant: tenant.id,
                },
            )
            .await?;
        let defaults: Versioned<BrandingSettings> = self
            .read_settings(&scope, SettingsOwner::Org(tenant.org_id))
            .await?;
        Ok(Some(PublicTenant {
            key: tenant.key,
            name: tenant.name,
            branding: own.document.over(&defaults.document),
        }))
    }

    /// The tenant `host` names: by its key when it is a subdomain of the base
    /// domain (never a custom domain, which may not be under it), else by the
    /// verified custom domain of that name.
    async fn tenant_of_host(&self, host: &str) -> Result<Option<TenantRef>, SettingsUseError> {
        if let Some(base) = &self.settings.base_domain {
            if let Some(key) = base.tenant_key_of_host(host) {
                return Ok(Some(TenantRef::Key(key)));
            }
        }
        let Some(name) = DomainName::of_host(host) else {
            return Ok(None);
        };
        let found = self
            .ports
            .custom_domains
            .tenant_of_verified_domain(&name)
            .await?;
        Ok(found.map(|(_, tenant)| TenantRef::Id(tenant)))
    }
}
