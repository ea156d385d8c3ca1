//! Provisioning a tenant: the request resolved into a spec, the tenant with
//! its first namespaces and key written in one operation, and replays.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::Tenancy;
use super::errors::ProvisionError;
use super::keys::{IssuedKey, Place};
use super::tenants::tenant_subject;
use crate::api_key::{Access, KeyOwner, PlaintextKey};
use crate::audit::{AuditAction, Context};
use crate::ids::{NamespaceId, OrgRef, TenantId, TenantRef};
use crate::kms::{EncryptionContext, WrappedKey};
use crate::lifecycle::TenantStatus;
use crate::namespace::{Namespace, NewNamespace};
use crate::org::Org;
use crate::page::Limit;
use crate::ports::{DataScope, Provisioning, StoreError, Unique};
use crate::scope::Role;
use crate::tenant::{Lifecycle, ProvisionTenant, ResolvedSpec, Tenant};
use crate::values::{Name, check_list_len};

/// The outcome of provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub tenant: Tenant,
    pub namespaces: Vec<Namespace>,
    /// `false` when the request replayed an earlier one (same key, same spec).
    pub created: bool,
    /// The first namespace's first key (role `admin`), shown this once: `None`
    /// on a replay, which never mints another.
    pub api_key: Option<IssuedKey>,
}

impl Tenancy {
    /// Provisions a tenant with its namespaces, atomically and idempotently on the
    /// tenant key: the same key with the same spec returns the existing tenant
    /// (`created: false`); with another spec it is a `SpecConflict`. Concurrent
    /// identical requests create exactly one tenant.
    pub async fn provision(
        &self,
        ctx: &Context,
        org: &OrgRef,
        request: ProvisionTenant,
    ) -> Result<Provisioned, ProvisionError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(ProvisionError::OrgNotFound)?;
        let spec = self.resolve(request)?;
        let digest = spec.digest();
        let scope = ctx.principal.scope_in(org.id);
        let by_key = TenantRef::Key(spec.key.clone());

