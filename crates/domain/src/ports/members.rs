//! A tenant's members ([`crate::member`]): rows with a role, next to the
//! tenant's own `owner`, which only [`MemberStore::transfer_owner`] moves
//! together with the rows.

use async_trait::async_trait;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::ids::TenantId;
use crate::member::Member;
use crate::tenant::Tenant;
use crate::values::UserId;

/// The members of tenants.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// The tenant's members in user id order (byte order), strictly after
    /// `after`, at most `limit`; nothing for a tenant out of the scope.
    async fn members(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError>;

    /// The tenant's member with this user id.
    async fn get_member(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        user: &UserId,
    ) -> Result<Option<Member>, StoreError>;

    /// Adds `member` with its audit record, atomically. MUST refuse, writing
    /// nothing: with `Taken(Unique::Member)` a user already in the tenant (a
    /// member, or its owner); with `LimitReached` when the tenant has
    /// `max_members` already (its owner counts), even under concurrent adds;
    /// with `Stale` when the tenant is gone or deleted.
    async fn add_member(
        &self,
        scope: &DataScope,
        member: &Member,
        max_members: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Replaces the member stored at `member.version - 1`, with its audit
    /// record. `Stale` if the stored version differs, the member is gone or
    /// the tenant is deleted.
    async fn update_member(
        &self,
        scope: &DataScope,
        member: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Removes the member stored at `member.version`, with its audit record.
    /// `Stale` if the stored version differs, the member is gone or the
    /// tenant is deleted.
    async fn remove_member(
        &self,
        scope: &DataScope,
        member: &Member,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Moves the tenant's ownership in one atomic change: writes `tenant`
    /// (its new owner; stored at `tenant.version - 1`), removes `promoted`
    /// (the new owner's member row, stored at its version) when given, adds
    /// `demoted` (the former owner as a member) when given, and appends the
    /// audit record. `Stale` if the tenant or `promoted` changed or is gone;
    /// (a deleted tenant's owner is never moved: the use case refuses it)
    /// `Taken(Unique::Member)` if `demoted`'s user is a member already;
    /// `LimitReached` if adding `demoted` would pass `max_members`.
    async fn transfer_owner(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        promoted: Option<Member>,
        demoted: Option<Member>,
        max_members: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}
