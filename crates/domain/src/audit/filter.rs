//! What an audit listing may be narrowed to (SPEC §10: `tenant`, `action`,
//! `actor`, `since`, `until`).

use chrono::{DateTime, Utc};

use super::{AuditAction, AuditRecord};
use crate::ids::TenantId;

/// Filters of an audit listing; each `None` matches every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this tenant's records.
    pub tenant: Option<TenantId>,
    pub action: Option<AuditAction>,
    /// Only records by the principal with this id (`admin`, a key id, a job).
    pub actor: Option<String>,
    /// Only records at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only records strictly before this time.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Only `tenant`'s records, when given.
    pub fn tenant(tenant: Option<TenantId>) -> Self {
        Self {
            tenant,
            ..Self::default()
        }
    }

    /// Whether `record` passes every filter (what a store's query must match).
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.tenant.is_none_or(|t| record.tenant_id == Some(t))
            && self.action.is_none_or(|a| record.action == a)
            && self.actor.as_deref().is_none_or(|a| record.actor.id == a)
            && self.since.is_none_or(|s| record.at >= s)
            && self.until.is_none_or(|u| record.at < u)
    }
}
