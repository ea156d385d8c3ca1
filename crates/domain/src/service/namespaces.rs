//! Namespace use cases, always under a tenant of an org.

use super::errors::{ListError, NamespaceError, TenantError};
use super::orgs::{decode_id_cursor, id_position};
use super::tenants::new_namespace;
use super::{MAX_WRITE_ATTEMPTS, Subject, Tenancy};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::ids::{NamespaceId, NamespaceRef, OrgRef, TenantRef};
use crate::lifecycle::TenantStatus;
use crate::namespace::{Namespace, NamespacePatch, NewNamespace};
use crate::page::{Cursor, Limit, Page};
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
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let parent = self.namespace_parent(ctx, org, tenant).await?;
            if parent.lifecycle.status != TenantStatus::Active {
                return Err(NamespaceError::TenantNotActive(parent.lifecycle.status));
            }
            let now = self.now();
            let ns = new_namespace(self, &parent, &new, now);
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
                Ok(()) => return Ok(ns),
                Err(StoreError::Taken(Unique::NamespaceKey)) => {
                    return Err(NamespaceError::KeyTaken(new.key));
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NamespaceError::Unavailable(
            "the tenant kept changing during namespace creation".into(),
        ))
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
        let after = decode_id_cursor(cursor)?.map(NamespaceId::from_uuid);
        let tenant = self
            .namespace_parent(ctx, org, tenant)
            .await
            .map_err(|e| match e {
                NamespaceError::OrgNotFound => ListError::OrgNotFound,
                NamespaceError::Unavailable(m) => ListError::Unavailable(m),
                _ => ListError::TenantNotFound,
            })?;
        let items = self
            .ports
            .namespaces
            .list_namespaces(
                &ctx.principal.scope_in(tenant.org_id),
                tenant.id,
                after,
                limit.get() + 1,
            )
            .await?;
        Ok(Page::from_fetched(items, limit, |n| {
            id_position(n.id.as_uuid())
        }))
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
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let tenant = self.namespace_parent(ctx, org, tenant).await?;
            let current = self
                .ports
                .namespaces
                .get_namespace(&ctx.principal.scope_in(tenant.org_id), tenant.id, ns)
                .await?
                .ok_or(NamespaceError::NotFound)?;
            let Some(name) = patch.name.clone() else {
                return Ok(current);
            };
            let changes: Vec<Change> =
                Change::of("name", &current.name, &name, |n| Some(n.to_string()))
                    .into_iter()
                    .collect();
            if changes.is_empty() {
                return Ok(current);
            }
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
            match self
                .ports
                .namespaces
                .update_namespace(&ctx.principal.scope_in(next.org_id), &next, &audit)
                .await
            {
                Ok(()) => return Ok(next),
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NamespaceError::Unavailable(
            "too many concurrent updates".into(),
        ))
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
