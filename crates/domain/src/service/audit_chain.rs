//! The audit chain's use cases: verifying an org's chain (SPEC §7), and
//! signed checkpoints of its head that make a truncated tail detectable.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Tenancy;
use crate::audit::chain::checkpoint_message;
use crate::audit::{ChainHead, ChainReport, ChainVerifier, Context};
use crate::ids::{OrgId, OrgRef};
use crate::ports::{CheckpointSigner, DataScope, StoreError};

/// How many links one read of a verification takes: the memory it holds.
const VERIFY_PAGE: usize = 500;

/// Verifying the audit chain and signing checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditChainError {
    /// No such org, or not the caller's (org keys reach their own org only;
    /// namespace keys none).
    #[error("org not found")]
    OrgNotFound,
    /// The deployment has no checkpoint signing key configured.
    #[error("no checkpoint signing key is configured")]
    NoSigningKey,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for AuditChainError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// An org's chain head at a time, signed with the deployment key: the
/// signature covers [`checkpoint_message`] of these fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub org_id: OrgId,
    pub head: ChainHead,
    pub at: DateTime<Utc>,
    pub key_id: String,
    /// Ed25519 over `checkpoint_message(org_id, head, at, key_id)`.
    pub signature: [u8; 64],
}

/// The public half of the checkpoint key, for clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointKey {
    pub key_id: String,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
}

impl Tenancy {
    /// This service with `signer` as its checkpoint key; without one,
    /// [`Self::audit_checkpoint`] is `NoSigningKey`.
    #[must_use]
    pub fn with_checkpoint_signer(mut self, signer: Arc<dyn CheckpointSigner>) -> Self {
        self.checkpoints = Some(signer);
        self
    }

    /// The org's chain, recomputed from the start and compared with every
    /// stored link, read in pages (constant memory). With `checkpoint` (a
    /// head the caller kept from a signed checkpoint), also whether the
    /// chain still holds it: `truncated` when it ends before the
    /// checkpoint's `seq` or holds another hash there. Org keys of the org
    /// and the platform admin only: a tenant's view of the chain has gaps.
    pub async fn verify_audit_chain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        checkpoint: Option<ChainHead>,
    ) -> Result<ChainReport, AuditChainError> {
        let scope = self.chain_scope(ctx, org).await?;
        let DataScope::Org(org) = scope else {
            return Err(AuditChainError::OrgNotFound);
        };
        let mut verifier = ChainVerifier::new(checkpoint);
        loop {
            let page = self
                .ports
                .audit
                .audit_chain(&scope, org, verifier.position(), VERIFY_PAGE)
                .await?;
            for link in &page {
                verifier.push(link);
            }
            if page.len() < VERIFY_PAGE {
                return Ok(verifier.finish());
            }
        }
    }

    /// The org's current chain head, signed with the deployment key, so a
    /// caller who keeps it can later prove the chain was not cut short
    /// ([`Self::verify_audit_chain`] with it). It attests what the store
    /// holds now; whether that is consistent is what verification says.
    pub async fn audit_checkpoint(
        &self,
        ctx: &Context,
        org: &OrgRef,
    ) -> Result<SignedCheckpoint, AuditChainError> {
        let signer = self
            .checkpoints
            .clone()
            .ok_or(AuditChainError::NoSigningKey)?;
        let scope = self.chain_scope(ctx, org).await?;
        let DataScope::Org(org_id) = scope else {
            return Err(AuditChainError::OrgNotFound);
        };
        let head = self.ports.audit.audit_head(&scope, org_id).await?;
        let at = self.now();
        let key_id = signer.key_id();
        let signature = signer.sign(&checkpoint_message(org_id, &head, at, &key_id));
        Ok(SignedCheckpoint {
            org_id,
            head,
            at,
            key_id,
            signature,
        })
    }

    /// The checkpoint key's public half, if the deployment has one.
    pub fn checkpoint_key(&self) -> Option<CheckpointKey> {
        self.checkpoints.as_ref().map(|s| CheckpointKey {
            key_id: s.key_id(),
            public_key: s.public_key(),
        })
    }

    /// The org scope of a chain read: the org must be the caller's.
    async fn chain_scope(&self, ctx: &Context, org: &OrgRef) -> Result<DataScope, AuditChainError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(AuditChainError::OrgNotFound)?;
        Ok(ctx.principal.scope_in(org.id))
    }
}
