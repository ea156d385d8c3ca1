//! Settings ([`crate::settings`]) through the ports: reading a group with its
//! version, changing it with a JSON merge-patch (optionally only if it is
//! still at the version the caller read: `If-Match`), audited with the names
//! of the fields changed and an event; and the effective branding of a
//! namespace (its override over its tenant's over its org's defaults). For
//! the platform admin and the org's keys. An org has two groups (its
//! branding defaults and its `registration`), a namespace one (its branding
//! override), a tenant every group but `registration`.

use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::auth::Principal;
use crate::ids::{NamespaceRef, OrgRef, TenantRef};
use crate::lifecycle::TenantStatus;
use crate::ports::{DataScope, SettingsOwner, StoredSettings};
use crate::scope::Scope;
use crate::settings::{
    BrandingSettings, RegistrationSettings, SettingsError, SettingsGroup, effective_branding,
};

/// Whose settings a call is about, as the caller names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsTarget {
    /// An org's branding defaults.
    Org(OrgRef),
    Tenant(OrgRef, TenantRef),
    /// A namespace's branding override.
    Namespace(OrgRef, TenantRef, NamespaceRef),
    /// The calling namespace key's tenant (`settings:read` to read,
    /// `settings:write` to change).
    CallerTenant,
}

/// A settings group as read: the document and its version (0: never written,
/// every field unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<G> {
    pub document: G,
    pub version: u64,
}

/// A namespace's branding: its override, and what is in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceBranding {
    pub override_: Versioned<BrandingSettings>,
    pub effective: BrandingSettings,
}

