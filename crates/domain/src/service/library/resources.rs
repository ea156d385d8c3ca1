//! A namespace's own resources: storing versions, reading and listing them.

use super::{StoredResource, fetch_page_by_key, may_touch, namespace_caller};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::auth::NamespacePrincipal;
use crate::ids::ResourceId;
use crate::library::{Admitted, NewResource, Provenance, Resource, Semver, admit_version};
use crate::lifecycle::TenantStatus;
use crate::namespace::Namespace;
use crate::page::{Cursor, Limit, Page};
use crate::ports::{StoreError, Unique};
use crate::scope::Scope;
use crate::service::audit::SealFailed;
use crate::service::errors::LibraryError;
use crate::service::retry::{Step, retry_on_stale, written};
use crate::service::{Subject, Tenancy};
use crate::slug::ResourceKey;

impl Tenancy {
    /// The calling key's namespace, refusing writes unless its tenant is active.
    pub(super) async fn calling_namespace(
        &self,
        ctx: &Context,
        me: &NamespacePrincipal,
        writing: bool,
    ) -> Result<Namespace, LibraryError> {
        let (tenant, ns) = self.namespace_of(ctx, me).await?;
        if writing && tenant.lifecycle.status != TenantStatus::Active {
            return Err(LibraryError::TenantNotActive(tenant.lifecycle.status));
        }
        Ok(ns)
    }

