//! What a tenant's own pages need, for anyone: the tenant a request's `Host`
//! names (its subdomain under the deployment's base domain) and its public
//! branding. Unknown hosts and tenants that are not active answer alike, so
//! the answer tells nothing about tenants a page may not show.

use super::Tenancy;
use super::settings::{SettingsUseError, Versioned};
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
    /// The active tenant whose subdomain `host` is, with its branding; `None`
    /// for any other host, a tenant not active, or a deployment without a
    /// base domain. One lookup by the tenant key (a unique index), then its
    /// two branding documents.
    pub async fn public_tenant(
        &self,
        host: &str,
    ) -> Result<Option<PublicTenant>, SettingsUseError> {
        let Some(key) = self
            .settings
            .base_domain
            .as_ref()
            .and_then(|base| base.tenant_key_of_host(host))
        else {
            return Ok(None);
        };
        // No caller: the system reads, and shows only what is public.
        let scope = DataScope::Platform;
        let Some(tenant) = self
            .ports
            .tenants
            .get_tenant(&scope, &TenantRef::Key(key))
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
}
