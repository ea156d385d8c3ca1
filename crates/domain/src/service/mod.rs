//! The use cases: every rule of orgs, tenants and namespaces is enforced here, on
//! top of the ports. Adapters call these and nothing else.

mod audit;
mod audit_chain;
mod custom_domains;
mod errors;
mod events;
mod export;
mod idempotency;
mod inventory;
mod kek;
mod keys;
mod library;
mod members;
mod namespaces;
mod orgs;
mod provision;
mod public;
mod registrations;
mod retry;
mod secrets;
mod settings;
mod tenants;
mod webhook_deliveries;
mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub use audit_chain::{AuditChainError, CheckpointKey, SignedCheckpoint};
pub use custom_domains::{DomainError, TenantDomain};
pub use errors::{
    ApiKeyError, IdempotencyError, LibraryError, ListError, NamespaceError, OrgError,
    ProvisionError, SecretError, TenantError,
};
pub use export::TenantExport;
pub use idempotency::{Idempotent, IdempotentRequest};
pub use kek::{RetireError, RewrapProgress};
pub use keys::{IssuedKey, KeyLocation, NewApiKey, Verification};
pub use library::{
    Installed, InstalledContent, ListingDetail, Published, StoredResource, Upgraded,
};
pub use members::{MemberError, Members};
pub use provision::Provisioned;
pub use public::PublicTenant;
pub use registrations::{RegistrationAccepted, RegistrationError};
pub use secrets::{SecretOwner, SecretView};
pub use settings::{NamespaceBranding, SettingsTarget, SettingsUseError, Versioned};
pub use webhook_deliveries::DELIVERY_WORKER;
pub use webhooks::{WebhookError, WebhookWithSecret};

use crate::api_key::KeyPrefix;
use crate::audit::{AuditAction, AuditDetails, AuditRecord, Change, Context, TargetKind};
use crate::custom_domain::{ChallengePrefix, DomainName};
use crate::ids::{AuditId, OrgId, TenantId};
use crate::kms::{DataKeyCacheLimits, DataKeys, Kms};
use crate::ports::{
    ApiKeyStore, AuditLog, Clock, CustomDomainStore, DataKeyStore, DeliveryStore, DnsResolver,
    EventLog, IdGenerator, IdempotencyStore, KeyUsage, LibraryStore, Mailer, MemberStore,
    NamespaceStore, OrgStore, RegistrationStore, SecretSource, SecretStore, SettingsStore,
    TenantStore, WebhookStore,
};
use crate::region::Regions;
use crate::values::Name;

/// The adapters a [`Tenancy`] runs on.
#[derive(Clone)]
pub struct Ports {
    pub orgs: Arc<dyn OrgStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub namespaces: Arc<dyn NamespaceStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub audit: Arc<dyn AuditLog>,
    /// The outbox's events (written by the stores with each audit record).
    pub events: Arc<dyn EventLog>,
    pub webhooks: Arc<dyn WebhookStore>,
    /// The webhook delivery queue.
    pub deliveries: Arc<dyn DeliveryStore>,
    /// Tenants' members.
    pub members: Arc<dyn MemberStore>,
    /// Settings documents of orgs, tenants and namespaces.
    pub settings: Arc<dyn SettingsStore>,
    /// Tenants' custom domains.
    pub custom_domains: Arc<dyn CustomDomainStore>,
    pub library: Arc<dyn LibraryStore>,
    /// Tenant and org data keys, wrapped.
    pub data_keys: Arc<dyn DataKeyStore>,
    /// Sealed tenant secrets.
    pub tenant_secrets: Arc<dyn SecretStore>,
    /// Idempotent responses, sealed.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Pending self-service registrations.
    pub registrations: Arc<dyn RegistrationStore>,
    /// Sends the registration emails.
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
    /// Randomness for secrets, keys and nonces.
    pub entropy: Arc<dyn SecretSource>,
    pub key_usage: Arc<dyn KeyUsage>,
    /// The TXT lookups that verify custom domains.
    pub dns: Arc<dyn DnsResolver>,
    /// Wraps and unwraps the per-tenant data keys; [`Tenancy`] puts its
    /// bounded cache of unwrapped keys ([`DataKeys`]) in front of it.
    pub kms: Arc<dyn Kms>,
}

