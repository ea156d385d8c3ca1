//! The storage ports of sealed data: tenant secrets and idempotent
//! responses (the data keys that seal them are in `data_keys.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::idempotency::{Claimed, IdempotencyClaim, IdempotencyKey};
use crate::ids::{OrgId, TenantId};
use crate::kms::WrappedKey;
use crate::secret::{SecretName, StoredSecret};

/// Tenant secrets. Secret values are stored sealed only;
/// a store never sees a value or a data key in clear.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SecretStore: Send + Sync {
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
}

/// Idempotent responses (docs/api.md §2), sealed with the org's data key
/// ([`super::DataKeyStore`]). A
/// store sees responses sealed only. Records belong to an org: an org scope
/// sees its own, a tenant scope none.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
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
}
