//! The audit trail's personal data: a tenant's records are sealed with the
//! tenant's data key before they reach a store, and opened when listed. Once
//! the tenant is deleted its key is gone, and its records list with their
//! ids, action, actor and time but their details shredded.

use std::collections::HashMap;
use std::sync::Arc;

use super::Tenancy;
use super::errors::{
    ApiKeyError, LibraryError, ListError, NamespaceError, SecretError, TenantError,
};
use crate::audit::{AuditFilter, AuditLink, AuditRecord, Context};
use crate::ids::{OrgRef, TenantId, TenantRef};
use crate::kms::{DataKey, EncryptionContext};
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::{DataScope, StoreError};

/// Why a record could not be sealed: its tenant's data key could not be read
/// or unwrapped. The text is for logs only.
#[derive(Debug)]
pub(super) enum SealFailed {
    Store(StoreError),
    Kms(String),
}

impl From<StoreError> for SealFailed {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl SealFailed {
    /// For the helpers that report in store terms: a KMS failure is an
    /// unavailable dependency there.
    pub(super) fn into_store_error(self) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Kms(_) => StoreError::Unavailable(self.text()),
        }
    }

    fn text(self) -> String {
        match self {
            Self::Store(e) => e.to_string(),
            Self::Kms(e) => format!("KMS unavailable while sealing an audit record: {e}"),
        }
    }
}

// Use cases whose error enum has no KMS variant report the KMS as an
// unavailable dependency: either way the caller gets a 503, and nothing was
// written.
macro_rules! seal_failed_as_unavailable {
    ($($t:ty),*) => {$(
        impl From<SealFailed> for $t {
            fn from(e: SealFailed) -> Self {
                Self::Unavailable(e.text())
            }
        }
    )*};
}
seal_failed_as_unavailable!(TenantError, NamespaceError, ApiKeyError, LibraryError);

impl From<SealFailed> for SecretError {
    fn from(e: SealFailed) -> Self {
        match e {
            SealFailed::Kms(text) => Self::KmsUnavailable(text),
            SealFailed::Store(e) => e.into(),
        }
    }
}

impl Tenancy {
    /// Seals the details of `record` if it is a tenant's, with the tenant's
    /// data key read in `scope`: what every write of a tenant record does
    /// before handing it to a store. A tenant provisioned before tenants had
    /// data keys has none until its first secret: its records stay clear.
    pub(super) async fn seal_audit(
        &self,
        scope: &DataScope,
        record: &mut AuditRecord,
    ) -> Result<(), SealFailed> {
        let Some(tenant) = record.tenant_id else {
            return Ok(());
        };
        if let Some(key) = self.audit_key(scope, tenant).await? {
            record.seal(&key, self.ports.entropy.as_ref());
        }
        Ok(())
    }

    /// The tenant's data key, unwrapped (through the cache); `None` when it
    /// has none: deleted (its key destroyed), or provisioned before data keys.
    async fn audit_key(
        &self,
        scope: &DataScope,
        tenant: TenantId,
    ) -> Result<Option<Arc<DataKey>>, SealFailed> {
        let Some(wrapped) = self.ports.data_keys.data_key(scope, tenant).await? else {
            return Ok(None);
        };
        self.data_keys
            .unwrap(&wrapped, &EncryptionContext::Tenant(tenant))
            .await
            .map(Some)
            .map_err(|e| SealFailed::Kms(e.to_string()))
    }

    /// An org's audit trail in the order written, optionally one tenant's
    /// only. A tenant's records are opened with its data key; those of a
    /// deleted tenant are listed with their details shredded.
    pub async fn list_audit(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: Option<&TenantRef>,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<AuditRecord>, ListError> {
        let page = self
            .list_audit_events(ctx, org, tenant, AuditFilter::default(), cursor, limit)
            .await?;
        Ok(Page {
            items: page.items.into_iter().map(|l| l.record).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// [`Self::list_audit`] narrowed by `filter` (its `tenant` is replaced by
    /// `tenant`, resolved within the org), each record with its chain link.
    /// A cursor is a record's position in the order written, so a page after
    /// it neither skips nor repeats records while others are appended.
    pub async fn list_audit_events(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: Option<&TenantRef>,
        filter: AuditFilter,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<AuditLink>, ListError> {
        let filter = &filter;
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let org = self
                .find_org(ctx, org)
                .await?
                .ok_or(ListError::OrgNotFound)?;
            let scope = ctx.principal.scope_in(org.id);
            let tenant_id = match tenant {
                Some(t) => match self.ports.tenants.get_tenant(&scope, t).await? {
                    Some(t) if t.org_id == org.id => Some(t.id),
                    _ => return Err(ListError::TenantNotFound),
                },
                None => None,
            };
            let filter = AuditFilter {
                tenant: tenant_id,
                ..filter.clone()
            };
            let mut items = self
                .ports
                .audit
                .audit_events(&scope, org.id, &filter, after, n)
                .await?;
            self.open_trail(&scope, items.iter_mut().map(|l| &mut l.record))
                .await?;
            Ok(items)
        };
        fetch_page_by_id(cursor, limit, fetch, |l: &AuditLink| l.record.id.as_uuid()).await
    }

    /// Opens sealed records with their tenant's data key (shredded when the
    /// key is gone).
    pub(super) async fn open_trail<'a>(
        &self,
        scope: &DataScope,
        items: impl Iterator<Item = &'a mut AuditRecord>,
    ) -> Result<(), ListError> {
        // One key per tenant on the page, each looked up once.
        let mut keys: HashMap<TenantId, Option<Arc<DataKey>>> = HashMap::new();
        for record in items {
            let Some(tenant) = record.tenant_id else {
                continue;
            };
            if !matches!(record.details, crate::audit::AuditDetails::Sealed(_)) {
                continue;
            }
            let key = match keys.get(&tenant) {
                Some(key) => key.clone(),
                None => {
                    let key = self
                        .audit_key(scope, tenant)
                        .await
                        .map_err(|e| ListError::Unavailable(e.text()))?;
                    keys.insert(tenant, key.clone());
                    key
                }
            };
            record
                .open(key.as_deref())
                .map_err(|e| ListError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }
}
