//! The storage ports of sealed data: tenant data keys and secrets, and
//! idempotent responses with the org data keys that seal them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::idempotency::{Claimed, IdempotencyClaim, IdempotencyKey};
use crate::ids::{OrgId, TenantId};
use crate::kms::{KekId, KekVersion, WrappedKey};
use crate::secret::{SecretName, StoredSecret};

/// A tenant's data key as stored, for the rewrap after a KEK rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub wrapped: WrappedKey,
}

/// Tenant data keys and tenant secrets. Secret values are stored sealed only;
/// a store never sees a value or a data key in clear.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The tenant's wrapped data key, if it has one (none once deleted).
    async fn data_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<WrappedKey>, StoreError>;

    /// Stores `secret` with its audit record: inserts it when `secret.version`
    /// is 1 (`Stale` if the tenant has a secret of that name), otherwise
    /// replaces the one whose stored version is `secret.version - 1` (`Stale`
    /// otherwise). With `new_data_key`, MUST also store it as the tenant's
    /// data key (for tenants provisioned before data keys existed), `Stale`
    /// if the tenant has one by then; without it, `Stale` if the tenant has
    /// none. `Stale` as well if the tenant is not active. All or nothing.
    async fn put_secret(
        &self,
        scope: &DataScope,
        secret: &StoredSecret,
        new_data_key: Option<WrappedKey>,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The tenant's secret of this name, if any.
    async fn get_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
    ) -> Result<Option<StoredSecret>, StoreError>;

    /// The tenant's secret of this name, appending `audit` (the record of its
    /// disclosure) in the same operation; nothing is appended when there is
    /// no such secret.
    async fn reveal_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        audit: &AuditRecord,
    ) -> Result<Option<StoredSecret>, StoreError>;

    /// The tenant's secrets in name order, strictly after `after`, at most `limit`.
    async fn list_secrets(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        after: Option<SecretName>,
        limit: usize,
    ) -> Result<Vec<StoredSecret>, StoreError>;

    /// Deletes the tenant's secret of this name whose stored version is
    /// `version`, with its audit record. `Stale` if it is gone, at another
    /// version, or the tenant is not active.
    async fn delete_secret(
        &self,
        scope: &DataScope,
        tenant: TenantId,
        name: &SecretName,
        version: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Every tenant's data key in tenant id order, strictly after `after`, at
    /// most `limit`: the rewrap job's system path, in the platform scope.
    async fn data_keys(
        &self,
        after: Option<TenantId>,
        limit: usize,
    ) -> Result<Vec<StoredDataKey>, StoreError>;

    /// Replaces the tenant's data key with `new` (the same key wrapped anew)
    /// if it is still `old`; `Stale` otherwise (the tenant was deleted, or
    /// another rewrap won). No audit: the key itself does not change.
    async fn replace_data_key(
        &self,
        tenant: TenantId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// How many tenant data keys are wrapped by version `version` of KEK
    /// `kek`, over every tenant (the platform scope's system path): what
    /// retiring that version would make unreadable.
    async fn count_data_keys(&self, kek: &KekId, version: KekVersion) -> Result<u64, StoreError>;
}

/// Idempotent responses (docs/api.md §2) and the org data keys that seal them. A
/// store sees responses sealed only. Records belong to an org: an org scope
/// sees its own, a tenant scope none.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The org's wrapped data key, if it has one yet.
    async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Option<WrappedKey>, StoreError>;

    /// Stores the org's first data key; `Stale` if it has one already (a
    /// concurrent first use won), `OutOfScope` if the scope cannot see the
    /// org. No audit: it protects data, it is not a change an operator made.
    async fn put_org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        wrapped: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// Atomically: stores `claim` when its key is free in its org, or when
    /// the record holding it yields to the claim
    /// ([`crate::idempotency::IdempotencyRecord::yields_to`]), replacing that
    /// record; otherwise stores nothing and returns the record met.
    async fn claim(
        &self,
        scope: &DataScope,
        claim: &IdempotencyClaim,
    ) -> Result<Claimed, StoreError>;

    /// Completes the pending claim `token` on `key` with the sealed response,
    /// noting the tenant of `org` it is about, if any (a tombstone of that
    /// tenant deletes the record). `Stale` if that claim is no longer there,
    /// pending (taken over, or completed already), or if `about` names a
    /// tenant that is not the org's or is deleted (checked in the same atomic
    /// operation as the write, so a deletion is wholly before or after it).
    async fn complete(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
        about: Option<TenantId>,
        sealed_response: &[u8],
    ) -> Result<(), StoreError>;

    /// Deletes the pending claim `token` on `key`, if it is still there.
    async fn release(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
    ) -> Result<(), StoreError>;

    /// Deletes at most `limit` records whose replay window ended by `now`,
    /// returning how many: a background job's system path.
    async fn purge_idempotency(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError>;

    /// Every org's data key in org id order, strictly after `after`, at most
    /// `limit`: the rewrap job's system path.
    async fn org_data_keys(
        &self,
        after: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<(OrgId, WrappedKey)>, StoreError>;

    /// Replaces the org's data key with `new` if it is still `old`; `Stale`
    /// otherwise.
    async fn replace_org_data_key(
        &self,
        org: OrgId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError>;

    /// How many org data keys are wrapped by version `version` of KEK `kek`,
    /// over every org (the platform scope's system path).
    async fn count_org_data_keys(
        &self,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError>;
}
