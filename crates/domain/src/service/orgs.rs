//! Org use cases.

use super::errors::{ListError, OrgError};
use super::{MAX_WRITE_ATTEMPTS, Subject, Tenancy};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::ids::{OrgId, OrgRef};
use crate::org::{NewOrg, Org, OrgPatch};
use crate::page::{Cursor, Limit, Page, PageError, Position};
use crate::ports::{DataScope, StoreError, Unique};

const ORDER_BY_ID: &str = "id";

pub(super) fn id_position(id: uuid::Uuid) -> Position {
    Position {
        order: ORDER_BY_ID.to_owned(),
        id,
        text: None,
    }
}

pub(super) fn decode_id_cursor(cursor: Option<&Cursor>) -> Result<Option<uuid::Uuid>, PageError> {
    Ok(cursor
        .map(|c| c.decode(ORDER_BY_ID))
        .transpose()?
        .map(|p| p.id))
}

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
        let after = decode_id_cursor(cursor)?.map(OrgId::from_uuid);
        let items = self
            .ports
            .orgs
            .list_orgs(&DataScope::Platform, after, limit.get() + 1)
            .await?;
        Ok(Page::from_fetched(items, limit, |o| {
            id_position(o.id.as_uuid())
        }))
    }

    /// Renames an org. The id and key never change.
    pub async fn update_org(
        &self,
        ctx: &Context,
        org: &OrgRef,
        patch: OrgPatch,
    ) -> Result<Org, OrgError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.get_org(ctx, org).await?;
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
            match self
                .ports
                .orgs
                .update_org(&ctx.principal.scope_in(next.id), &next, &audit)
                .await
            {
                Ok(()) => return Ok(next),
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OrgError::Unavailable("too many concurrent updates".into()))
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
