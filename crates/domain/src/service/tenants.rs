//! Tenant use cases: reading, the inventory, updates and the lifecycle
//! (provisioning is in `provision.rs`).

use chrono::{DateTime, Utc};

use super::errors::{ListError, TenantError};
use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::audit::{AuditAction, AuditDetails, AuditRecord, Change, Context, TargetKind};
use crate::ids::{OrgRef, TenantRef};
use crate::kms::EncryptionContext;
use crate::lifecycle::{LifecycleAction, TenantStatus};
use crate::org::Org;
use crate::page::{Cursor, Limit, Page};
use crate::ports::{DataScope, StoreError};
use crate::query::{TenantFilter, TenantQuery, TenantSort};
use crate::tenant::{Lifecycle, Tenant, TenantPatch};
use crate::values::{Metadata, Name, Reason};

impl Tenancy {
    /// A tenant of `org` (a tombstone if deleted).
    pub async fn get_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<Tenant, TenantError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(TenantError::OrgNotFound)?;
        self.load_tenant(ctx, &org, tenant).await
    }

    /// A tenant of `org` that is not a tombstone (`TenantError::Deleted`).
    pub(super) async fn live_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<Tenant, TenantError> {
        let found = self.get_tenant(ctx, org, tenant).await?;
        if found.lifecycle.status == TenantStatus::Deleted {
            return Err(TenantError::Deleted);
        }
        Ok(found)
    }

    pub(super) async fn load_tenant(
        &self,
        ctx: &Context,
        org: &Org,
        tenant: &TenantRef,
    ) -> Result<Tenant, TenantError> {
        let scope = ctx.principal.scope_in(org.id);
        match self.ports.tenants.get_tenant(&scope, tenant).await? {
            Some(t) if t.org_id == org.id => Ok(t),
            _ => Err(TenantError::NotFound),
        }
    }

    /// The inventory: tenants matching `filter` in `sort` order, one page. With
    /// `org`, only that org's tenants (an unknown org is an error); the platform
    /// listing passes `None` and may filter by org itself.
    pub async fn list_tenants(
        &self,
        ctx: &Context,
        org: Option<&OrgRef>,
        mut filter: TenantFilter,
        sort: TenantSort,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Tenant>, ListError> {
        let scope = if let Some(org) = org {
            let org = self
                .find_org(ctx, org)
                .await?
                .ok_or(ListError::OrgNotFound)?;
            filter.org = Some(org.id);
            ctx.principal.scope_in(org.id)
        } else if ctx.principal.is_platform_admin() {
            DataScope::Platform
        } else {
            return Err(ListError::Forbidden);
        };
        filter.check().map_err(ListError::InvalidFilter)?;
        let query = TenantQuery::new(filter, sort, cursor, limit)?;
        // Held until the store answers, or until this future is dropped.
        let _slot = self.inventory.take(&ctx.principal).ok_or(ListError::Busy)?;
        let items = match self.ports.tenants.list_tenants(&scope, &query).await {
            Ok(items) => items,
            Err(StoreError::QueryTooBroad) => return Err(ListError::TooBroad),
            Err(e) => return Err(e.into()),
        };
        Ok(Page::from_fetched(items, limit, |t| sort.position_of(t)))
    }

    /// Changes name, plan and metadata (merge-patch). Refused for tombstones.
    pub async fn update_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        patch: TenantPatch,
    ) -> Result<Tenant, TenantError> {
        self.modify_tenant(ctx, org, tenant, |current, _now| {
            if current.lifecycle.status == TenantStatus::Deleted {
                return Err(TenantError::Deleted);
            }
            let mut next = current.clone();
            if let Some(name) = &patch.name {
                next.name = name.clone();
            }
            if let Some(plan) = &patch.plan {
                next.plan = plan.clone();
            }
            next.metadata = current
                .metadata
                .merge(&patch.metadata)
                .map_err(TenantError::InvalidMetadata)?;
            let changes: Vec<Change> = [
                Change::of("name", &current.name, &next.name, |n| Some(n.to_string())),
                Change::of("plan", &current.plan, &next.plan, |p| Some(p.to_string())),
                Change::of("metadata", &current.metadata, &next.metadata, |m| {
                    Some(format!("{} keys", m.len()))
                }),
            ]
            .into_iter()
            .flatten()
            .collect();
            Ok((next, AuditAction::TenantUpdated, changes, None))
        })
        .await
    }

    /// Suspends, reactivates, deactivates or restores a tenant. Restore is for
    /// platform admins only; deletion has its own use case ([`Self::delete_tenant`]).
    pub async fn transition(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        action: LifecycleAction,
        reason: Reason,
    ) -> Result<Tenant, TenantError> {
        if action == LifecycleAction::Delete {
            return Err(TenantError::ConfirmationMismatch);
        }
        if action == LifecycleAction::Restore && !ctx.principal.is_platform_admin() {
            return Err(TenantError::PlatformAdminOnly("restore a tenant"));
        }
        let retention = self.settings.retention;
        self.modify_tenant(ctx, org, tenant, |current, now| {
            let status = current.lifecycle.status.transition(action)?;
            let retention_ends_at = (status == TenantStatus::Deactivated).then(|| now + retention);
            let next = Tenant {
                lifecycle: Lifecycle {
                    status,
                    changed_at: now,
                    changed_by: ctx.actor(),
                    reason: Some(reason.clone()),
                    retention_ends_at,
                },
                ..current.clone()
            };
            let changes = vec![Change {
                field: "status",
                from: Some(current.lifecycle.status.to_string()),
                to: Some(status.to_string()),
            }];
            Ok((
                next,
                transition_action(action),
                changes,
                Some(reason.clone()),
            ))
        })
        .await
    }

    /// Deletes a deactivated tenant: `confirm` must repeat its key. What remains
    /// is a tombstone (id, key, org, who and when); everything else is purged.
    pub async fn delete_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        confirm: &str,
        reason: Option<Reason>,
    ) -> Result<Tenant, TenantError> {
        self.modify_tenant(ctx, org, tenant, |current, now| {
            current
                .lifecycle
                .status
                .transition(LifecycleAction::Delete)?;
            if confirm != current.key.as_str() {
                return Err(TenantError::ConfirmationMismatch);
            }
            Ok(tombstone(ctx, current, now, reason.clone()))
        })
        .await
    }

    /// Deletes, as the retention job, up to `batch` deactivated tenants whose
    /// retention has ended. Returns how many were deleted.
    pub async fn purge_expired_tenants(&self, batch: usize) -> Result<usize, TenantError> {
        let ctx = Context::new(crate::auth::Principal::System("retention"));
        let now = self.now();
        let expired = self.ports.tenants.retention_expired(now, batch).await?;
        let mut deleted = 0;
        for tenant in expired {
            let org = OrgRef::Id(tenant.org_id);
            let result = self
                .modify_tenant(&ctx, &org, &TenantRef::Id(tenant.id), |current, now| {
                    // Restored (or otherwise changed) since it was listed: leave it.
                    let still_due = current.lifecycle.status == TenantStatus::Deactivated
                        && current
                            .lifecycle
                            .retention_ends_at
                            .is_some_and(|end| end <= now);
                    if !still_due {
                        return Err(TenantError::NotFound);
                    }
                    let reason = Reason::system("retention period ended");
                    Ok(tombstone(&ctx, current, now, Some(reason)))
                })
                .await;
            match result {
                Ok(_) => deleted += 1,
                Err(TenantError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// Reads a tenant of `org`, computes its next version with `change`, and
    /// writes it with the audit record; retries on a lost race with a fresh read.
    async fn modify_tenant<F>(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        change: F,
    ) -> Result<Tenant, TenantError>
    where
        F: Fn(&Tenant, DateTime<Utc>) -> Result<TenantChange, TenantError> + Send + Sync,
    {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(TenantError::OrgNotFound)?;
        let change = &change;
        let org = &org;
        retry_on_stale(
            || TenantError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current = self.load_tenant(ctx, org, tenant).await?;
                let now = self.now();
                let (mut next, action, changes, reason) = change(&current, now)?;
                if changes.is_empty() && reason.is_none() && next.lifecycle == current.lifecycle {
                    return Ok(Step::Done(current));
                }
                next.updated_at = now;
                next.version = current.version + 1;
                let mut audit: AuditRecord =
                    self.audit(ctx, now, tenant_subject(&next, action, changes));
                audit.details = AuditDetails::Clear {
                    reason,
                    changes: audit.details.changes().to_vec(),
                };
                let scope = ctx.principal.scope_in(org.id);
                // Sealed while the tenant's key exists: a tombstone's own record
                // too, in the operation that destroys the key.
                self.seal_audit(&scope, &mut audit).await?;
                let result = self
                    .ports
                    .tenants
                    .update_tenant(&scope, &next, &audit)
                    .await;
                let step = written(result, next)?;
                if let Step::Done(next) = &step
                    && next.lifecycle.status == TenantStatus::Deleted
                {
                    // Crypto-shredding: the wrapped key is gone from the
                    // store; no unwrapped copy may outlive it here.
                    self.data_keys.forget(&EncryptionContext::Tenant(next.id));
                }
                Ok(step)
            },
        )
        .await
    }
}

/// The next version of a tenant, the audit action, its field changes and reason.
type TenantChange = (Tenant, AuditAction, Vec<Change>, Option<Reason>);

fn tombstone(
    ctx: &Context,
    current: &Tenant,
    now: DateTime<Utc>,
    reason: Option<Reason>,
) -> TenantChange {
    let next = Tenant {
        // The name may be personal data: the tombstone keeps only the key.
        name: Name::parse(current.key.as_str()).expect("a tenant key is a valid name"),
        owner: None,
        metadata: Metadata::default(),
        lifecycle: Lifecycle {
            status: TenantStatus::Deleted,
            changed_at: now,
            changed_by: ctx.actor(),
            // Free text, maybe personal: kept only in the sealed audit record.
            reason: None,
            retention_ends_at: None,
        },
        ..current.clone()
    };
    let changes = vec![Change {
        field: "status",
        from: Some(current.lifecycle.status.to_string()),
        to: Some(TenantStatus::Deleted.to_string()),
    }];
    (next, AuditAction::TenantDeleted, changes, reason)
}

fn transition_action(action: LifecycleAction) -> AuditAction {
    match action {
        LifecycleAction::Suspend => AuditAction::TenantSuspended,
        LifecycleAction::Reactivate => AuditAction::TenantReactivated,
        LifecycleAction::Deactivate => AuditAction::TenantDeactivated,
        LifecycleAction::Restore => AuditAction::TenantRestored,
        LifecycleAction::Delete => AuditAction::TenantDeleted,
    }
}

pub(super) fn tenant_subject(
    tenant: &Tenant,
    action: AuditAction,
    changes: Vec<Change>,
) -> Subject {
    Subject {
        action,
        target_kind: TargetKind::Tenant,
        target_id: tenant.id.as_uuid(),
        org_id: tenant.org_id,
        tenant_id: Some(tenant.id),
        changes,
    }
}
