//! Exporting a tenant: every record of [`crate::export`], produced a batch at a
//! time so that an export of any size runs in constant memory. Each batch is
//! one store call's worth (at most [`PAGE`] records, or one resource version),
//! read in keyset order after the last record handed out; nothing is kept
//! between batches but that position and the counts.
//!
//! An export is a walk, not a snapshot: each batch is read in its own store
//! call, so a record written while it runs may or may not be in it. It works
//! for active, suspended and deactivated tenants (deactivation keeps every
//! record, and the keys read as revoked); a deleted tenant has nothing left to
//! export and reads as not found, and one deleted while its export runs cuts
//! the export before its `End` record.

use std::collections::VecDeque;

use uuid::Uuid;

use super::Tenancy;
use super::errors::ListError;
use super::tenants::tenant_subject;
use crate::api_key::KeyOwner;
use crate::audit::{AuditAction, AuditFilter, Context};
use crate::export::{ExportCounts, ExportRecord, ExportedSecret};
use crate::ids::{ApiKeyId, InstallId, NamespaceId, OrgRef, TenantRef};
use crate::library::Semver;
use crate::lifecycle::TenantStatus;
use crate::page::Limit;
use crate::ports::DataScope;
use crate::secret::SecretName;
use crate::slug::ResourceKey;
use crate::tenant::Tenant;
use crate::values::UserId;

/// Most records one store call of an export reads.
const PAGE: usize = Limit::MAX as usize;

/// The per-namespace collections, walked one after the other over every
/// namespace of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Within {
    Keys,
    Resources,
    Installs,
}

/// Where an export stands: what the next batch reads, and after what.
#[derive(Debug)]
enum Phase {
    Tenant,
    Namespaces(Option<NamespaceId>),
    /// Moving on to the namespace after `after` for the collection `of`.
    NextNamespace {
        of: Within,
        after: Option<NamespaceId>,
    },
    Keys {
        ns: NamespaceId,
        after: Option<ApiKeyId>,
    },
    /// The next resource key of `ns` after `after`, and its versions.
    ResourceKeys {
        ns: NamespaceId,
        after: Option<ResourceKey>,
    },
    /// The versions of one resource still to hand out, oldest first.
    ResourceVersions {
        ns: NamespaceId,
        key: ResourceKey,
        pending: VecDeque<Semver>,
    },
    Installs {
        ns: NamespaceId,
        after: Option<InstallId>,
    },
    Secrets(Option<SecretName>),
    Members(Option<UserId>),
    CustomDomain,
    Audit(Option<Uuid>),
    End,
    Done,
}

/// A tenant export under way: call [`Self::next_batch`] until it answers
/// `None`. Dropping it early abandons the export; nothing needs undoing.
pub struct TenantExport {
    tenancy: Tenancy,
    scope: DataScope,
    tenant: Tenant,
    phase: Phase,
    counts: ExportCounts,
}

impl std::fmt::Debug for TenantExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantExport")
            .field("tenant", &self.tenant.id)
            .field("phase", &self.phase)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl Tenancy {
    /// Starts exporting a tenant of `org` that is not deleted: checks who is
    /// asking (the org's keys and the platform admin; another org's tenant
    /// reads as not found), and appends the `tenant.exported` audit record
    /// before anything is handed out, so no export goes unrecorded.
    pub async fn export_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<TenantExport, ListError> {
        let org = self
            .find_org(ctx, org)
            .await?
            .ok_or(ListError::OrgNotFound)?;
        let scope = ctx.principal.scope_in(org.id);
        let tenant = match self.ports.tenants.get_tenant(&scope, tenant).await? {
            Some(t) if t.org_id == org.id && t.lifecycle.status != TenantStatus::Deleted => t,
            _ => return Err(ListError::TenantNotFound),
        };
        let mut audit = self.audit(
            ctx,
            self.now(),
            tenant_subject(&tenant, AuditAction::TenantExported, Vec::new()),
        );
        self.seal_audit(&scope, &mut audit)
            .await
            .map_err(|e| ListError::Unavailable(e.into_store_error().to_string()))?;
        self.ports.audit.append(&scope, &audit).await?;
        Ok(TenantExport {
            tenancy: self.clone(),
            scope,
            tenant,
            phase: Phase::Tenant,
            counts: ExportCounts::default(),
        })
    }
}

