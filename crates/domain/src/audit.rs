//! Audit records: who did what to which object, written in the same atomic store
//! operation as the change itself (SPEC §7). Records bind to ids, never to names,
//! so they survive renames and tenant deletion.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Principal;
use crate::ids::{AuditId, OrgId, TenantId};
use crate::values::Reason;

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
}

impl AuditAction {
    /// Every action, for adapters that read records back by name.
    pub const ALL: [Self; 24] = [
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
    ];

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
}

impl TargetKind {
    /// Every kind, for adapters that read records back by name.
    pub const ALL: [Self; 8] = [
        Self::Org,
        Self::Tenant,
        Self::Namespace,
        Self::ApiKey,
        Self::Resource,
        Self::Listing,
        Self::Install,
        Self::Secret,
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
    pub reason: Option<Reason>,
    pub changes: Vec<Change>,
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
