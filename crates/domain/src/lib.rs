//! # Tenancy's domain
//!
//! The pure core of Tenancy, a multi-tenant control plane: orgs (the SaaS builders),
//! their tenants (end-customers) and the tenants' namespaces, the lifecycle of
//! docs/api.md §2, and the [ports] through which all of it is stored. No I/O happens
//! here: storage, time and ids come in through the ports, so any runtime and any
//! store can carry it.
//!
//! [`Tenancy`] is the entry point: every use case is a method on it, and every
//! rule (lifecycle moves, idempotent provisioning, key uniqueness, who may
//! restore) is enforced there.
//!
//! ```
//! use std::sync::Arc;
//! use domain::{Context, NewOrg, OrgKey, OrgRef, ProvisionTenant, TenantKey,
//!              Name, Metadata, Ports, Settings, Tenancy, LifecycleAction, Reason, TenantRef,
//!              TenantStatus, VerifyCode};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // The in-memory adapter implements every storage port; clocks and ids are yours.
//! // (`MemoryStore::ports` fills every port; swap any with struct update syntax.)
//! let store = Arc::new(adapters_memory::MemoryStore::new());
//! let ports: Ports = store.ports(Arc::new(adapters_memory::ManualClock::default()));
//! let tenancy = Tenancy::new(ports, Settings::default());
//! let admin = Context::platform_admin();
//!
//! let org = tenancy
//!     .create_org(&admin, NewOrg { key: OrgKey::parse("signstack")?, name: Name::parse("SignStack")? })
//!     .await?;
//! let acme = tenancy
//!     .provision(&admin, &OrgRef::Id(org.id), ProvisionTenant {
//!         key: TenantKey::parse("acme")?,
//!         name: Name::parse("Acme Corp")?,
//!         plan: None,
//!         region: None,
//!         owner: None,
//!         metadata: Metadata::default(),
//!         namespaces: vec![],
//!     })
//!     .await?;
//! assert_eq!(acme.namespaces[0].key.as_str(), "acme-live");
//! // The first namespace's admin key is shown once, here.
//! let secret = acme.api_key.expect("a new tenant comes with a key").secret;
//! assert_eq!(tenancy.verify(secret.expose(), None).await?.code, VerifyCode::Valid);
//!
//! let suspended = tenancy
//!     .transition(&admin, &OrgRef::Id(org.id), &TenantRef::Id(acme.tenant.id),
//!                 LifecycleAction::Suspend, Reason::parse("billing failure")?)
//!     .await?;
//! assert_eq!(suspended.lifecycle.status, TenantStatus::Suspended);
//! // The very next verification refuses the key.
//! assert_eq!(tenancy.verify(secret.expose(), None).await?.code, VerifyCode::TenantSuspended);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod address;
pub mod api_key;
pub mod audit;
pub mod auth;
pub mod canonical;
pub mod client;
pub mod custom_domain;
pub mod events;
pub mod export;
pub mod idempotency;
pub mod ids;
pub mod kms;
pub mod library;
pub mod lifecycle;
pub mod mail;
pub mod member;
pub mod namespace;
pub mod org;
pub mod page;
pub mod ports;
pub mod query;
pub mod region;
pub mod registration;
pub mod scope;
pub mod secret;
pub mod service;
pub mod settings;
pub mod slug;
pub mod tenant;
pub mod values;
pub mod webhook;
pub mod webhook_delivery;

