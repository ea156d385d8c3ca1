//! The records of a tenant export ([`crate::Tenancy::export_tenant`]): all of
//! one tenant's data, one typed record at a time, in a fixed order — the
//! tenant, its namespaces, then per namespace its API keys, resource versions
//! and installs, then the tenant's secrets and its audit events, and last an
//! [`ExportRecord::End`] with the counts, so a reader tells a complete export
//! from a cut one.
//!
//! Nothing secret is in a record: API keys travel as stored (a hash, never
//! the key) and their adapters show neither; secrets travel as
//! [`ExportedSecret`], which has no field for a value, sealed or clear.
//!
//! Record types for tenant settings, members, domains and usage are added
//! when those features exist.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api_key::ApiKey;
use crate::audit::{Actor, AuditLink};
use crate::custom_domain::CustomDomain;
use crate::library::{Install, Resource};
use crate::member::Member;
use crate::namespace::Namespace;
use crate::secret::{SecretName, StoredSecret};
use crate::tenant::Tenant;

/// One record of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportRecord {
    /// The tenant, as read when the export started; always first.
    Tenant(Tenant),
    Namespace(Namespace),
    /// A namespace key, revoked and expired ones included. Adapters MUST NOT
    /// write its `hash`.
    ApiKey(ApiKey),
    /// One stored version of a resource, with its content; every version of
    /// each key, oldest first.
    Resource(Resource),
    Install(Install),
    Secret(ExportedSecret),
    /// One of the tenant's members (its owner is in the tenant record).
    Member(Member),
    /// The tenant's custom domain, if it has one.
    CustomDomain(CustomDomain),
    /// One of the tenant's audit events, in the order written, its details
    /// opened with the tenant's data key.
    AuditEvent(AuditLink),
    /// Always last: how many records of each type came before.
    End(ExportCounts),
}

/// A secret's name and metadata. It has no field for the value: an export
/// never carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedSecret {
    pub id: Uuid,
    pub name: SecretName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Actor,
    pub version: u64,
}

impl From<StoredSecret> for ExportedSecret {
    fn from(s: StoredSecret) -> Self {
        Self {
            id: s.id,
            name: s.name,
            created_at: s.created_at,
            updated_at: s.updated_at,
            updated_by: s.updated_by,
            version: s.version,
        }
    }
}

/// How many records of each type an export held, `End` excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportCounts {
    pub tenants: u64,
    pub namespaces: u64,
    pub api_keys: u64,
    pub resources: u64,
    pub installs: u64,
    pub secrets: u64,
    pub members: u64,
    pub custom_domains: u64,
    pub audit_events: u64,
}

impl ExportCounts {
    /// Counts `record` under its type.
    pub fn count(&mut self, record: &ExportRecord) {
        let n = match record {
            ExportRecord::Tenant(_) => &mut self.tenants,
            ExportRecord::Namespace(_) => &mut self.namespaces,
            ExportRecord::ApiKey(_) => &mut self.api_keys,
            ExportRecord::Resource(_) => &mut self.resources,
            ExportRecord::Install(_) => &mut self.installs,
            ExportRecord::Secret(_) => &mut self.secrets,
            ExportRecord::Member(_) => &mut self.members,
            ExportRecord::CustomDomain(_) => &mut self.custom_domains,
            ExportRecord::AuditEvent(_) => &mut self.audit_events,
            ExportRecord::End(_) => return,
        };
        *n += 1;
    }
}
