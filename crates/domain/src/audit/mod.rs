//! Audit records: who did what to which object, written in the same atomic store
//! operation as the change itself (docs/api.md §5). Records bind to ids, never to names,
//! so they survive renames and tenant deletion.
//!
//! A tenant's records hold personal data in their details (old and new names,
//! owners, free-text reasons), so those are stored sealed with the tenant's
//! data key ([`AuditRecord::seal`]): they read normally while the tenant
//! exists and can never be read again once its tombstone destroys the key
//! (crypto-shredding). Ids, action, actor, time and request id stay in clear,
//! so the trail keeps every event, and the sealed bytes are the stored form
//! any integrity check of the trail is computed over.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Principal;
use crate::idempotency::{Reader, put_len, put_part};
use crate::ids::{AuditId, OrgId, TenantId};
use crate::kms::{DataKey, Sealed, open, seal};
use crate::ports::SecretSource;
use crate::values::Reason;

pub mod chain;
mod filter;

pub use chain::{AuditLink, ChainHash, ChainHead, ChainReport, ChainVerifier};
pub use filter::AuditFilter;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    pub kind: ActorKind,
    /// The principal's id: `admin` for the platform token, a key id, or a job name.
    pub id: String,
}

impl Actor {
    pub fn platform_admin() -> Self {
        Self {
            kind: ActorKind::PlatformAdmin,
            id: "admin".to_owned(),
        }
    }

    /// The platform acting on its own (retention purge and other background jobs).
    pub fn system(job: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: job.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    PlatformAdmin,
    OrgKey,
    NamespaceKey,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformAdmin => "platform_admin",
            Self::OrgKey => "org_key",
            Self::NamespaceKey => "namespace_key",
            Self::System => "system",
        }
    }
}

/// The caller of a use case: who (the authenticated principal) plus what ties the
/// call to its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub principal: Principal,
    pub request_id: Option<String>,
}

impl Context {
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            request_id: None,
        }
    }

    /// The platform admin (the bootstrap token).
    pub fn platform_admin() -> Self {
        Self::new(Principal::PlatformAdmin)
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Who is recorded in audit records for this call.
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }
}

/// What happened, as a stable dotted name (`tenant.suspended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    OrgCreated,
    OrgUpdated,
    TenantProvisioned,
    TenantUpdated,
    TenantOwnerChanged,
    TenantSuspended,
    TenantReactivated,
    TenantDeactivated,
    TenantRestored,
    TenantDeleted,
    NamespaceCreated,
    NamespaceUpdated,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    ResourceCreated,
    ResourceForked,
    ListingPublished,
    ListingGrantsChanged,
    ListingInstalled,
    InstallUpgraded,
    SecretWritten,
    SecretRevealed,
    SecretDeleted,
    /// A tenant's data was exported (docs/api.md, export): a read worth a record.
    TenantExported,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    WebhookSecretRotated,
    /// The delivery worker disabled an endpoint (410, or failing too long).
    WebhookEndpointDisabled,
    MemberAdded,
    MemberUpdated,
    MemberRemoved,
    /// A settings group of an org, tenant or namespace changed.
    SettingsUpdated,
    /// Someone asked an org for a tenant through self-service registration
    /// (a link was emailed; the tenant comes with `tenant.provisioned`).
    RegistrationRequested,
    /// A tenant's custom domain was added (pending verification).
    DomainAdded,
    /// A check found the custom domain's token.
    DomainVerified,
    /// The custom domain was not verified within its window.
    DomainFailed,
    /// Re-verification made the custom domain pending again.
    DomainPending,
    DomainRemoved,
}

impl AuditAction {
    /// Every action, for adapters that read records back by name.
    pub const ALL: [Self; 40] = [
        Self::OrgCreated,
        Self::OrgUpdated,
        Self::TenantProvisioned,
        Self::TenantUpdated,
        Self::TenantOwnerChanged,
        Self::TenantSuspended,
        Self::TenantReactivated,
        Self::TenantDeactivated,
        Self::TenantRestored,
        Self::TenantDeleted,
        Self::NamespaceCreated,
        Self::NamespaceUpdated,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::ApiKeyRotated,
        Self::ResourceCreated,
        Self::ResourceForked,
        Self::ListingPublished,
        Self::ListingGrantsChanged,
        Self::ListingInstalled,
        Self::InstallUpgraded,
        Self::SecretWritten,
        Self::SecretRevealed,
        Self::SecretDeleted,
        Self::TenantExported,
        Self::WebhookEndpointCreated,
        Self::WebhookEndpointUpdated,
        Self::WebhookEndpointDeleted,
        Self::WebhookSecretRotated,
        Self::WebhookEndpointDisabled,
        Self::MemberAdded,
        Self::MemberUpdated,
        Self::MemberRemoved,
        Self::SettingsUpdated,
        Self::RegistrationRequested,
        Self::DomainAdded,
        Self::DomainVerified,
        Self::DomainFailed,
        Self::DomainPending,
        Self::DomainRemoved,
    ];