/// Reading and changing settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsUseError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("tenant is deleted")]
    TenantDeleted,
    /// Namespaces have branding only; orgs branding and registration.
    #[error("{0} settings belong to tenants only")]
    TenantOnly(&'static str),
    /// Registration settings are an org's.
    #[error("{0} settings belong to orgs only")]
    OrgOnly(&'static str),
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    /// `If-Match` named another version than the stored one.
    #[error("the settings are at version {current}")]
    VersionMismatch { current: u64 },
    /// The calling key lacks this scope.
    #[error("missing scope {0}")]
    MissingScope(Scope),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

super::errors::tenant_scoped_error!(SettingsUseError);

impl Tenancy {
    /// The group `G` of `target`, with its version.
    pub async fn get_settings<G: SettingsGroup + Default>(
        &self,
        ctx: &Context,
        target: &SettingsTarget,
    ) -> Result<Versioned<G>, SettingsUseError> {
        let owner = self
            .settings_owner::<G>(ctx, target, Scope::SettingsRead)
            .await?;
        self.read_settings(&ctx.principal.scope_in(owner.org()), owner)
            .await
    }

    /// Applies `patch` (JSON merge-patch) to the group `G` of `target`, only
    /// if it is still at `if_match` when given; a patch that changes nothing
    /// writes nothing.
    pub async fn patch_settings<G: SettingsGroup + Default + Clone>(
        &self,
        ctx: &Context,
        target: &SettingsTarget,
        patch: &serde_json::Value,
        if_match: Option<u64>,
    ) -> Result<Versioned<G>, SettingsUseError> {
        let owner = self
            .settings_owner::<G>(ctx, target, Scope::SettingsWrite)
            .await?;
        retry_on_stale(
            || SettingsUseError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current: Versioned<G> = self
                    .read_settings(&ctx.principal.scope_in(owner.org()), owner)
                    .await?;
                if let Some(expected) = if_match
                    && expected != current.version
                {
                    return Err(SettingsUseError::VersionMismatch {
                        current: current.version,
                    });
                }
                let patched = current.document.patched(patch)?;
                patched.document.check_against(&self.settings.regions)?;
                if patched.changed.is_empty() {
                    return Ok(Step::Done(current));
                }
                let now = self.now();
                let stored = StoredSettings {
                    document: patched.document.to_json(),
                    version: current.version + 1,
                    updated_at: now,
                };
                let (target_kind, target_id) = match owner {
                    SettingsOwner::Org(org) => (TargetKind::Org, org.as_uuid()),
                    SettingsOwner::Tenant { tenant, .. } => (TargetKind::Tenant, tenant.as_uuid()),
                    SettingsOwner::Namespace { namespace, .. } => {
                        (TargetKind::Namespace, namespace.as_uuid())
                    }
                };
                // The fields changed, never their values (emails are personal data).
                let changes = patched
                    .changed
                    .iter()
                    .map(|field| Change {
                        field,
                        from: None,
                        to: None,
                    })
                    .collect();
                let mut audit = self.audit(
                    ctx,
                    now,
                    Subject {
                        action: AuditAction::SettingsUpdated,
                        target_kind,
                        target_id,
                        org_id: owner.org(),
                        tenant_id: owner.tenant(),
                        changes,
                    },
                );
                let scope = ctx.principal.scope_in(owner.org());
                self.seal_audit(&scope, &mut audit).await?;
                let result = self
                    .ports
                    .settings
                    .put_settings(&scope, owner, G::NAME, &stored, &audit)
                    .await;
                let next = Versioned {
                    document: patched.document,
                    version: stored.version,
                };
                Ok(written(result, next)?)
            },
        )
        .await
    }

    /// A namespace's branding override and the branding in effect for it:
    /// the override over its tenant's branding over its org's defaults.
    pub async fn namespace_branding(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        namespace: &NamespaceRef,
    ) -> Result<NamespaceBranding, SettingsUseError> {
        let target = SettingsTarget::Namespace(org.clone(), tenant.clone(), namespace.clone());
        let owner = self
            .settings_owner::<BrandingSettings>(ctx, &target, Scope::SettingsRead)
            .await?;
        let SettingsOwner::Namespace { org, tenant, .. } = owner else {
            return Err(SettingsUseError::NamespaceNotFound);
        };
        let scope = ctx.principal.scope_in(org);
        let override_: Versioned<BrandingSettings> = self.read_settings(&scope, owner).await?;
        let of_tenant: Versioned<BrandingSettings> = self
            .read_settings(&scope, SettingsOwner::Tenant { org, tenant })
            .await?;
        let of_org: Versioned<BrandingSettings> =
            self.read_settings(&scope, SettingsOwner::Org(org)).await?;
        let effective = effective_branding(
            &of_org.document,
            &of_tenant.document,
            Some(&override_.document),
        );
        Ok(NamespaceBranding {
            override_,
            effective,
        })
    }

    /// The calling namespace key's tenant, when the key holds `need` and the
    /// tenant is not deleted.
    async fn caller_tenant(
        &self,
        ctx: &Context,
        need: Scope,
    ) -> Result<SettingsOwner, SettingsUseError> {
        let Principal::Namespace(me) = &ctx.principal else {
            return Err(SettingsUseError::TenantNotFound);
        };
        if !me.has(need) {
            return Err(SettingsUseError::MissingScope(need));
        }
        let found = self
            .ports
            .tenants
            .get_tenant(&ctx.principal.base_scope(), &TenantRef::Id(me.tenant_id))
            .await?
            .filter(|t| t.org_id == me.org_id)
            .ok_or(SettingsUseError::TenantNotFound)?;
        if found.lifecycle.status == TenantStatus::Deleted {
            return Err(SettingsUseError::TenantDeleted);
        }
        Ok(SettingsOwner::Tenant {
            org: found.org_id,
            tenant: found.id,
        })
    }

    /// The owner's group `G` as `scope` sees it: never written reads as
    /// version 0, every field unset.
    pub(super) async fn read_settings<G: SettingsGroup + Default>(
        &self,
        scope: &DataScope,
        owner: SettingsOwner,
    ) -> Result<Versioned<G>, SettingsUseError> {
        match self.ports.settings.settings(scope, owner, G::NAME).await? {
            None => Ok(Versioned {
                document: G::default(),
                version: 0,
            }),
            Some(stored) => Ok(Versioned {
                // Stored by this code; a document that no longer reads is the
                // store's fault, not the caller's.
                document: G::from_json(&stored.document)
                    .map_err(|e| SettingsUseError::Unavailable(format!("stored settings: {e}")))?,
                version: stored.version,
            }),
        }
    }

    /// The owner `target` names, when the caller may manage it (a namespace
    /// key: its own tenant's, holding `need`); only tenants have groups other
    /// than branding.
    async fn settings_owner<G: SettingsGroup>(
        &self,
        ctx: &Context,
        target: &SettingsTarget,
        need: Scope,
    ) -> Result<SettingsOwner, SettingsUseError> {
        let of_org = matches!(target, SettingsTarget::Org(_));
        if G::NAME == RegistrationSettings::NAME {
            if !of_org {
                return Err(SettingsUseError::OrgOnly(G::NAME));
            }
        } else if G::NAME != BrandingSettings::NAME
            && (of_org || matches!(target, SettingsTarget::Namespace(..)))
        {
            return Err(SettingsUseError::TenantOnly(G::NAME));
        }
        match target {
            SettingsTarget::CallerTenant => self.caller_tenant(ctx, need).await,
            SettingsTarget::Org(org) => {
                let org = self
                    .find_org(ctx, org)
                    .await?
                    .ok_or(SettingsUseError::OrgNotFound)?;
                Ok(SettingsOwner::Org(org.id))
            }
            SettingsTarget::Tenant(org, tenant) => {
                let found = self.live_tenant(ctx, org, tenant).await?;
                Ok(SettingsOwner::Tenant {
                    org: found.org_id,
                    tenant: found.id,
                })
            }
            SettingsTarget::Namespace(org, tenant, namespace) => {
                let found = self.live_tenant(ctx, org, tenant).await?;
                let ns = self
                    .ports
                    .namespaces
                    .get_namespace(&ctx.principal.scope_in(found.org_id), found.id, namespace)
                    .await?
                    .ok_or(SettingsUseError::NamespaceNotFound)?;
                Ok(SettingsOwner::Namespace {
                    org: found.org_id,
                    tenant: found.id,
                    namespace: ns.id,
                })
            }
        }
    }
}
