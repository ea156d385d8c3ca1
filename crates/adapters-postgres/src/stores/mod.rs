//! [`PgStore`]: every storage port of `domain::ports` on PostgreSQL.
//!
//! Each call runs in exactly one transaction opened by
//! [`Database::scoped_transaction`] with the call's [`DataScope`], so row-level
//! security filters every statement underneath the stores' own filters. A
//! write and its audit record commit together or not at all: on any error the
//! transaction is dropped, which rolls it back.
//!
//! The rules the in-memory reference store follows are mirrored here:
//!
//! - A write that would create rows outside the scope is refused with
//!   `OutOfScope` before anything is written (and row-level security's
//!   `WITH CHECK` refuses it again underneath, also as `OutOfScope`).
//! - Updates are optimistic: `UPDATE ... WHERE id = $ AND version = $` and no
//!   row changed (a stale version, or a row out of sight) is `Stale`.
//! - Writes that depend on a tenant being active lock the tenant row
//!   `FOR SHARE` first, so a concurrent suspension (which takes the row's
//!   update lock) is either wholly before or wholly after them. Every such
//!   write locks the tenant before any row it owns, the same order
//!   `update_tenant` follows, so the two cannot deadlock.
//! - A status change writes every key row of its tenant (the status copy of
//!   migration 0025, by trigger), locking them in primary-key order first;
//!   `record_usage`, the one writer of many key rows that locks no tenant,
//!   locks its rows in the same order, so the two cannot deadlock either.
//! - Writes that can make another instance's cached key lookup stale
//!   (`update_key`, `rotate_key`, `update_tenant`) queue a notification in
//!   their transaction ([`crate::invalidation`]), sent only if it commits.

mod audit;
mod data_keys;
mod deliveries;
mod domains;
mod events;
mod idempotency;
mod keys;
mod library;
mod members;
mod namespaces;
mod orgs;
mod registrations;
mod rows;
mod secrets;
mod settings;
mod tenant_row;
mod tenants;
mod webhooks;

pub use events::OUTBOX_CHANNEL;

use std::any::Any;
use std::sync::Arc;

use domain::OrgId;
use domain::ports::{DataScope, StoreError};
use domain::{AuditDetails, AuditRecord, Event};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Transaction};

use crate::Database;
use crate::error::{translate, translate_write};
use crate::invalidation::{INVALIDATION_CHANNEL, Invalidation};

type Tx = Transaction<'static, Postgres>;

/// Every storage port over one [`Database`] (the runtime role's pool). Cheap to
/// share behind an `Arc`.
pub struct PgStore {
    db: Database,
    /// Kept alive as long as the store (dropped after the pool): a test
    /// database, say, that must outlive every connection to it.
    _held: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("db", &self.db).finish()
    }
}

impl PgStore {
    pub fn new(db: Database) -> Self {
        Self { db, _held: None }
    }

    /// The store, keeping `value` alive until the store is dropped: for
    /// whatever owns the database the pool points at (a `TestDatabase`).
    #[must_use]
    pub fn holding(mut self, value: impl Any + Send + Sync) -> Self {
        self._held = Some(Arc::new(value));
        self
    }

    async fn begin(&self, scope: &DataScope) -> Result<Tx, StoreError> {
        self.db.scoped_transaction(scope).await
    }

    /// Runs `query` for at most one row in its own scoped transaction and maps
    /// the row: every lookup by id or key reads this way.
    async fn read_one<'q, T>(
        &self,
        scope: &DataScope,
        query: Query<'q, Postgres, PgArguments>,
        map: fn(&PgRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut tx = self.begin(scope).await?;
        let row = query.fetch_optional(&mut *tx).await.map_err(translate)?;
        let found = row.as_ref().map(map).transpose()?;
        commit(tx).await?;
        Ok(found)
    }

    /// Runs `query` for every row it finds in its own scoped transaction and
    /// maps them: every listing reads this way.
    async fn read_all<'q, T>(
        &self,
        scope: &DataScope,
        query: Query<'q, Postgres, PgArguments>,
        map: fn(&PgRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut tx = self.begin(scope).await?;
        let found = query.fetch_all(&mut *tx).await.map_err(translate)?;
        let items = rows::all(&found, map)?;
        commit(tx).await?;
        Ok(items)
    }

