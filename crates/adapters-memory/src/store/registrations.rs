//! `RegistrationStore` in memory: pending registrations by id, found by
//! their token's hash.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, RegistrationStore, StoreError};
use domain::{AuditRecord, Registration, RegistrationClaim, RegistrationId, TokenHash};

use super::{MemoryStore, in_scope};

#[async_trait]
impl RegistrationStore for MemoryStore {
    async fn create_registration(
        &self,
        scope: &DataScope,
        registration: &Registration,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(scope.sees_org_level(registration.org_id), scope, audit)?;
        if !s.orgs.contains_key(&registration.org_id) {
            return Err(StoreError::Stale);
        }
        if s.registrations
            .values()
            .any(|r| r.token_hash == registration.token_hash)
        {
            return Err(StoreError::Unavailable(
                "registration token collision".into(),
            ));
        }
        s.registrations
            .insert(registration.id, registration.clone());
        s.append(audit);
        Ok(())
    }

    async fn claim_registration(
        &self,
        scope: &DataScope,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RegistrationClaim, StoreError> {
        let mut s = self.write();
        let Some(found) = s
            .registrations
            .values_mut()
            .find(|r| r.token_hash == *token && scope.sees_org_level(r.org_id))
        else {
            return Ok(RegistrationClaim::Unknown);
        };
        if found.used_at.is_some() {
            return Ok(RegistrationClaim::Used);
        }
        if now >= found.expires_at {
            return Ok(RegistrationClaim::Expired);
        }
        found.used_at = Some(now);
        Ok(RegistrationClaim::Claimed(Box::new(found.clone())))
    }

    async fn release_registration(
        &self,
        scope: &DataScope,
        id: RegistrationId,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        if let Some(found) = s.registrations.get_mut(&id)
            && scope.sees_org_level(found.org_id)
            && found.used_at == Some(claimed_at)
        {
            found.used_at = None;
        }
        Ok(())
    }

    async fn purge_registrations(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64, StoreError> {
        let mut s = self.write();
        let mut expired: Vec<(DateTime<Utc>, RegistrationId)> = s
            .registrations
            .values()
            .filter(|r| r.expires_at < before)
            .map(|r| (r.expires_at, r.id))
            .collect();
        expired.sort();
        expired.truncate(limit);
        for (_, id) in &expired {
            s.registrations.remove(id);
        }
        Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
    }
}
