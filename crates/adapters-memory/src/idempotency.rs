//! `IdempotencyStore` in memory: org data keys and idempotency records, kept
//! to the same rules as the PostgreSQL tables (org-level rows: an org scope
//! sees its own, a tenant scope none).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::kms::{KekId, KekVersion, WrappedKey};
use domain::ports::{DataScope, IdempotencyStore, StoreError};
use domain::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, OrgId, TenantId, TenantStatus,
};
use uuid::Uuid;

use crate::MemoryStore;
use crate::store::after;

#[derive(Default)]
pub(crate) struct IdempotencyState {
    org_data_keys: BTreeMap<OrgId, WrappedKey>,
    records: BTreeMap<(OrgId, IdempotencyKey), IdempotencyRecord>,
}

impl IdempotencyState {
    /// The pending record of claim `token`, if it is still there.
    fn pending(
        &mut self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
    ) -> Option<&mut IdempotencyRecord> {
        if !scope.sees_org_level(org) {
            return None;
        }
        self.records
            .get_mut(&(org, key.clone()))
            .filter(|r| r.claim.token == token && r.sealed_response.is_none())
    }

    /// Deletes every record about `tenant`: part of its tombstone.
    pub(crate) fn purge_tenant(&mut self, tenant: TenantId) {
        self.records.retain(|_, r| r.tenant_id != Some(tenant));
    }
}

fn out_of_scope_unless(allowed: bool) -> Result<(), StoreError> {
    if allowed {
        Ok(())
    } else {
        Err(StoreError::OutOfScope)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Option<WrappedKey>, StoreError> {
        if !scope.sees_org_level(org) {
            return Ok(None);
        }
        Ok(self.read().idempotency.org_data_keys.get(&org).cloned())
    }

    async fn put_org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
        wrapped: &WrappedKey,
    ) -> Result<(), StoreError> {
        out_of_scope_unless(scope.sees_org_level(org))?;
        let mut s = self.write();
        if !s.orgs.contains_key(&org) || s.idempotency.org_data_keys.contains_key(&org) {
            return Err(StoreError::Stale);
        }
        s.idempotency.org_data_keys.insert(org, wrapped.clone());
        Ok(())
    }

    async fn claim(
        &self,
        scope: &DataScope,
        claim: &IdempotencyClaim,
    ) -> Result<Claimed, StoreError> {
        out_of_scope_unless(scope.sees_org_level(claim.org_id))?;
        let mut s = self.write();
        if !s.orgs.contains_key(&claim.org_id) {
            return Err(StoreError::Stale);
        }
        let slot = (claim.org_id, claim.key.clone());
        if let Some(held) = s.idempotency.records.get(&slot) {
            if !held.yields_to(claim) {
                return Ok(Claimed::Held(held.clone()));
            }
        }
        s.idempotency.records.insert(
            slot,
            IdempotencyRecord {
                claim: claim.clone(),
                sealed_response: None,
                tenant_id: None,
            },
        );
        Ok(Claimed::New)
    }

    async fn complete(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
        about: Option<TenantId>,
        sealed_response: &[u8],
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        if let Some(tenant) = about {
            let live = s
                .tenant(tenant)
                .is_some_and(|t| t.org_id == org && t.lifecycle.status != TenantStatus::Deleted);
            if !live {
                return Err(StoreError::Stale);
            }
        }
        let record = s
            .idempotency
            .pending(scope, org, key, token)
            .ok_or(StoreError::Stale)?;
        record.sealed_response = Some(sealed_response.to_vec());
        record.tenant_id = about;
        Ok(())
    }

    async fn release(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &IdempotencyKey,
        token: Uuid,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        if s.idempotency.pending(scope, org, key, token).is_some() {
            s.idempotency.records.remove(&(org, key.clone()));
        }
        Ok(())
    }

    async fn purge_idempotency(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut s = self.write();
        let expired: Vec<_> = s
            .idempotency
            .records
            .iter()
            .filter(|(_, r)| r.claim.expires_at <= now)
            .map(|(slot, _)| slot.clone())
            .take(limit)
            .collect();
        for slot in &expired {
            s.idempotency.records.remove(slot);
        }
        Ok(expired.len())
    }

    async fn org_data_keys(
        &self,
        after_org: Option<OrgId>,
        limit: usize,
    ) -> Result<Vec<(OrgId, WrappedKey)>, StoreError> {
        Ok(self
            .read()
            .idempotency
            .org_data_keys
            .range(after(after_org))
            .take(limit)
            .map(|(org, wrapped)| (*org, wrapped.clone()))
            .collect())
    }

    async fn replace_org_data_key(
        &self,
        org: OrgId,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.idempotency.org_data_keys.get_mut(&org) {
            Some(stored) if stored == old => {
                *stored = new.clone();
                Ok(())
            }
            _ => Err(StoreError::Stale),
        }
    }

    async fn count_org_data_keys(
        &self,
        kek: &KekId,
        version: KekVersion,
    ) -> Result<u64, StoreError> {
        let s = self.read();
        let wrapped_by = |key: &&WrappedKey| key.kek_id() == kek && key.kek_version() == version;
        Ok(s.idempotency
            .org_data_keys
            .values()
            .filter(wrapped_by)
            .count() as u64)
    }
}
