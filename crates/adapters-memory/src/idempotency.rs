//! `IdempotencyStore` in memory: idempotency records (and the state of org
//! data keys, whose port `DataKeyStore` is in `data_keys.rs`), kept
//! to the same rules as the PostgreSQL tables (org-level rows: an org scope
//! sees its own, a tenant scope none).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::kms::WrappedKey;
use domain::ports::{DataScope, IdempotencyStore, StoreError};
use domain::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, OrgId, TenantId, TenantStatus,
};
use uuid::Uuid;

use crate::MemoryStore;

#[derive(Default)]
pub(crate) struct IdempotencyState {
    pub(crate) org_data_keys: BTreeMap<OrgId, WrappedKey>,
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

pub(crate) fn out_of_scope_unless(allowed: bool) -> Result<(), StoreError> {
    if allowed {
        Ok(())
    } else {
        Err(StoreError::OutOfScope)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
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
}
