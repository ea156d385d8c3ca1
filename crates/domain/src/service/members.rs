//! A tenant's members ([`crate::member`]): listing, adding, changing and
//! removing them, for the platform admin and the tenant's org keys; and moving
//! the tenant's ownership ([`Tenancy::set_owner`]), which keeps the rows and
//! the owner consistent in one store call.

use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::audit::{AuditAction, AuditRecord, Change, Context, TargetKind};
use crate::ids::{MemberId, OrgRef, TenantRef};
use crate::lifecycle::TenantStatus;
use crate::member::{Member, MemberPatch, MemberRole, NewMember};
use crate::page::{Cursor, Limit, Page, PageError, fetch_page_by_text};
use crate::ports::StoreError;
use crate::service::TenantError;
use crate::service::tenants::tenant_subject;
use crate::tenant::Tenant;
use crate::values::{Owner, UserId};

/// The order of member listings: by user id.
const ORDER_BY_USER: &str = "userId";

/// A tenant's people: its owner, and one page of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    pub owner: Option<Owner>,
    pub page: Page<Member>,
}

/// Managing a tenant's members.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("member not found")]
    NotFound,
    /// A deleted tenant is a tombstone: it has no members.
    #[error("tenant is deleted")]
    TenantDeleted,
    /// The user is in the tenant already (a member, or its owner).
    #[error("the user is already in the tenant")]
    AlreadyMember,
    /// The owner is not a row: ownership moves, it is never removed.
    #[error("the owner cannot be removed; move ownership first")]
    OwnerNotRemovable,
    #[error("members quota exceeded: {used} of {limit}")]
    QuotaExceeded { used: u64, limit: u64 },
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

super::errors::tenant_scoped_error!(MemberError);