impl TenantExport {
    /// The tenant being exported, as read when the export started.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The next records in export order, never an empty batch; `None` once
    /// the `End` record has been handed out. After an error the export is
    /// over: what was handed out is a cut export, without its `End`.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<ExportRecord>>, ListError> {
        loop {
            let batch = match self.step().await {
                Ok(batch) => batch,
                Err(e) => {
                    self.phase = Phase::Done;
                    return Err(e);
                }
            };
            if matches!(self.phase, Phase::Done) && batch.is_empty() {
                return Ok(None);
            }
            if !batch.is_empty() {
                for record in &batch {
                    self.counts.count(record);
                }
                return Ok(Some(batch));
            }
        }
    }

    /// One store call: the records it read (maybe none) and the next phase.
    async fn step(&mut self) -> Result<Vec<ExportRecord>, ListError> {
        let ports = &self.tenancy.ports;
        let scope = &self.scope;
        let tenant = &self.tenant;
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        let (records, next) = match phase {
            Phase::Tenant => (
                vec![ExportRecord::Tenant(tenant.clone())],
                Phase::Namespaces(None),
            ),
            Phase::Namespaces(after) => {
                let page = ports
                    .namespaces
                    .list_namespaces(scope, tenant.id, after, PAGE)
                    .await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => Phase::Namespaces(Some(last.id)),
                    _ => Phase::NextNamespace {
                        of: Within::Keys,
                        after: None,
                    },
                };
                (
                    page.into_iter().map(ExportRecord::Namespace).collect(),
                    next,
                )
            }
            Phase::NextNamespace { of, after } => {
                let next = ports
                    .namespaces
                    .list_namespaces(scope, tenant.id, after, 1)
                    .await?;
                let next = match (next.first(), of) {
                    (Some(ns), Within::Keys) => Phase::Keys {
                        ns: ns.id,
                        after: None,
                    },
                    (Some(ns), Within::Resources) => Phase::ResourceKeys {
                        ns: ns.id,
                        after: None,
                    },
                    (Some(ns), Within::Installs) => Phase::Installs {
                        ns: ns.id,
                        after: None,
                    },
                    (None, Within::Keys) => Phase::NextNamespace {
                        of: Within::Resources,
                        after: None,
                    },
                    (None, Within::Resources) => Phase::NextNamespace {
                        of: Within::Installs,
                        after: None,
                    },
                    (None, Within::Installs) => Phase::Secrets(None),
                };
                (Vec::new(), next)
            }
            Phase::Keys { ns, after } => {
                let owner = KeyOwner::Namespace {
                    tenant_id: tenant.id,
                    namespace_id: ns,
                };
                let page = ports
                    .keys
                    .list_keys(scope, tenant.org_id, owner, after, PAGE)
                    .await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => Phase::Keys {
                        ns,
                        after: Some(last.id),
                    },
                    _ => Phase::NextNamespace {
                        of: Within::Keys,
                        after: Some(ns),
                    },
                };
                (page.into_iter().map(ExportRecord::ApiKey).collect(), next)
            }
            Phase::ResourceKeys { ns, after } => {
                let next = ports.library.list_resources(scope, ns, after, 1).await?;
                let next = match next.into_iter().next() {
                    Some(latest) => {
                        let history = ports
                            .library
                            .resource_history(scope, ns, &latest.key)
                            .await?;
                        Phase::ResourceVersions {
                            ns,
                            key: latest.key,
                            pending: history.into_iter().map(|v| v.version).collect(),
                        }
                    }
                    None => Phase::NextNamespace {
                        of: Within::Resources,
                        after: Some(ns),
                    },
                };
                (Vec::new(), next)
            }
            Phase::ResourceVersions {
                ns,
                key,
                mut pending,
            } => match pending.pop_front() {
                Some(version) => {
                    // One version a batch: documents may be large, and a key
                    // may have many versions.
                    let found = ports
                        .library
                        .get_resource(scope, ns, &key, Some(version))
                        .await?;
                    let records = found.into_iter().map(ExportRecord::Resource).collect();
                    (records, Phase::ResourceVersions { ns, key, pending })
                }
                None => (
                    Vec::new(),
                    Phase::ResourceKeys {
                        ns,
                        after: Some(key),
                    },
                ),
            },
            Phase::Installs { ns, after } => {
                let page = ports.library.list_installs(scope, ns, after, PAGE).await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => Phase::Installs {
                        ns,
                        after: Some(last.id),
                    },
                    _ => Phase::NextNamespace {
                        of: Within::Installs,
                        after: Some(ns),
                    },
                };
                (page.into_iter().map(ExportRecord::Install).collect(), next)
            }
            Phase::Secrets(after) => {
                let page = ports
                    .tenant_secrets
                    .list_secrets(scope, tenant.id, after, PAGE)
                    .await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => Phase::Secrets(Some(last.name.clone())),
                    _ => Phase::Members(None),
                };
                // The sealed values are dropped here, unread.
                let records = page
                    .into_iter()
                    .map(|s| ExportRecord::Secret(ExportedSecret::from(s)))
                    .collect();
                (records, next)
            }
            Phase::Members(after) => {
                let page = ports.members.members(scope, tenant.id, after, PAGE).await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => Phase::Members(Some(last.user_id.clone())),
                    _ => Phase::CustomDomain,
                };
                (page.into_iter().map(ExportRecord::Member).collect(), next)
            }
            Phase::CustomDomain => {
                let found = ports.custom_domains.custom_domain(scope, tenant.id).await?;
                let records = found
                    .map(|stored| ExportRecord::CustomDomain(stored.domain))
                    .into_iter()
                    .collect();
                (records, Phase::Audit(None))
            }
            Phase::Audit(after) => {
                let filter = AuditFilter::tenant(Some(tenant.id));
                let mut page = ports
                    .audit
                    .audit_events(scope, tenant.org_id, &filter, after, PAGE)
                    .await?;
                self.tenancy
                    .open_trail(scope, page.iter_mut().map(|l| &mut l.record))
                    .await?;
                let next = match page.last() {
                    Some(last) if page.len() == PAGE => {
                        Phase::Audit(Some(last.record.id.as_uuid()))
                    }
                    _ => Phase::End,
                };
                (
                    page.into_iter().map(ExportRecord::AuditEvent).collect(),
                    next,
                )
            }
            Phase::End => {
                // Deleted while exporting: its rows were purged under the
                // walk, so what was read cannot be called complete.
                match ports
                    .tenants
                    .get_tenant(scope, &TenantRef::Id(tenant.id))
                    .await?
                {
                    Some(t) if t.lifecycle.status != TenantStatus::Deleted => {}
                    _ => return Err(ListError::TenantNotFound),
                }
                (vec![ExportRecord::End(self.counts)], Phase::Done)
            }
            Phase::Done => (Vec::new(), Phase::Done),
        };
        self.phase = next;
        Ok(records)
    }
}