pub use api_key::{
    Access, ApiKey, KeyHash, KeyMode, KeyOwner, KeyPrefix, MalformedKey, MintedKey, PlaintextKey,
    PresentedKey,
};
pub use audit::{
    Actor, ActorKind, AuditAction, AuditDetails, AuditFilter, AuditLink, AuditRecord, ChainHash,
    ChainHead, ChainReport, Change, Context, TargetKind,
};
pub use auth::{KeyLookup, NamespaceBrief, NamespacePrincipal, Principal, TenantBrief, VerifyCode};
pub use canonical::{canonical_json, canonicalize};
pub use client::TrustedProxies;
pub use custom_domain::{
    ChallengePrefix, CheckReason, CustomDomain, DomainName, DomainStatus, VerificationToken,
};
pub use events::{Event, EventData, EventFilter, EventType};
pub use export::{ExportCounts, ExportRecord, ExportedSecret};
pub use idempotency::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyRecord, RequestFingerprint,
    StoredResponse,
};
pub use ids::{
    ApiKeyId, AuditId, InstallId, ListingId, ListingRef, MemberId, NamespaceId, NamespaceRef,
    OrgId, OrgRef, RegistrationId, ResourceId, TenantId, TenantRef,
};
pub use kms::{
    DataKey, DataKeyCacheLimits, DataKeys, EncryptionContext, GeneratedKey, KekId, KekVersion,
    KeyInfo, Kms, KmsError, KmsValueError, OpenError, Sealed, WrappedKey,
};
pub use library::{
    Admitted, ContentDigest, Description, Document, Grant, Install, Listing, ListingScope,
    ListingVersion, NamespaceSelector, NewResource, Provenance, PublishListing, Resource,
    ResourceType, Semver, VersionInfo, VersionRefused,
};
pub use lifecycle::{InvalidTransition, LifecycleAction, TenantStatus};
pub use mail::{InvalidMail, MailError, Mailbox, OutgoingMail};
pub use member::{Member, MemberPatch, MemberRole, NewMember};
pub use namespace::{Namespace, NamespacePatch, NewNamespace};
pub use org::{NewOrg, Org, OrgPatch};
pub use page::{Cursor, Limit, Page, PageError};
pub use query::{InvalidFilter, TenantFilter, TenantQuery, TenantSort};
pub use region::{Region, RegionCode, Regions, RegionsError};
pub use registration::{
    Registration, RegistrationClaim, RegistrationConfig, RegistrationRequest, RegistrationToken,
    TokenHash,
};
pub use scope::{Role, Scope, Scopes};
pub use secret::{SecretName, SecretValue, StoredSecret};
pub use service::{
    ApiKeyError, AuditChainError, CheckpointKey, DomainError, IdempotencyError, Idempotent,
    IdempotentRequest, Installed, InstalledContent, IssuedKey, KeyLocation, LibraryError,
    ListError, ListingDetail, MemberError, Members, NamespaceBranding, NamespaceError, NewApiKey,
    OrgError, Ports, ProvisionError, Provisioned, PublicTenant, Published, RegistrationAccepted,
    RegistrationError, RetireError, RewrapProgress, SecretError, SecretOwner, SecretView, Settings,
    SettingsTarget, SettingsUseError, SignedCheckpoint, StoredResource, Tenancy, TenantDomain,
    TenantError, TenantExport, Upgraded, Verification, Versioned, WebhookError, WebhookWithSecret,
};
pub use settings::{
    AuthMethod, AuthMethods, BrandingSettings, Cidr, Currency, DateFormat, EmailDomains,
    GeneralSettings, HexColor, HttpsUrl, IpAllowlist, LanguageTag, Patched, RegistrationSettings,
    SecuritySettings, SessionTimeout, SettingsError, SettingsGroup, TimeZone, effective_branding,
};
pub use slug::{KeyError, NamespaceKey, OrgKey, ResourceKey, TenantKey};
pub use tenant::{Lifecycle, ProvisionTenant, SpecDigest, Tenant, TenantPatch};
pub use values::{
    Email, InvalidValue, Metadata, Mode, Name, Owner, Plan, Reason, UserId, check_list_len,
    check_text, is_refused_in_text,
};
pub use webhook::{
    EndpointSecrets, GracePeriod, NewWebhook, RetiringSecret, SealedSecret, SigningSecret,
    WebhookEndpoint, WebhookId, WebhookPatch, WebhookUrl,
};