    /// Appends `audit` in `tx`, as the last write of the call.
    ///
    /// `seq` (the order the trail lists in) comes from an identity column,
    /// assigned at insert time, while the row becomes visible at commit. Two
    /// writers of one org could otherwise commit in the opposite order of their
    /// `seq`s, and a reader paging by `seq` between the two commits would skip
    /// the smaller one for good. A transaction-level advisory lock keyed by the
    /// org, taken by the inserting statement itself before it assigns `seq`
    /// and held until commit, makes `seq` order equal commit order within each
    /// org. The lock is the call's last acquisition (only the insert's own
    /// foreign-key checks follow), so it never takes part in a deadlock with
    /// row locks. Different orgs that share a lock key only
    /// serialise their audit inserts, which costs time, not correctness.
    async fn append(&self, tx: &mut Tx, audit: &AuditRecord) -> Result<(), StoreError> {
        // Sealed details go in their own column (migration 0027), with the
        // clear ones empty; a shredded record is a reading, never written.
        let (reason, changes, sealed) = match &audit.details {
            AuditDetails::Clear { reason, changes } => (
                reason.as_ref().map(|r| r.as_str()),
                changes.as_slice(),
                None,
            ),
            AuditDetails::Sealed(bytes) => (None, [].as_slice(), Some(bytes.as_slice())),
            AuditDetails::Shredded => {
                return Err(StoreError::Unavailable(
                    "a shredded audit record cannot be written".into(),
                ));
            }
        };
        // The lock and the insert in one statement, one round trip: the CTE
        // calls a volatile function, so it is never inlined and runs before
        // the insert takes its row, `seq` included, from it. Every writer of
        // the org waits on this lock until the holder commits, so each round
        // trip less while holding it is time the others wait less
        // (provisioning from 8 callers in one org queued here).
        // The record's event, if it emits one, goes to the outbox in the same
        // statement (a second data-modifying CTE, skipped when `$15` is NULL),
        // under the same lock, so its `seq` is commit order too; its RETURNING
        // queues the wake-up of the delivery workers, sent at commit only.
        let event = Event::of_audit(audit).map(|e| e.event_type.as_str());
        self.db
            .query(
                "WITH audit_lock AS (SELECT pg_advisory_xact_lock($13)), \
                 outbox AS (INSERT INTO event_outbox (id, org_id, tenant_id, event_type, at, \
                 actor_kind, actor_id, target_type, target_id, request_id) \
                 SELECT $1, $2, $3, $15, $4, $5, $6, $8, $9, $10 FROM audit_lock \
                 WHERE $15::text IS NOT NULL RETURNING pg_notify('tenancy_outbox', '')) \
                 INSERT INTO audit_events (id, org_id, tenant_id, at, actor_kind, actor_id, \
                 action, target_type, target_id, request_id, reason, changes, sealed_details) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14 FROM audit_lock",
            )
            .bind(audit.id.as_uuid())
            .bind(audit.org_id.as_uuid())
            .bind(audit.tenant_id.map(|t| t.as_uuid()))
            .bind(audit.at)
            .bind(audit.actor.kind.as_str())
            .bind(&audit.actor.id)
            .bind(audit.action.as_str())
            .bind(audit.target_kind.as_str())
            .bind(audit.target_id)
            .bind(&audit.request_id)
            .bind(reason)
            .bind(rows::changes_json(changes))
            .bind(audit_lock_key(audit.org_id))
            .bind(sealed)
            .bind(event)
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }

    /// Queues a notification to the other instances that `what` changed.
    /// Postgres sends it when `tx` commits, and never if it rolls back.
    async fn notify(&self, tx: &mut Tx, what: Invalidation) -> Result<(), StoreError> {
        self.db
            .query("SELECT pg_notify($1, $2)")
            .bind(INVALIDATION_CHANNEL)
            .bind(what.payload())
            .execute(&mut **tx)
            .await
            .map_err(translate)?;
        Ok(())
    }

    /// Locks the tenant's row against concurrent updates until the end of the
    /// transaction and tells whether it is active (`false` when it is gone or
    /// out of sight).
    async fn lock_active_tenant(
        &self,
        tx: &mut Tx,
        org: OrgId,
        tenant: domain::TenantId,
    ) -> Result<bool, StoreError> {
        let status: Option<String> = self
            .db
            .query_scalar("SELECT status FROM tenants WHERE id = $1 AND org_id = $2 FOR SHARE")
            .bind(tenant.as_uuid())
            .bind(org.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(translate)?;
        Ok(status.as_deref() == Some(domain::TenantStatus::Active.as_str()))
    }
}

async fn commit(tx: Tx) -> Result<(), StoreError> {
    tx.commit().await.map_err(translate)
}

/// Refuses a write whose rows (`allowed`) or audit record fall outside `scope`.
fn in_scope(allowed: bool, scope: &DataScope, audit: &AuditRecord) -> Result<(), StoreError> {
    if allowed && scope.sees(audit.org_id, audit.tenant_id) {
        Ok(())
    } else {
        Err(StoreError::OutOfScope)
    }
}

/// The advisory lock key of an org's audit trail: both halves of its id folded.
fn audit_lock_key(org: OrgId) -> i64 {
    let (high, low) = org.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// A listing limit as SQL takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
