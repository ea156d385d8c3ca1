//! Namespace use cases, always under a tenant of an org.

use super::errors::{ListError, NamespaceError, TenantError};
use super::provision::new_namespace;
use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy, renamed};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::ids::{NamespaceId, NamespaceRef, OrgRef, TenantRef};
use crate::lifecycle::TenantStatus;
use crate::namespace::{Namespace, NamespacePatch, NewNamespace};
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::{StoreError, Unique};
use crate::tenant::Tenant;

impl From<TenantError> for NamespaceError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::OrgNotFound => Self::OrgNotFound,
            TenantError::Unavailable(m) => Self::Unavailable(m),
            _ => Self::TenantNotFound,
        }
    }
}

impl Tenancy {
    async fn namespace_parent(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<Tenant, NamespaceError> {
        let tenant = self.get_tenant(ctx, org, tenant).await?;
        if tenant.lifecycle.status == TenantStatus::Deleted {
            return Err(NamespaceError::TenantNotFound);
        }
        Ok(tenant)
    }

    /// Adds a namespace to an active tenant.
    pub async fn create_namespace(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        new: NewNamespace,
    ) -> Result<Namespace, NamespaceError> {
        // The store re-checks that the tenant is still active as it writes
        // (`Stale` otherwise): read again and decide on what is true now.
        let new = &new;
        retry_on_stale(
            || {
                NamespaceError::Unavailable(
                    "the tenant kept changing during namespace creation".into(),
                )
            },
            || async move {
                let parent = self.namespace_parent(ctx, org, tenant).await?;
                if parent.lifecycle.status != TenantStatus::Active {
                    return Err(NamespaceError::TenantNotActive(parent.lifecycle.status));
                }
                let now = self.now();
                let ns = new_namespace(self, &parent, new, now);
                let mut audit = self.audit(
                    ctx,
                    now,
                    namespace_subject(&ns, AuditAction::NamespaceCreated, Vec::new()),
                );
                self.seal_audit(&ctx.principal.scope_in(ns.org_id), &mut audit)
                    .await?;
                match self
                    .ports
                    .namespaces
                    .create_namespace(&ctx.principal.scope_in(ns.org_id), &ns, &audit)
                    .await
                {
                    Err(StoreError::Taken(Unique::NamespaceKey)) => {
                        Err(NamespaceError::KeyTaken(new.key.clone()))
                    }
                    result => Ok(written(result, ns)?),
                }
            },
        )
        .await
    }

    /// A namespace of a (non-deleted) tenant.
    pub async fn get_namespace(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        ns: &NamespaceRef,
    ) -> Result<Namespace, NamespaceError> {
        let tenant = self.namespace_parent(ctx, org, tenant).await?;
        self.ports
            .namespaces
            .get_namespace(&ctx.principal.scope_in(tenant.org_id), tenant.id, ns)
            .await?
            .ok_or(NamespaceError::NotFound)
    }

    /// A tenant's namespaces, oldest first.
    pub async fn list_namespaces(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Namespace>, ListError> {
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let after = after.map(NamespaceId::from_uuid);
            let tenant = self
                .namespace_parent(ctx, org, tenant)
                .await
                .map_err(|e| match e {
                    NamespaceError::OrgNotFound => ListError::OrgNotFound,
                    NamespaceError::Unavailable(m) => ListError::Unavailable(m),
                    _ => ListError::TenantNotFound,
                })?;
            let scope = ctx.principal.scope_in(tenant.org_id);
            Ok(self
                .ports
                .namespaces
                .list_namespaces(&scope, tenant.id, after, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |n: &Namespace| n.id.as_uuid()).await
    }

    /// Renames a namespace of an active tenant. Key and mode never change.
    pub async fn update_namespace(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        ns: &NamespaceRef,
        patch: NamespacePatch,
    ) -> Result<Namespace, NamespaceError> {
        let patch = &patch;
        retry_on_stale(
            || NamespaceError::Unavailable("too many concurrent updates".into()),
            || async move {
                let tenant = self.namespace_parent(ctx, org, tenant).await?;
                let current = self
                    .ports
                    .namespaces
                    .get_namespace(&ctx.principal.scope_in(tenant.org_id), tenant.id, ns)
                    .await?
                    .ok_or(NamespaceError::NotFound)?;
                let Some((name, change)) = renamed(&current.name, patch.name.as_ref()) else {
                    return Ok(Step::Done(current));
                };
                let changes = vec![change];
                if tenant.lifecycle.status != TenantStatus::Active {
                    return Err(NamespaceError::TenantNotActive(tenant.lifecycle.status));
                }
                let now = self.now();
                let next = Namespace {
                    name,
                    updated_at: now,
                    version: current.version + 1,
                    ..current
                };
                let mut audit = self.audit(
                    ctx,
                    now,
                    namespace_subject(&next, AuditAction::NamespaceUpdated, changes),
                );
                self.seal_audit(&ctx.principal.scope_in(next.org_id), &mut audit)
                    .await?;
                let result = self
                    .ports
                    .namespaces
                    .update_namespace(&ctx.principal.scope_in(next.org_id), &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }
}

fn namespace_subject(ns: &Namespace, action: AuditAction, changes: Vec<Change>) -> Subject {
    Subject {
        action,
        target_kind: TargetKind::Namespace,
        target_id: ns.id.as_uuid(),
        org_id: ns.org_id,
        tenant_id: Some(ns.tenant_id),
        changes,
    }
}