    /// The action with this dotted name, if any.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgCreated => "org.created",
            Self::OrgUpdated => "org.updated",
            Self::TenantProvisioned => "tenant.provisioned",
            Self::TenantUpdated => "tenant.updated",
            Self::TenantOwnerChanged => "tenant.owner_changed",
            Self::TenantSuspended => "tenant.suspended",
            Self::TenantReactivated => "tenant.reactivated",
            Self::TenantDeactivated => "tenant.deactivated",
            Self::TenantRestored => "tenant.restored",
            Self::TenantDeleted => "tenant.deleted",
            Self::NamespaceCreated => "namespace.created",
            Self::NamespaceUpdated => "namespace.updated",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyRotated => "api_key.rotated",
            Self::ResourceCreated => "resource.created",
            Self::ResourceForked => "resource.forked",
            Self::ListingPublished => "listing.published",
            Self::ListingGrantsChanged => "listing.grants_changed",
            Self::ListingInstalled => "listing.installed",
            Self::InstallUpgraded => "install.upgraded",
            Self::SecretWritten => "secret.written",
            Self::SecretRevealed => "secret.revealed",
            Self::SecretDeleted => "secret.deleted",
            Self::TenantExported => "tenant.exported",
            Self::WebhookEndpointCreated => "webhook.endpoint_created",
            Self::WebhookEndpointUpdated => "webhook.endpoint_updated",
            Self::WebhookEndpointDeleted => "webhook.endpoint_deleted",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
            Self::WebhookEndpointDisabled => "webhook.endpoint_disabled",
            Self::MemberAdded => "member.added",
            Self::MemberUpdated => "member.updated",
            Self::MemberRemoved => "member.removed",
            Self::SettingsUpdated => "settings.updated",
            Self::RegistrationRequested => "registration.requested",
            Self::DomainAdded => "domain.added",
            Self::DomainVerified => "domain.verified",
            Self::DomainFailed => "domain.failed",
            Self::DomainPending => "domain.pending",
            Self::DomainRemoved => "domain.removed",
        }
    }
}

/// The kind of object an audit record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Org,
    Tenant,
    Namespace,
    ApiKey,
    Resource,
    Listing,
    Install,
    Secret,
    WebhookEndpoint,
    Member,
    /// A tenant's custom domain; its id is the tenant's (one domain each).
    CustomDomain,
}

impl TargetKind {
    /// Every kind, for adapters that read records back by name.
    pub const ALL: [Self; 11] = [
        Self::Org,
        Self::Tenant,
        Self::Namespace,
        Self::ApiKey,
        Self::Resource,
        Self::Listing,
        Self::Install,
        Self::Secret,
        Self::WebhookEndpoint,
        Self::Member,
        Self::CustomDomain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Tenant => "tenant",
            Self::Namespace => "namespace",
            Self::ApiKey => "api_key",
            Self::Resource => "resource",
            Self::Listing => "listing",
            Self::Install => "install",
            Self::Secret => "secret",
            Self::WebhookEndpoint => "webhook_endpoint",
            Self::Member => "member",
            Self::CustomDomain => "custom_domain",
        }
    }
}

/// One field's change, as display strings (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    pub target_kind: TargetKind,
    pub target_id: Uuid,
    pub org_id: OrgId,
    pub tenant_id: Option<TenantId>,
    pub request_id: Option<String>,
    /// The reason given and the field changes: personal data, sealed for
    /// tenant records.
    pub details: AuditDetails,
}

/// The personal part of an audit record: the reason given and the changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDetails {
    /// Readable: every org-level record; a tenant's before it is sealed and
    /// once opened; and a tenant's stored before sealing existed (or while
    /// the tenant had no data key).
    Clear {
        reason: Option<Reason>,
        changes: Vec<Change>,
    },
    /// A tenant record's details as stored: [`Self::Clear`]'s content in the
    /// byte form of [`encode_details`], sealed (AES-256-GCM) with the tenant's
    /// data key, with [`details_aad`] as associated data.
    Sealed(Vec<u8>),
    /// Sealed with a data key that no longer exists: the tenant was deleted
    /// and its key destroyed, so nobody can read these details again.
    Shredded,
}

impl AuditDetails {
    /// Details without a reason.
    pub fn changes_only(changes: Vec<Change>) -> Self {
        Self::Clear {
            reason: None,
            changes,
        }
    }

    /// The reason, when readable and given.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Self::Clear { reason, .. } => reason.as_ref(),
            Self::Sealed(_) | Self::Shredded => None,
        }
    }

    /// The changes, when readable (none otherwise).
    pub fn changes(&self) -> &[Change] {
        match self {
            Self::Clear { changes, .. } => changes,
            Self::Sealed(_) | Self::Shredded => &[],
        }
    }
}

/// A sealed record whose details do not open with its tenant's data key: they
/// were altered or moved to another record. Never a caller's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the details of audit record {0} do not open with their tenant's data key")]
pub struct UndecryptableDetails(pub AuditId);