        if let Some(existing) = self.ports.tenants.get_tenant(&scope, &by_key).await? {
            return self.replay(&scope, &org, existing, spec, digest).await;
        }
        let region = self.settings.regions.get(&spec.region);
        if !region.is_some_and(|r| r.available) {
            return Err(ProvisionError::RegionUnavailable(spec.region));
        }
        // The data key is minted first: if the KMS cannot, nothing is stored.
        let tenant_id = TenantId::from_uuid(self.new_id());
        let (key, data_key) = self
            .data_keys
            .generate(&EncryptionContext::Tenant(tenant_id))
            .await
            .map_err(|e| ProvisionError::KmsUnavailable(e.to_string()))?;
        let (mut provisioning, secret) =
            self.build_provisioning(ctx, &org, &spec, digest, tenant_id, data_key);
        // The tenant's records are sealed from its first one on.
        provisioning.audit.seal(&key, self.ports.entropy.as_ref());
        match self.ports.tenants.provision(&scope, &provisioning).await {
            Ok(()) => {
                let Provisioning {
                    tenant,
                    namespaces,
                    keys,
                    ..
                } = provisioning;
                let api_key = keys.into_iter().next().map(|key| IssuedKey { key, secret });
                Ok(Provisioned {
                    tenant,
                    namespaces,
                    created: true,
                    api_key,
                })
            }
            // A concurrent request won the key: answer as its replay would be
            // answered. If the winner is out of sight (another org's tenant, or a
            // tombstone), the key is simply taken.
            Err(StoreError::Taken(Unique::TenantKey)) => {
                match self.ports.tenants.get_tenant(&scope, &by_key).await? {
                    Some(existing) => self.replay(&scope, &org, existing, spec, digest).await,
                    None => Err(ProvisionError::KeyTaken(spec.key)),
                }
            }
            Err(StoreError::Taken(Unique::NamespaceKey)) => {
                // `resolve` refused duplicates, so a store saying so is broken.
                Err(ProvisionError::Unavailable(
                    "store reported a namespace key clash in a new tenant".into(),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to a provisioning request whose key already exists.
    async fn replay(
        &self,
        scope: &DataScope,
        org: &Org,
        existing: Tenant,
        spec: ResolvedSpec,
        digest: crate::tenant::SpecDigest,
    ) -> Result<Provisioned, ProvisionError> {
        if existing.org_id != org.id || existing.lifecycle.status == TenantStatus::Deleted {
            return Err(ProvisionError::KeyTaken(spec.key));
        }
        if existing.spec_digest != digest {
            return Err(ProvisionError::SpecConflict {
                key: spec.key,
                existing: existing.id,
            });
        }
        let namespaces = self
            .ports
            .namespaces
            .list_namespaces(scope, existing.id, None, usize::from(Limit::MAX))
            .await?;
        Ok(Provisioned {
            tenant: existing,
            namespaces,
            created: false,
            api_key: None,
        })
    }

    /// Applies defaults and checks what needs configuration: region and namespaces.
    fn resolve(&self, request: ProvisionTenant) -> Result<ResolvedSpec, ProvisionError> {
        let region = match request.region {
            Some(code) => {
                if self.settings.regions.get(&code).is_none() {
                    return Err(ProvisionError::UnknownRegion(code));
                }
                code
            }
            None => self.settings.regions.default_region().code.clone(),
        };
        let namespaces = if request.namespaces.is_empty() {
            vec![NewNamespace {
                key: request.key.default_namespace_key(),
                name: None,
                mode: crate::values::Mode::Live,
            }]
        } else {
            check_list_len(request.namespaces.len(), ProvisionTenant::MAX_NAMESPACES)
                .map_err(ProvisionError::TooManyNamespaces)?;
            let mut seen = HashSet::new();
            for ns in &request.namespaces {
                if !seen.insert(&ns.key) {
                    return Err(ProvisionError::DuplicateNamespace(ns.key.clone()));
                }
            }
            request.namespaces
        };
        // Defaults go in before the digest, so spelling one out changes nothing.
        let namespaces = namespaces
            .into_iter()
            .map(|ns| NewNamespace {
                name: Some(ns.name.unwrap_or_else(|| default_name(&ns.key))),
                ..ns
            })
            .collect();
        Ok(ResolvedSpec {
            key: request.key,
            name: request.name,
            plan: request.plan.unwrap_or_else(crate::values::Plan::free),
            region,
            owner: request.owner,
            metadata: request.metadata,
            namespaces,
        })
    }

    fn build_provisioning(
        &self,
        ctx: &Context,
        org: &Org,
        spec: &ResolvedSpec,
        digest: crate::tenant::SpecDigest,
        id: TenantId,
        data_key: WrappedKey,
    ) -> (Provisioning, PlaintextKey) {
        let now = self.now();
        let tenant = Tenant {
            id,
            org_id: org.id,
            key: spec.key.clone(),
            name: spec.name.clone(),
            plan: spec.plan.clone(),
            region: spec.region.clone(),
            owner: spec.owner.clone(),
            metadata: spec.metadata.clone(),
            lifecycle: Lifecycle {
                status: TenantStatus::Active,
                changed_at: now,
                changed_by: ctx.actor(),
                reason: None,
                retention_ends_at: None,
            },
            spec_digest: digest,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let namespaces: Vec<Namespace> = spec
            .namespaces
            .iter()
            .map(|ns| new_namespace(self, &tenant, ns, now))
            .collect();
        // `resolve` guarantees at least one namespace; its first key is an admin key.
        let first = &namespaces[0];
        let place = Place {
            scope: ctx.principal.scope_in(org.id),
            org_id: org.id,
            owner: KeyOwner::Namespace {
                tenant_id: tenant.id,
                namespace_id: first.id,
            },
            mode: first.mode.into(),
            tenant_status: Some(TenantStatus::Active),
        };
        let access = Access {
            role: Some(Role::Admin),
            scopes: Role::Admin.scopes(),
            resources: None,
        };
        let name = Name::parse("Provisioning key").expect("a valid literal name");
        let issued = self.mint(ctx, &place, name, access, None, None, now);
        let audit = self.audit(
            ctx,
            now,
            tenant_subject(&tenant, AuditAction::TenantProvisioned, Vec::new()),
        );
        let provisioning = Provisioning {
            tenant,
            namespaces,
            keys: vec![issued.key],
            data_key,
            audit,
        };
        (provisioning, issued.secret)
    }
}

pub(super) fn new_namespace(
    tenancy: &Tenancy,
    tenant: &Tenant,
    new: &NewNamespace,
    now: DateTime<Utc>,
) -> Namespace {
    Namespace {
        id: NamespaceId::from_uuid(tenancy.new_id()),
        org_id: tenant.org_id,
        tenant_id: tenant.id,
        key: new.key.clone(),
        name: new.name.clone().unwrap_or_else(|| default_name(&new.key)),
        mode: new.mode,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// A namespace named by nobody is named after its key.
fn default_name(key: &crate::slug::NamespaceKey) -> Name {
    Name::parse(key.as_str()).expect("a key is a valid name")
}
