//! Pending self-service registrations ([`crate::registration`]): stored when
//! a request is accepted, claimed once when its link is followed, purged
//! after they expire.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::ids::RegistrationId;
use crate::registration::{Registration, RegistrationClaim, TokenHash};

/// Pending registrations. Registrations belong to an org (no tenant exists
/// yet): org-level rows, which a tenant scope never sees.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores `registration` (unused) with its audit record, atomically.
    /// `OutOfScope` when the scope does not see the org's org-level rows;
    /// `Stale` when the org is gone.
    async fn create_registration(
        &self,
        scope: &DataScope,
        registration: &Registration,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Claims the registration whose token hashes to `token`, at `now`: when
    /// it is unused and `now` is before its `expires_at`, marks it used at
    /// `now` and answers [`RegistrationClaim::Claimed`] with it. Exactly one of any
    /// number of concurrent claims of one token gets `Claimed`; the others
    /// get [`RegistrationClaim::Used`]. An expired unused one is [`RegistrationClaim::Expired`]; an
    /// unknown token (or one out of the scope) [`RegistrationClaim::Unknown`].
    async fn claim_registration(
        &self,
        scope: &DataScope,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RegistrationClaim, StoreError>;

    /// Undoes the claim made at `claimed_at` (the registration is unused
    /// again), when the claim's provisioning failed for a reason that may
    /// pass; nothing when the registration is gone or was claimed at another
    /// time.
    async fn release_registration(
        &self,
        scope: &DataScope,
        id: RegistrationId,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes up to `limit` registrations that expired before `before`
    /// (used or not), oldest first; answers how many. A system path (the
    /// retention job), in the platform scope.
    async fn purge_registrations(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64, StoreError>;
}