impl Tenancy {
    /// The tenant's owner and its members in user id order, one page.
    pub async fn list_members(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Members, MemberError> {
        let found = self.member_tenant(ctx, org, tenant).await?;
        let scope = ctx.principal.scope_in(found.org_id);
        let fetch = |after: Option<UserId>, n| {
            let scope = &scope;
            async move {
                Ok::<_, MemberError>(
                    self.ports
                        .members
                        .members(scope, found.id, after, n)
                        .await?,
                )
            }
        };
        let page = fetch_page_by_text(
            ORDER_BY_USER,
            cursor,
            limit,
            |text| UserId::parse(text).ok(),
            fetch,
            |m: &Member| (m.user_id.as_str(), m.id.as_uuid()),
        )
        .await?;
        Ok(Members {
            owner: found.owner.clone(),
            page,
        })
    }

    /// One member of the tenant.
    pub async fn get_member(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        user: &UserId,
    ) -> Result<Member, MemberError> {
        let found = self.member_tenant(ctx, org, tenant).await?;
        self.ports
            .members
            .get_member(&ctx.principal.scope_in(found.org_id), found.id, user)
            .await?
            .ok_or(MemberError::NotFound)
    }

    /// Adds a member, within the tenant's members quota (its owner counts).
    pub async fn add_member(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        new: NewMember,
    ) -> Result<Member, MemberError> {
        let found = self.member_tenant(ctx, org, tenant).await?;
        let now = self.now();
        let member = Member {
            id: MemberId::from_uuid(self.new_id()),
            org_id: found.org_id,
            tenant_id: found.id,
            user_id: new.user_id,
            email: new.email,
            role: new.role,
            invited_at: now,
            joined_at: new.joined.then_some(now),
            updated_at: now,
            version: 1,
        };
        let changes = vec![Change {
            field: "role",
            from: None,
            to: Some(member.role.as_str().to_owned()),
        }];
        let audit = self
            .member_audit(ctx, &member, AuditAction::MemberAdded, changes)
            .await?;
        let limit = self.settings.max_members_per_tenant;
        let scope = ctx.principal.scope_in(found.org_id);
        match self
            .ports
            .members
            .add_member(&scope, &member, limit, &audit)
            .await
        {
            Ok(()) => Ok(member),
            Err(StoreError::Taken(_)) => Err(MemberError::AlreadyMember),
            Err(StoreError::LimitReached { used }) => {
                Err(MemberError::QuotaExceeded { used, limit })
            }
            // Deleted (or gone) since it was read.
            Err(StoreError::Stale) => {
                Err(self.member_tenant(ctx, org, tenant).await.err().unwrap_or(
                    MemberError::Unavailable("the tenant changed while adding its member".into()),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a member's role, email or joined time.
    pub async fn update_member(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        user: &UserId,
        patch: MemberPatch,
    ) -> Result<Member, MemberError> {
        let patch = &patch;
        retry_on_stale(
            || MemberError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current = self.get_member(ctx, org, tenant, user).await?;
                let now = self.now();
                let (mut next, changed) = current.patched(patch, now);
                if changed.is_empty() {
                    return Ok(Step::Done(current));
                }
                next.updated_at = now;
                next.version = current.version + 1;
                let changes = changed
                    .into_iter()
                    .map(|field| member_change(field, &current, &next))
                    .collect();
                let audit = self
                    .member_audit(ctx, &next, AuditAction::MemberUpdated, changes)
                    .await?;
                let scope = ctx.principal.scope_in(next.org_id);
                let result = self
                    .ports
                    .members
                    .update_member(&scope, &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }

    /// Removes a member; the owner cannot be removed, only replaced.
    pub async fn remove_member(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        user: &UserId,
    ) -> Result<(), MemberError> {
        retry_on_stale(
            || MemberError::Unavailable("too many concurrent updates".into()),
            || async move {
                let found = self.member_tenant(ctx, org, tenant).await?;
                if found.owner.as_ref().is_some_and(|o| o.user_id == *user) {
                    return Err(MemberError::OwnerNotRemovable);
                }
                let current = self.get_member(ctx, org, tenant, user).await?;
                let changes = vec![Change {
                    field: "role",
                    from: Some(current.role.as_str().to_owned()),
                    to: None,
                }];
                let audit = self
                    .member_audit(ctx, &current, AuditAction::MemberRemoved, changes)
                    .await?;
                let scope = ctx.principal.scope_in(current.org_id);
                let result = self
                    .ports
                    .members
                    .remove_member(&scope, &current, &audit)
                    .await;
                Ok(written(result, ())?)
            },
        )
        .await
    }

    /// Makes `owner` the tenant's owner (a transfer to a member, or owner
    /// recovery with someone new), in one store call: a member who becomes
    /// the owner leaves the member rows, and the former owner stays on as an
    /// `admin` member. Refused for tombstones; a newcomer counts against the
    /// members quota.
    pub async fn set_owner(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        owner: Owner,
    ) -> Result<Tenant, TenantError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(TenantError::OrgNotFound)?;
        let (org, owner) = (&org, &owner);
        retry_on_stale(
            || TenantError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current = self.load_tenant(ctx, org, tenant).await?;
                if current.lifecycle.status == TenantStatus::Deleted {
                    return Err(TenantError::Deleted);
                }
                if current.owner.as_ref() == Some(owner) {
                    return Ok(Step::Done(current));
                }
                let scope = ctx.principal.scope_in(org.id);
                let now = self.now();
                let promoted = self
                    .ports
                    .members
                    .get_member(&scope, current.id, &owner.user_id)
                    .await?;
                // The same user with a new email stays the owner: no row moves.
                let demoted = current
                    .owner
                    .as_ref()
                    .filter(|former| former.user_id != owner.user_id)
                    .map(|former| Member {
                        id: MemberId::from_uuid(self.new_id()),
                        org_id: current.org_id,
                        tenant_id: current.id,
                        user_id: former.user_id.clone(),
                        email: former.email.clone(),
                        role: MemberRole::Admin,
                        invited_at: now,
                        joined_at: Some(now),
                        updated_at: now,
                        version: 1,
                    });
                let next = Tenant {
                    owner: Some(owner.clone()),
                    updated_at: now,
                    version: current.version + 1,
                    ..current.clone()
                };
                let changes = Change::of("owner", &current.owner, &next.owner, |o| {
                    o.as_ref().map(|o| o.user_id.as_str().to_owned())
                })
                .into_iter()
                .collect();
                let mut audit = self.audit(
                    ctx,
                    now,
                    tenant_subject(&next, AuditAction::TenantOwnerChanged, changes),
                );
                self.seal_audit(&scope, &mut audit).await?;
                let limit = self.settings.max_members_per_tenant;
                let result = self
                    .ports
                    .members
                    .transfer_owner(&scope, &next, promoted, demoted, limit, &audit)
                    .await;
                match result {
                    Err(StoreError::LimitReached { used }) => Err(TenantError::QuotaExceeded {
                        quota: "max_members",
                        used,
                        limit,
                    }),
                    // A row appeared for the former owner meanwhile: decide again.
                    Err(StoreError::Taken(_)) => Ok(Step::Retry),
                    result => Ok(written(result, next)?),
                }
            },
        )
        .await
    }

    /// The tenant members are managed in: the caller's to manage, not deleted.
    async fn member_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<Tenant, MemberError> {
        Ok(self.live_tenant(ctx, org, tenant).await?)
    }

    /// The audit record of a change to `member`, sealed with its tenant's key
    /// (the changes are personal data).
    async fn member_audit(
        &self,
        ctx: &Context,
        member: &Member,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> Result<AuditRecord, MemberError> {
        let mut audit = self.audit(
            ctx,
            self.now(),
            Subject {
                action,
                target_kind: TargetKind::Member,
                target_id: member.id.as_uuid(),
                org_id: member.org_id,
                tenant_id: Some(member.tenant_id),
                changes,
            },
        );
        self.seal_audit(&ctx.principal.scope_in(member.org_id), &mut audit)
            .await?;
        Ok(audit)
    }
}

/// The audit change of one field of a member.
fn member_change(field: &'static str, from: &Member, to: &Member) -> Change {
    let value = |m: &Member| -> Option<String> {
        match field {
            "role" => Some(m.role.as_str().to_owned()),
            "email" => Some(m.email.as_str().to_owned()),
            _ => m.joined_at.map(|at| at.to_rfc3339()),
        }
    };
    Change {
        field,
        from: value(from),
        to: value(to),
    }
}
