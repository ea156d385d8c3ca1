//! Org use cases.

use super::errors::{ListError, OrgError};
use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy, renamed};
use crate::audit::{AuditAction, Context, TargetKind};
use crate::ids::{OrgId, OrgRef};
use crate::org::{NewOrg, Org, OrgPatch};
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::{DataScope, StoreError, Unique};

impl Tenancy {
    /// Creates an org. Its key must be unused on the platform.
    pub async fn create_org(&self, ctx: &Context, new: NewOrg) -> Result<Org, OrgError> {
        if !ctx.principal.is_platform_admin() {
            return Err(OrgError::Forbidden);
        }
        let now = self.now();
        let org = Org {
            id: OrgId::from_uuid(self.new_id()),
            key: new.key,
            name: new.name,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.audit(
            ctx,
            now,
            Subject {
                action: AuditAction::OrgCreated,
                target_kind: TargetKind::Org,
                target_id: org.id.as_uuid(),
                org_id: org.id,
                tenant_id: None,
                changes: Vec::new(),
            },
        );
        match self
            .ports
            .orgs
            .create_org(&DataScope::Platform, &org, &audit)
            .await
        {
            Ok(()) => Ok(org),
            Err(StoreError::Taken(Unique::OrgKey)) => Err(OrgError::KeyTaken(org.key)),
            Err(e) => Err(e.into()),
        }
    }

    /// The org with this id or key.
    pub async fn get_org(&self, ctx: &Context, org: &OrgRef) -> Result<Org, OrgError> {
        self.find_org(ctx, org).await?.ok_or(OrgError::NotFound)
    }

    /// Orgs, oldest first.
    pub async fn list_orgs(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Org>, ListError> {
        if !ctx.principal.is_platform_admin() {
            return Err(ListError::Forbidden);
        }
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let after = after.map(OrgId::from_uuid);
            Ok(self
                .ports
                .orgs
                .list_orgs(&DataScope::Platform, after, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |o: &Org| o.id.as_uuid()).await
    }

    /// Renames an org. The id and key never change.
    pub async fn update_org(
        &self,
        ctx: &Context,
        org: &OrgRef,
        patch: OrgPatch,
    ) -> Result<Org, OrgError> {
        let patch = &patch;
        retry_on_stale(
            || OrgError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current = self.get_org(ctx, org).await?;
                let Some((name, change)) = renamed(&current.name, patch.name.as_ref()) else {
                    return Ok(Step::Done(current));
                };
                let changes = vec![change];
                let now = self.now();
                let next = Org {
                    name,
                    updated_at: now,
                    version: current.version + 1,
                    ..current
                };
                let audit = self.audit(
                    ctx,
                    now,
                    Subject {
                        action: AuditAction::OrgUpdated,
                        target_kind: TargetKind::Org,
                        target_id: next.id.as_uuid(),
                        org_id: next.id,
                        tenant_id: None,
                        changes,
                    },
                );
                let result = self
                    .ports
                    .orgs
                    .update_org(&ctx.principal.scope_in(next.id), &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }

    /// Resolves an org reference for a caller: an org the caller may not manage
    /// is as absent as one that does not exist, so its existence never leaks.
    pub(super) async fn find_org(
        &self,
        ctx: &Context,
        org: &OrgRef,
    ) -> Result<Option<Org>, StoreError> {
        Ok(self
            .ports
            .orgs
            .get_org(&ctx.principal.base_scope(), org)
            .await?
            .filter(|o| ctx.principal.manages_org(o.id)))
    }
}