impl AuditRecord {
    /// Seals the details of a tenant's record with the tenant's data `key`;
    /// org-level records, and details sealed already, are left as they are.
    pub fn seal(&mut self, key: &DataKey, nonces: &dyn SecretSource) {
        let Some(tenant) = self.tenant_id else {
            return;
        };
        if let AuditDetails::Clear { reason, changes } = &self.details {
            let plain = encode_details(reason.as_ref(), changes);
            let aad = details_aad(self.id, self.org_id, tenant);
            self.details = AuditDetails::Sealed(seal(key, &plain, &aad, nonces).to_bytes());
        }
    }

    /// Opens sealed details with the tenant's data `key`; with none (the
    /// tenant's key was destroyed with it), marks them [`AuditDetails::Shredded`].
    pub fn open(&mut self, key: Option<&DataKey>) -> Result<(), UndecryptableDetails> {
        let (AuditDetails::Sealed(bytes), Some(tenant)) = (&self.details, self.tenant_id) else {
            return Ok(());
        };
        let Some(key) = key else {
            self.details = AuditDetails::Shredded;
            return Ok(());
        };
        let undecryptable = || UndecryptableDetails(self.id);
        let sealed = Sealed::from_bytes(bytes).map_err(|_| undecryptable())?;
        let plain = open(key, &sealed, &details_aad(self.id, self.org_id, tenant))
            .map_err(|_| undecryptable())?;
        self.details = decode_details(&plain).ok_or_else(undecryptable)?;
        Ok(())
    }
}

/// The first byte of [`encode_details`]: the encoding's version.
const DETAILS_FORMAT: u8 = 1;

/// Details as one byte string: the format version; the reason (a presence
/// byte, then the text); the change count, then each change's field, `from`
/// and `to` (each optional part with a presence byte); every text
/// length-prefixed (u32, big-endian).
pub fn encode_details(reason: Option<&Reason>, changes: &[Change]) -> Vec<u8> {
    let mut out = vec![DETAILS_FORMAT];
    put_optional(&mut out, reason.map(Reason::as_str));
    put_len(&mut out, changes.len());
    for change in changes {
        put_part(&mut out, change.field.as_bytes());
        put_optional(&mut out, change.from.as_deref());
        put_optional(&mut out, change.to.as_deref());
    }
    out
}

/// The inverse of [`encode_details`]: `None` for anything it did not write.
pub fn decode_details(bytes: &[u8]) -> Option<AuditDetails> {
    let mut reader = Reader(bytes);
    if reader.take(1)? != [DETAILS_FORMAT] {
        return None;
    }
    let reason = match take_optional(&mut reader)? {
        Some(text) => Some(Reason::parse(&text).ok()?),
        None => None,
    };
    let count = reader.len()?;
    let mut changes = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let field = std::str::from_utf8(reader.part()?).ok()?;
        changes.push(Change {
            field: field_name(field),
            from: take_optional(&mut reader)?,
            to: take_optional(&mut reader)?,
        });
    }
    reader
        .0
        .is_empty()
        .then_some(AuditDetails::Clear { reason, changes })
}

fn put_optional(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            put_part(out, text.as_bytes());
        }
    }
}

/// `Some(None)` for an absent part, `None` for malformed bytes.
fn take_optional(reader: &mut Reader<'_>) -> Option<Option<String>> {
    match reader.take(1)? {
        [0] => Some(None),
        [1] => Some(Some(String::from_utf8(reader.part()?.to_vec()).ok()?)),
        _ => None,
    }
}

/// The associated data a record's details are sealed with: a label, the
/// record's id, its org and its tenant, each length-prefixed. Sealed details
/// copied onto another record, or another tenant's, do not open.
pub fn details_aad(id: AuditId, org: OrgId, tenant: TenantId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(80);
    for part in [
        b"tenancy-audit-details-v1".as_slice(),
        id.as_uuid().as_bytes().as_slice(),
        org.as_uuid().as_bytes().as_slice(),
        tenant.as_uuid().as_bytes().as_slice(),
    ] {
        put_part(&mut aad, part);
    }
    aad
}

/// [`Change::field`] is `&'static str`: a field name read back (opened, or
/// from a store) is interned, each distinct name allocated once for the life
/// of the process. The domain writes a handful of names, so this stays tiny.
pub fn field_name(raw: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| Mutex::new(HashSet::new()));
    let mut names = names.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(raw) {
        return known;
    }
    let interned: &'static str = Box::leak(raw.to_owned().into_boxed_str());
    names.insert(interned);
    interned
}

impl Change {
    /// A change when the two sides differ, nothing when they are equal.
    pub(crate) fn of<T: PartialEq>(
        field: &'static str,
        from: &T,
        to: &T,
        show: impl Fn(&T) -> Option<String>,
    ) -> Option<Self> {
        (from != to).then(|| Self {
            field,
            from: show(from),
            to: show(to),
        })
    }
}

#[cfg(test)]
mod tests;
