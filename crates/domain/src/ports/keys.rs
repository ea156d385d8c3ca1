//! The storage port of API keys.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DataScope, StoreError};
use crate::api_key::{ApiKey, KeyHash, KeyOwner};
use crate::audit::AuditRecord;
use crate::auth::KeyLookup;
use crate::ids::{ApiKeyId, OrgId};

/// API keys. Only hashes are stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key with its audit record. `Stale` if its org or namespace no
    /// longer exists, the namespace is not the key's tenant's, or (for namespace
    /// keys) the tenant is no longer active: checked in the same atomic operation.
    async fn create_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The key with this hash, with its tenant (and that tenant's current status)
    /// and namespace: everything verification needs, in one lookup.
    async fn find_key(&self, hash: &KeyHash) -> Result<Option<Arc<KeyLookup>>, StoreError>;

    /// The key `id` of `org`, if any.
    async fn get_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: ApiKeyId,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// The keys of `owner` within `org` (org keys, or one namespace's keys), in
    /// id order after `after`, at most `limit`.
    async fn list_keys(
        &self,
        scope: &DataScope,
        org: OrgId,
        owner: KeyOwner,
        after: Option<ApiKeyId>,
        limit: usize,
    ) -> Result<Vec<ApiKey>, StoreError>;

    /// Replaces the key whose stored version is `key.version - 1` (revocation),
    /// with its audit record. `Stale` otherwise.
    async fn update_key(
        &self,
        scope: &DataScope,
        key: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Rotation, atomically: replaces `old` (version check as `update_key`) and
    /// inserts `new` (checked as `create_key`), with one audit record.
    async fn rotate_key(
        &self,
        scope: &DataScope,
        old: &ApiKey,
        new: &ApiKey,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Records when keys were last used (batched by the caller; later times win,
    /// unknown ids are ignored). No audit: this is telemetry, not a change.
    async fn record_usage(&self, used: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), StoreError>;
}
