//! Idempotent requests (docs/api.md §2): the first response to a request with an
//! `Idempotency-Key` is stored sealed with the org's data key and replayed,
//! byte for byte, to every retry within the replay window.
//!
//! The adapter that speaks the protocol drives three steps around the use case
//! it makes idempotent: [`Tenancy::begin_idempotent`] before (a replay, or a
//! claim to go ahead with), then [`Tenancy::complete_idempotent`] with the
//! response it gave, or [`Tenancy::release_idempotent`] when the request failed
//! and changed nothing, so a retry runs it again.

use std::sync::Arc;

use uuid::Uuid;

use super::Tenancy;
use super::errors::IdempotencyError;
use crate::audit::Context;
use crate::idempotency::{
    Claimed, IdempotencyClaim, IdempotencyKey, RequestFingerprint, StoredResponse, response_aad,
};
use crate::ids::{OrgId, OrgRef, TenantId};
use crate::kms::{DataKey, EncryptionContext, KmsError, Sealed, open, seal};
use crate::ports::{DataScope, StoreError};

/// A claim on an idempotency key: the request it names may run.
#[derive(Debug)]
pub struct IdempotentRequest {
    scope: DataScope,
    org: OrgId,
    key: IdempotencyKey,
    token: Uuid,
}

/// What an idempotency key says about a request.
#[derive(Debug)]
pub enum Idempotent {
    /// First time (or the first try crashed): run it, then complete or release.
    Proceed(IdempotentRequest),
    /// Answered before: send this again.
    Replay(StoredResponse),
}

fn kms_failed(e: KmsError) -> IdempotencyError {
    IdempotencyError::KmsUnavailable(e.to_string())
}

impl Tenancy {
    /// Claims `key` in `org` for the request `fingerprint` names, or finds the
    /// response an earlier request with that key and fingerprint gave. A key
    /// used with another fingerprint is [`IdempotencyError::KeyReused`]; one
    /// whose first request is still running, [`IdempotencyError::InProgress`].
    /// The caller must manage `org` (an org key of its own, or the platform
    /// admin); other orgs are not found.
    ///
    /// The org's data key is fetched (and the KMS called) only to open a
    /// stored response: a refused key, and a claim to go ahead with, call no
    /// KMS, so neither does a request then refused by its own checks.
    /// [`Self::complete_idempotent`] fetches it to seal the response.
    pub async fn begin_idempotent(
        &self,
        ctx: &Context,
        org: &OrgRef,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
    ) -> Result<Idempotent, IdempotencyError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(IdempotencyError::OrgNotFound)?;
        let scope = ctx.principal.scope_in(org.id);
        let claim = IdempotencyClaim::new(org.id, key, fingerprint, self.new_id(), self.now());
        let record = match self.ports.idempotency.claim(&scope, &claim).await? {
            Claimed::New => {
                return Ok(Idempotent::Proceed(IdempotentRequest {
                    scope,
                    org: org.id,
                    key: claim.key,
                    token: claim.token,
                }));
            }
            Claimed::Held(record) => record,
        };
        if record.claim.fingerprint != fingerprint {
            return Err(IdempotencyError::KeyReused);
        }
        let Some(sealed) = record.sealed_response else {
            return Err(IdempotencyError::InProgress);
        };
        let sealed = Sealed::from_bytes(&sealed).map_err(|_| IdempotencyError::Undecryptable)?;
        let data_key = self.org_data_key(&scope, org.id).await?;
        let plain = open(&data_key, &sealed, &response_aad(org.id, &claim.key))
            .map_err(|_| IdempotencyError::Undecryptable)?;
        StoredResponse::from_bytes(&plain)
            .map(Idempotent::Replay)
            .ok_or(IdempotencyError::Undecryptable)
    }

    /// Stores the response the claimed request gave, sealed with the org's
    /// data key (minted on the org's first use), for replays. `about` names
    /// the tenant the response is about (the one provisioned), if any:
    /// deleting that tenant deletes the stored response with it, so the key
    /// is free again and a retry runs as a new request. If the claim was lost
    /// meanwhile (its lease ran out and a retry took the key over), or the
    /// tenant was deleted meanwhile, nothing is stored (`Unavailable`: the
    /// response still goes out, a retry runs again) and a claim still held is
    /// released, so that retry need not wait for its lease. When the KMS
    /// cannot give the key, nothing is stored and a retry runs the request
    /// again: a use case made idempotent this way must also answer a repeat
    /// of itself on its own (provisioning does, by tenant key).
    pub async fn complete_idempotent(
        &self,
        request: IdempotentRequest,
        response: &StoredResponse,
        about: Option<TenantId>,
    ) -> Result<(), IdempotencyError> {
        let data_key = self.org_data_key(&request.scope, request.org).await?;
        let sealed = seal(
            &data_key,
            &response.to_bytes(),
            &response_aad(request.org, &request.key),
            self.ports.entropy.as_ref(),
        );
        let completed = self
            .ports
            .idempotency
            .complete(
                &request.scope,
                request.org,
                &request.key,
                request.token,
                about,
                &sealed.to_bytes(),
            )
            .await;
        if completed == Err(StoreError::Stale) {
            // Releases only a claim this request still holds pending.
            self.ports
                .idempotency
                .release(&request.scope, request.org, &request.key, request.token)
                .await?;
        }
        completed.map_err(IdempotencyError::from)
    }

    /// Gives the key back: the request failed and changed nothing, so a retry
    /// with the same key runs again.
    pub async fn release_idempotent(
        &self,
        request: IdempotentRequest,
    ) -> Result<(), IdempotencyError> {
        self.ports
            .idempotency
            .release(&request.scope, request.org, &request.key, request.token)
            .await
            .map_err(IdempotencyError::from)
    }

    /// Deletes up to `batch` records whose replay window ended: the
    /// background job's work. Returns how many it deleted.
    pub async fn purge_expired_idempotency(&self, batch: usize) -> Result<usize, IdempotencyError> {
        Ok(self
            .ports
            .idempotency
            .purge_idempotency(self.now(), batch)
            .await?)
    }

    /// The org's data key, unwrapped through the cache; minted and stored on
    /// first use, the first of concurrent first uses winning.
    pub(super) async fn org_data_key(
        &self,
        scope: &DataScope,
        org: OrgId,
    ) -> Result<Arc<DataKey>, IdempotencyError> {
        let context = EncryptionContext::Org(org);
        for _ in 0..2 {
            if let Some(wrapped) = self.ports.data_keys.org_data_key(scope, org).await? {
                return self
                    .data_keys
                    .unwrap(&wrapped, &context)
                    .await
                    .map_err(kms_failed);
            }
            let (key, wrapped) = self
                .data_keys
                .generate(&context)
                .await
                .map_err(kms_failed)?;
            match self
                .ports
                .data_keys
                .put_org_data_key(scope, org, &wrapped)
                .await
            {
                Ok(()) => return Ok(key),
                // Another request stored the org's key first: use that one.
                Err(StoreError::Stale) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(IdempotencyError::Unavailable(
            "the org's data key was stored but cannot be read".into(),
        ))
    }
}
