//! The storage port of data keys: every tenant's and every org's data key,
//! wrapped by the KMS, in one port so that a KEK rotation's rewrap and a KEK
//! version's retirement walk one port (`service/kek.rs`).

use async_trait::async_trait;

use super::{DataScope, StoreError};
use crate::ids::{OrgId, TenantId};
use crate::kms::{KekId, KekVersion, WrappedKey};

/// A tenant's data key as stored, for the rewrap after a KEK rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub wrapped: WrappedKey,
}

/// Tenant and org data keys, stored wrapped only: a store never sees a data
/// key in clear. Two method families, one per owner. A tenant's first data
/// key is written with its provisioning (`TenantStore`) or with its first
/// secret (`SecretStore::put_secret`), atomically with that change; a
/// tombstone destroys it. An org's is written here, on its first use.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait DataKeyStore: Send + Sync {
    /// The tenant's wrapped data key, if it has one (none once deleted).
    async fn data_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<WrappedKey>, StoreError>;

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
