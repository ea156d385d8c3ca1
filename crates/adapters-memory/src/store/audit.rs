//! The audit trail in memory: every record in the order written, each org's
//! hash chain (`domain::audit::chain`) linked as records are appended under
//! the store's lock, and the `AuditLog` port over them.

use std::collections::HashMap;

use async_trait::async_trait;
use domain::ports::{AuditLog, DataScope, StoreError};
use domain::{AuditFilter, AuditId, AuditLink, AuditRecord, ChainHash, ChainHead, OrgId};
use uuid::Uuid;

use super::MemoryStore;

/// Every org's records with their links.
#[derive(Default)]
pub(crate) struct AuditTrail {
    /// In the order written (ids are minted before the lock, so racing
    /// writers may append out of id order).
    links: Vec<AuditLink>,
    /// Each record's position in `links`, by id.
    positions: HashMap<Uuid, usize>,
    /// Each org's positions in `links`, in chain order.
    chains: HashMap<OrgId, Vec<usize>>,
    /// Each org's head: where its next record links to. Kept apart from the
    /// records, as PostgreSQL keeps `audit_chain_heads`, so a record removed
    /// behind the store's back leaves a gap instead of being forgotten.
    heads: HashMap<OrgId, ChainHead>,
}

impl AuditTrail {
    /// Appends `record` as its org's next link. A record that is not in a
    /// stored form (shredded details are a reading, never written) gets a
    /// hash no record has, so verification names it.
    pub(crate) fn append(&mut self, record: &AuditRecord) {
        let head = self
            .heads
            .get(&record.org_id)
            .copied()
            .unwrap_or(ChainHead::GENESIS);
        let next = head.next(record).unwrap_or(ChainHead {
            seq: head.seq + 1,
            hash: ChainHash::GENESIS,
        });
        self.heads.insert(record.org_id, next);
        let position = self.links.len();
        self.positions.insert(record.id.as_uuid(), position);
        self.chains.entry(record.org_id).or_default().push(position);
        self.links.push(AuditLink {
            seq: next.seq,
            hash: next.hash,
            record: record.clone(),
        });
    }

    fn chain(&self, org: OrgId) -> impl DoubleEndedIterator<Item = &AuditLink> {
        self.chains
            .get(&org)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&p| &self.links[p])
    }

    /// Rebuilds the indexes after a test removed links.
    fn reindex(&mut self) {
        self.positions.clear();
        self.chains.clear();
        for (position, link) in self.links.iter().enumerate() {
            self.positions.insert(link.record.id.as_uuid(), position);
            self.chains
                .entry(link.record.org_id)
                .or_default()
                .push(position);
        }
    }
}

/// Test hooks: what an operator with write access to the storage could do
/// behind the application's back, for tests of the chain's verification.
impl MemoryStore {
    /// Edits the stored link of the record `id` in place (its record, `seq`
    /// or hash); `false` if there is none.
    #[doc(hidden)]
    pub fn tamper_with_audit_record(&self, id: AuditId, edit: impl FnOnce(&mut AuditLink)) -> bool {
        let mut s = self.write();
        let trail = &mut s.audit;
        match trail.positions.get(&id.as_uuid()) {
            Some(&p) => {
                edit(&mut trail.links[p]);
                true
            }
            None => false,
        }
    }

    /// Removes every stored record of `org` whose `seq` is above `keep`,
    /// leaving the org's head as it was.
    #[doc(hidden)]
    pub fn remove_audit_records_after(&self, org: OrgId, keep: u64) {
        let mut s = self.write();
        let trail = &mut s.audit;
        trail
            .links
            .retain(|l| l.record.org_id != org || l.seq <= keep);
        trail.reindex();
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn append(&self, scope: &DataScope, record: &AuditRecord) -> Result<(), StoreError> {
        let mut s = self.write();
        super::in_scope(true, scope, record)?;
        s.append(record);
        Ok(())
    }

    async fn audit_events(
        &self,
        scope: &DataScope,
        org: OrgId,
        filter: &AuditFilter,
        after_id: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError> {
        let s = self.read();
        let trail = &s.audit;
        let start = match after_id {
            None => 0,
            Some(id) => match trail.positions.get(&id) {
                Some(position) => position + 1,
                None => return Ok(Vec::new()),
            },
        };
        Ok(trail.links[start..]
            .iter()
            .filter(|l| {
                let r = &l.record;
                r.org_id == org && filter.matches(r) && scope.sees(r.org_id, r.tenant_id)
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn audit_chain(
        &self,
        scope: &DataScope,
        org: OrgId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditLink>, StoreError> {
        let s = self.read();
        let positions = s
            .audit
            .chains
            .get(&org)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let start = positions.partition_point(|&p| s.audit.links[p].seq <= after_seq);
        Ok(positions[start..]
            .iter()
            .map(|&p| &s.audit.links[p])
            .filter(|l| scope.sees(l.record.org_id, l.record.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn audit_head(&self, scope: &DataScope, org: OrgId) -> Result<ChainHead, StoreError> {
        let s = self.read();
        Ok(s.audit
            .chain(org)
            .rev()
            .find(|l| scope.sees(l.record.org_id, l.record.tenant_id))
            .map_or(ChainHead::GENESIS, |l| ChainHead {
                seq: l.seq,
                hash: l.hash,
            }))
    }
}
