//! One error enum per family of use cases, with business variants and one opaque
//! `Unavailable` for storage failures (its text is for logs, never for callers).

use crate::ids::TenantId;
use crate::library::{ResourceType, Semver, VersionRefused};
use crate::lifecycle::{InvalidTransition, TenantStatus};
use crate::page::PageError;
use crate::ports::StoreError;
use crate::query::InvalidFilter;
use crate::region::RegionCode;
use crate::scope::Scope;
use crate::secret::SecretName;
use crate::slug::{NamespaceKey, OrgKey, ResourceKey, TenantKey};
use crate::values::InvalidValue;

/// Creating, reading and updating orgs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("org not found")]
    NotFound,
    /// Only a platform admin may create orgs.
    #[error("only a platform admin may do this")]
    Forbidden,
    #[error("org key {0} is taken")]
    KeyTaken(OrgKey),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Provisioning a tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    #[error("org not found")]
    OrgNotFound,
    #[error("region {0} is not configured")]
    UnknownRegion(RegionCode),
    #[error("region {0} does not accept new tenants")]
    RegionUnavailable(RegionCode),
    #[error("namespace key {0} appears more than once")]
    DuplicateNamespace(NamespaceKey),
    /// More namespaces than one request may provision
    /// ([`ProvisionTenant::MAX_NAMESPACES`](crate::tenant::ProvisionTenant::MAX_NAMESPACES)).
    #[error("namespaces: {0}")]
    TooManyNamespaces(InvalidValue),
    /// The key belongs to a tenant of another org, or to a deleted tenant.
    #[error("tenant key {0} is taken")]
    KeyTaken(TenantKey),
    /// The key exists in this org, provisioned with a different spec.
    #[error("tenant {key} exists with a different spec")]
    SpecConflict { key: TenantKey, existing: TenantId },
    /// The KMS could not mint the tenant's data key; nothing was stored. The
    /// text is for logs only.
    #[error("KMS unavailable: {0}")]
    KmsUnavailable(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Reading, updating and moving a tenant through its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    NotFound,
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// Delete needs `confirm` to repeat the tenant's key.
    #[error("confirmation does not match the tenant key")]
    ConfirmationMismatch,
    #[error("only a platform admin may {0}")]
    PlatformAdminOnly(&'static str),
    /// A deleted tenant is a tombstone: it cannot be changed.
    #[error("tenant is deleted")]
    Deleted,
    #[error("metadata: {0}")]
    InvalidMetadata(InvalidValue),
    /// A new owner from outside the tenant would pass its members quota.
    #[error("{quota} quota exceeded: {used} of {limit}")]
    QuotaExceeded {
        quota: &'static str,
        used: u64,
        limit: u64,
    },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Creating, reading and updating namespaces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("namespace not found")]
    NotFound,
    #[error("namespace key {0} is taken in this tenant")]
    KeyTaken(NamespaceKey),
    /// Tenant writes are refused unless the tenant is active (docs/api.md §2).
    #[error("tenant is {0}")]
    TenantNotActive(TenantStatus),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Listing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("org not found")]
    OrgNotFound,
    /// Platform-wide listings are for platform admins only.
    #[error("only a platform admin may list across orgs")]
    Forbidden,
    #[error("tenant not found")]
    TenantNotFound,
    #[error(transparent)]
    Page(#[from] PageError),
    /// The inventory's filter would read too much (`TenantFilter::check`).
    #[error("invalid filter")]
    InvalidFilter(Vec<InvalidFilter>),
    /// The inventory query examined more than the store allows in one query
    /// and was stopped: the caller should narrow the search.
    #[error("the search is too broad")]
    TooBroad,
    /// The caller has as many inventory queries running as it may.
    #[error("too many inventory queries running for this caller")]
    Busy,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Publishing, granting, resources, installs and forks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LibraryError {
    #[error("org not found")]
    OrgNotFound,
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("only namespace keys act in a namespace")]
    NotANamespaceKey,
    #[error("the key lacks scope {0}")]
    MissingScope(Scope),
    /// The key is restricted to other resources.
    #[error("the key may not touch resource {0}")]
    ResourceNotAllowed(ResourceKey),
    /// Platform-scoped listings are published and granted by platform admins.
    #[error("only a platform admin may publish or grant a platform listing")]
    PlatformAdminOnly,
    #[error("grant {index}: {reason}")]
    InvalidGrant { index: usize, reason: &'static str },
    #[error("listing not found")]
    ListingNotFound,
    /// Several publishers' listings granted to the namespace share the key.
    #[error("more than one listing keyed {0} is granted; name it by id")]
    AmbiguousListing(ResourceKey),
    #[error("resource {0} not found")]
    ResourceNotFound(ResourceKey),
    #[error("version {0} not found")]
    VersionNotFound(Semver),
    #[error("install not found")]
    InstallNotFound,
    #[error(transparent)]
    Version(#[from] VersionRefused),
    /// A resource or listing key keeps the type it was created with.
    #[error("{key} is a {stored}")]
    TypeMismatch {
        key: ResourceKey,
        stored: ResourceType,
    },
    /// A fork is a new resource: its key must be unused in the namespace.
    #[error("resource {0} exists in this namespace")]
    ResourceKeyTaken(ResourceKey),
    #[error("listing {listing} is installed at {pinned}")]
    AlreadyInstalled {
        listing: ResourceKey,
        pinned: Semver,
    },
    #[error("pins move forward only: {pinned} is installed, {requested} asked")]
    NotForward { pinned: Semver, requested: Semver },
    #[error("quota {quota} exceeded: {used} of {limit} used")]
    QuotaExceeded {
        quota: &'static str,
        used: u64,
        limit: u64,
    },
    /// Tenant writes are refused unless the tenant is active (docs/api.md §2).
    #[error("tenant is {0}")]
    TenantNotActive(TenantStatus),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Tenant secrets: storing, reading, revealing and deleting them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("secret {0} not found")]
    NotFound(SecretName),
    /// Only a namespace key has an own tenant.
    #[error("this call needs a namespace key")]
    NotANamespaceKey,
    #[error("the key lacks scope {0}")]
    MissingScope(Scope),
    /// Secret values are live credentials: a test-mode key may neither
    /// reveal nor write them, whatever its scopes.
    #[error("a test-mode key cannot reveal or write secrets")]
    TestKey,
    /// Secrets belong to the whole tenant: a key restricted to some
    /// resources may neither reveal nor write them, whatever its scopes.
    #[error("a key restricted to some resources cannot reveal or write secrets")]
    RestrictedKey,
    /// Tenant writes are refused unless the tenant is active (docs/api.md §2).
    #[error("tenant is {0}")]
    TenantNotActive(TenantStatus),
    #[error(transparent)]
    Page(#[from] PageError),
    /// The KMS could not unwrap or mint the data key; nothing was stored.
    /// The text is for logs only.
    #[error("KMS unavailable: {0}")]
    KmsUnavailable(String),
    /// A stored value does not open with its tenant's data key: it was
    /// altered, moved, or its key was destroyed. Never a caller's mistake.
    #[error("secret {0} cannot be decrypted")]
    Undecryptable(SecretName),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Claiming, replaying and completing an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdempotencyError {
    #[error("org not found")]
    OrgNotFound,
    /// The key was used for another request (method, path or body).
    #[error("the idempotency key was used for a different request")]
    KeyReused,
    /// The first request with this key is still running.
    #[error("a request with this idempotency key is in progress")]
    InProgress,
    /// The KMS could not unwrap or mint the org's data key. Logs only.
    #[error("KMS unavailable: {0}")]
    KmsUnavailable(String),
    /// A stored response does not open with its org's data key: it was
    /// altered or moved. Never a caller's mistake.
    #[error("a stored response cannot be decrypted")]
    Undecryptable,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A store failure that no use case expects becomes the opaque variant.
pub(super) fn unexpected(e: StoreError) -> String {
    e.to_string()
}

macro_rules! from_store_error {
    ($($t:ty),*) => {$(
        impl From<StoreError> for $t {
            fn from(e: StoreError) -> Self {
                Self::Unavailable(unexpected(e))
            }
        }
    )*};
}
from_store_error!(
    LibraryError,
    OrgError,
    ProvisionError,
    TenantError,
    NamespaceError,
    ListError,
    SecretError,
    IdempotencyError
);

/// Issuing, listing, revoking, rotating and verifying API keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    #[error("namespace not found")]
    NamespaceNotFound,
    #[error("API key not found")]
    NotFound,
    /// New keys are refused unless the tenant is active.
    #[error("tenant is {0}")]
    TenantNotActive(TenantStatus),
    /// The calling key lacks this scope.
    #[error("missing scope {0}")]
    MissingScope(Scope),
    /// A key may not mint, rotate or revoke a key that can do more, or work
    /// longer, than itself (its own key excepted).
    #[error("a key cannot grant more than it holds")]
    Escalation,
    /// Only a namespace key has an own namespace.
    #[error("this call needs a namespace key")]
    NotANamespaceKey,
    #[error("expiry must be in the future")]
    ExpiryInPast,
    /// A resource restriction longer than
    /// [`Access::MAX_RESOURCES`](crate::api_key::Access::MAX_RESOURCES).
    #[error("resources: {0}")]
    TooManyResources(InvalidValue),
    #[error("grace period must be between 0 and {max_days} days")]
    GraceOutOfRange { max_days: i64 },
    #[error(transparent)]
    Page(#[from] PageError),
    /// Revoked or expired keys cannot be rotated.
    #[error("API key is no longer active")]
    KeyInactive,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}
from_store_error!(ApiKeyError);

/// The conversions of a use case's error that acts inside one tenant, whose
/// enum has `OrgNotFound`, `TenantNotFound`, `TenantDeleted` and
/// `Unavailable(String)`: the tenant lookup's refusals become its own, and
/// whatever else fails (the store, sealing the audit record) is
/// `Unavailable`.
macro_rules! tenant_scoped_error {
    ($error:ty) => {
        impl From<$crate::ports::StoreError> for $error {
            fn from(e: $crate::ports::StoreError) -> Self {
                Self::Unavailable($crate::service::errors::unexpected(e))
            }
        }

        impl From<$crate::service::TenantError> for $error {
            fn from(e: $crate::service::TenantError) -> Self {
                use $crate::service::TenantError;
                match e {
                    TenantError::OrgNotFound => Self::OrgNotFound,
                    TenantError::NotFound => Self::TenantNotFound,
                    TenantError::Deleted => Self::TenantDeleted,
                    other => Self::Unavailable(other.to_string()),
                }
            }
        }

        impl From<$crate::service::audit::SealFailed> for $error {
            fn from(e: $crate::service::audit::SealFailed) -> Self {
                $crate::service::TenantError::from(e).into()
            }
        }
    };
}

pub(super) use tenant_scoped_error;