/// Deployment settings the rules depend on.
#[derive(Debug, Clone)]
pub struct Settings {
    pub regions: Regions,
    /// How long a deactivated tenant is kept before the retention job deletes it.
    pub retention: Duration,
    /// The first part of every API key this deployment mints and accepts.
    pub key_prefix: KeyPrefix,
    /// Most resources (distinct keys, forks included) one tenant may hold over
    /// all its namespaces.
    pub max_resources_per_tenant: u64,
    /// Most people one tenant may have: its owner and its members.
    pub max_members_per_tenant: u64,
    /// The domain tenants' subdomains live under (`{key}.{base_domain}`);
    /// none: hosts name no tenant.
    pub base_domain: Option<DomainName>,
    /// The label in front of a custom domain under which its TXT record
    /// lives (`TENANCY_DOMAIN_CHALLENGE_PREFIX`).
    pub challenge_prefix: ChallengePrefix,
    /// Bounds of the cache of unwrapped data keys.
    pub data_key_cache: DataKeyCacheLimits,
    /// Most inventory queries one caller (the admin token, each key) may have
    /// running at once; more are refused with `ListError::Busy`.
    pub inventory_queries_per_caller: u32,
    /// Whether webhook endpoints may be `http` URLs and private, loopback or
    /// link-local addresses (`TENANCY_WEBHOOK_ALLOW_PRIVATE`): development
    /// and tests only, never a shared deployment (SSRF).
    pub webhook_allow_private: bool,
    /// Self-service registration's links and fallback sender; `None`: no
    /// org of this deployment takes registrations.
    pub registration: Option<crate::registration::RegistrationConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            regions: Regions::single_global(),
            retention: Duration::days(30),
            key_prefix: KeyPrefix::default(),
            max_resources_per_tenant: 1000,
            max_members_per_tenant: 100,
            base_domain: None,
            challenge_prefix: ChallengePrefix::default(),
            data_key_cache: DataKeyCacheLimits::default(),
            inventory_queries_per_caller: 2,
            webhook_allow_private: false,
            registration: None,
        }
    }
}

/// The application service: one value, cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Tenancy {
    ports: Ports,
    settings: Arc<Settings>,
    /// The data keys, unwrapped through the KMS and cached (bounded, with a
    /// time-to-live); shared by every clone.
    data_keys: Arc<DataKeys>,
    /// The inventory queries running, per caller; shared by every clone.
    inventory: Arc<inventory::InventorySlots>,
    /// Signs audit checkpoints (`with_checkpoint_signer`); none: unsigned
    /// checkpoints are refused.
    checkpoints: Option<Arc<dyn crate::ports::CheckpointSigner>>,
    /// Resolves a webhook endpoint's host when it is saved
    /// (`with_webhook_sender`); none: only the URL's own form is checked.
    webhook_targets: Option<Arc<dyn crate::ports::WebhookSender>>,
}

impl Tenancy {
    pub fn new(ports: Ports, settings: Settings) -> Self {
        let data_keys = Arc::new(DataKeys::new(
            Arc::clone(&ports.kms),
            Arc::clone(&ports.clock),
            settings.data_key_cache,
        ));
        let inventory = inventory::InventorySlots::new(settings.inventory_queries_per_caller);
        Self {
            ports,
            settings: Arc::new(settings),
            data_keys,
            inventory,
            checkpoints: None,
            webhook_targets: None,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    fn new_id(&self) -> Uuid {
        self.ports.ids.new_id()
    }

    fn audit(&self, ctx: &Context, at: DateTime<Utc>, subject: Subject) -> AuditRecord {
        AuditRecord {
            id: AuditId::from_uuid(self.new_id()),
            at,
            actor: ctx.actor(),
            action: subject.action,
            target_kind: subject.target_kind,
            target_id: subject.target_id,
            org_id: subject.org_id,
            tenant_id: subject.tenant_id,
            request_id: ctx.request_id.clone(),
            details: AuditDetails::changes_only(subject.changes),
        }
    }
}

/// What an audit record is about, before the envelope (id, time, actor) is added.
struct Subject {
    action: AuditAction,
    target_kind: TargetKind,
    target_id: Uuid,
    org_id: OrgId,
    tenant_id: Option<TenantId>,
    changes: Vec<Change>,
}

/// The name a patch renames to and the audit change it makes; `None` when the
/// patch leaves the name as it is (no name, or the same one).
fn renamed(current: &Name, patch: Option<&Name>) -> Option<(Name, Change)> {
    let name = patch?.clone();
    let change = Change::of("name", current, &name, |n| Some(n.to_string()))?;
    Some((name, change))
}