    /// Stores a version of a resource in the calling namespace (`resources:write`).
    /// A new key starts a resource (counted against the tenant's quota); a known
    /// key takes a greater version of the same type. Sending a stored version
    /// again with the same content changes nothing.
    pub async fn create_resource(
        &self,
        ctx: &Context,
        new: NewResource,
    ) -> Result<StoredResource, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesWrite)?;
        may_touch(me, &new.key)?;
        let scope = ctx.principal.base_scope();
        let new = &new;
        retry_on_stale(
            || LibraryError::Unavailable("the resource kept changing during the write".into()),
            || async move {
                let ns = self.calling_namespace(ctx, me, true).await?;
                let latest = self
                    .ports
                    .library
                    .get_resource(&scope, ns.id, &new.key, None)
                    .await?;
                let mut provenance = None;
                if let Some(latest) = &latest {
                    if latest.resource_type != new.resource_type {
                        return Err(LibraryError::TypeMismatch {
                            key: new.key.clone(),
                            stored: latest.resource_type.clone(),
                        });
                    }
                    let history = self
                        .ports
                        .library
                        .resource_history(&scope, ns.id, &new.key)
                        .await?;
                    if admit_version(&history, &new.version, new.content.digest())?
                        == Admitted::Replay
                    {
                        let resource = self
                            .ports
                            .library
                            .get_resource(&scope, ns.id, &new.key, Some(new.version.clone()))
                            .await?
                            .ok_or(LibraryError::Unavailable(
                                "a listed version could not be read".into(),
                            ))?;
                        return Ok(Step::Done(StoredResource {
                            resource,
                            created: false,
                        }));
                    }
                    // Later versions of a fork stay a fork of the same origin.
                    provenance = latest.provenance.clone();
                }
                let resource = self.new_resource(ctx, &ns, new, provenance);
                let after = latest.as_ref().map(|l| &l.version);
                let result = self
                    .store_resource(ctx, &resource, after, AuditAction::ResourceCreated)
                    .await;
                match result {
                    Err(StoreError::Taken(Unique::Version)) => Ok(Step::Retry),
                    result => written(
                        result,
                        StoredResource {
                            resource,
                            created: true,
                        },
                    )
                    .map_err(|e| self.resource_refusal(e)),
                }
            },
        )
        .await
    }

    pub(super) fn new_resource(
        &self,
        ctx: &Context,
        ns: &Namespace,
        new: &NewResource,
        provenance: Option<Provenance>,
    ) -> Resource {
        Resource {
            id: ResourceId::from_uuid(self.new_id()),
            org_id: ns.org_id,
            tenant_id: ns.tenant_id,
            namespace_id: ns.id,
            key: new.key.clone(),
            resource_type: new.resource_type.clone(),
            version: new.version.clone(),
            content: new.content.clone(),
            provenance,
            created_at: self.now(),
            created_by: ctx.actor(),
        }
    }

    pub(super) async fn store_resource(
        &self,
        ctx: &Context,
        resource: &Resource,
        after: Option<&Semver>,
        action: AuditAction,
    ) -> Result<(), StoreError> {
        let mut changes: Vec<Change> =
            Change::of("version", &None, &Some(&resource.version), |v| {
                v.map(|v| v.to_string())
            })
            .into_iter()
            .collect();
        if let Some(p) = &resource.provenance {
            changes.push(Change {
                field: "provenance",
                from: None,
                to: Some(format!("{}@{}", p.listing_id, p.version)),
            });
        }
        let mut audit = self.audit(
            ctx,
            resource.created_at,
            Subject {
                action,
                target_kind: TargetKind::Resource,
                target_id: resource.id.as_uuid(),
                org_id: resource.org_id,
                tenant_id: Some(resource.tenant_id),
                changes,
            },
        );
        self.seal_audit(&ctx.principal.base_scope(), &mut audit)
            .await
            .map_err(SealFailed::into_store_error)?;
        self.ports
            .library
            .create_resource(
                &ctx.principal.base_scope(),
                resource,
                after.cloned(),
                self.settings.max_resources_per_tenant,
                &audit,
            )
            .await
    }

    pub(super) fn resource_refusal(&self, e: StoreError) -> LibraryError {
        match e {
            StoreError::LimitReached { used } => LibraryError::QuotaExceeded {
                quota: "max_resources",
                used,
                limit: self.settings.max_resources_per_tenant,
            },
            e => e.into(),
        }
    }

    /// A resource of the calling namespace at `version`, or its latest
    /// (`resources:read`).
    pub async fn get_resource(
        &self,
        ctx: &Context,
        key: &ResourceKey,
        version: Option<&Semver>,
    ) -> Result<Resource, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesRead)?;
        may_touch(me, key).map_err(|_| LibraryError::ResourceNotFound(key.clone()))?;
        let found = self
            .ports
            .library
            .get_resource(
                &ctx.principal.base_scope(),
                me.namespace_id,
                key,
                version.cloned(),
            )
            .await?;
        match (found, version) {
            (Some(r), _) => Ok(r),
            (None, Some(v)) => Err(LibraryError::VersionNotFound(v.clone())),
            (None, None) => Err(LibraryError::ResourceNotFound(key.clone())),
        }
    }

    /// The calling namespace's resources at their latest versions, in key order
    /// (`resources:read`); a key restricted to some resources sees only those.
    pub async fn list_resources(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Resource>, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesRead)?;
        let fetch = |after: Option<ResourceKey>, n: usize| async move {
            let scope = ctx.principal.base_scope();
            let items = match &me.resources {
                None => {
                    self.ports
                        .library
                        .list_resources(&scope, me.namespace_id, after, n)
                        .await?
                }
                Some(allowed) => {
                    let mut keys: Vec<ResourceKey> = allowed
                        .iter()
                        .filter_map(|k| ResourceKey::parse(k).ok())
                        .filter(|k| after.as_ref().is_none_or(|a| k > a))
                        .collect();
                    keys.sort();
                    let mut items = Vec::new();
                    for key in keys {
                        if items.len() >= n {
                            break;
                        }
                        if let Some(r) = self
                            .ports
                            .library
                            .get_resource(&scope, me.namespace_id, &key, None)
                            .await?
                        {
                            items.push(r);
                        }
                    }
                    items
                }
            };
            Ok(items)
        };
        fetch_page_by_key(cursor, limit, fetch, |r: &Resource| {
            (r.key.as_str(), r.id.as_uuid())
        })
        .await
    }
}
