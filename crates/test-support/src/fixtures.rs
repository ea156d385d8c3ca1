//! Valid, deterministic values for contract cases: fixed time, ids that grow in
//! the order they are minted, and entities with every field filled in so a store
//! that drops or mangles a field fails the round-trip comparisons. API keys are
//! minted in the real format (`domain::KeyPrefix::mint`) from [`FixedEntropy`],
//! so every run mints the same keys.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::kms::{KekId, KekVersion, WrappedKey};
use domain::page::Position;
use domain::ports::{Provisioning, SecretSource};
use domain::{
    Access, Actor, ActorKind, ApiKey, ApiKeyId, AuditAction, AuditDetails, AuditId, AuditRecord,
    Change, KeyMode, KeyOwner, KeyPrefix, Lifecycle, Metadata, Mode, Name, Namespace, NamespaceId,
    NamespaceKey, Org, OrgId, OrgKey, Owner, Plan, Reason, RegionCode, Scope, Scopes, SpecDigest,
    Tenant, TenantId, TenantKey, TenantSort, TenantStatus, UserId,
};
use domain::{
    Description, Document, Email, Grant, Install, InstallId, Listing, ListingId, ListingScope,
    ListingVersion, NamespaceSelector, Resource, ResourceId, ResourceKey, ResourceType, SecretName,
    Semver, StoredSecret, TargetKind,
};
use uuid::Uuid;

/// 2026-01-01T00:00:00Z: the time every fixture is created at.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid literal date")
}

/// A UUIDv7 whose timestamp is `n` milliseconds after [`epoch`]: the `n`-th id a
/// time-ordered generator would mint.
pub fn uuid(n: u64) -> Uuid {
    let base = u64::try_from(epoch().timestamp_millis()).expect("after 1970");
    uuid::Builder::from_unix_timestamp_millis(base + n, &[0; 10]).into_uuid()
}

pub fn org_key(raw: &str) -> OrgKey {
    OrgKey::parse(raw).expect("a valid org key")
}

pub fn tenant_key(raw: &str) -> TenantKey {
    TenantKey::parse(raw).expect("a valid tenant key")
}

pub fn namespace_key(raw: &str) -> NamespaceKey {
    NamespaceKey::parse(raw).expect("a valid namespace key")
}

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("a valid name")
}

pub fn plan(raw: &str) -> Plan {
    Plan::parse(raw).expect("a valid plan")
}

pub fn region(raw: &str) -> RegionCode {
    RegionCode::parse(raw).expect("a valid region code")
}

pub fn reason(raw: &str) -> Reason {
    Reason::parse(raw).expect("a valid reason")
}

pub fn metadata(pairs: &[(&str, &str)]) -> Metadata {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Metadata::new(map).expect("valid metadata")
}

/// An operator acting through an org key, to tell apart from the platform admin.
pub fn operator(id: &str) -> Actor {
    Actor {
        kind: ActorKind::OrgKey,
        id: id.to_owned(),
    }
}

/// Mints entities with ids that grow in the order they are asked for, all
/// created at [`epoch`]. Shared by reference (`&self`), so one fixture can feed
/// the next: `f.tenant(&f.org("signstack"), "acme")`.
#[derive(Debug, Default)]
pub struct Fixtures {
    minted: AtomicU64,
    entropy: FixedEntropy,
}

impl Fixtures {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id.
    pub fn id(&self) -> Uuid {
        uuid(self.minted.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub fn org(&self, key: &str) -> Org {
        Org {
            id: OrgId::from_uuid(self.id()),
            key: org_key(key),
            name: name(&format!("Org {key}")),
            created_at: epoch(),
            updated_at: epoch(),
            version: 1,
        }
    }

    /// An active tenant of `org` with an owner, metadata and a spec digest.
    pub fn tenant(&self, org: &Org, key: &str) -> Tenant {
        let id = self.id();
        Tenant {
            id: TenantId::from_uuid(id),
            org_id: org.id,
            key: tenant_key(key),
            name: name(&format!("Tenant {key}")),
            plan: Plan::free(),
            region: region("global"),
            owner: Some(Owner {
                user_id: UserId::parse(&format!("user-{key}")).expect("a valid user id"),
                email: Email::parse(&format!("owner@{key}.example")).expect("a valid email"),
            }),
            metadata: metadata(&[("crm", key), ("tier", "gold")]),
            lifecycle: Lifecycle {
                status: TenantStatus::Active,
                changed_at: epoch(),
                changed_by: Actor::platform_admin(),
                reason: None,
                retention_ends_at: None,
            },
            spec_digest: digest(id),
            created_at: epoch(),
            updated_at: epoch(),
            version: 1,
        }
    }

    pub fn namespace(&self, tenant: &Tenant, key: &str) -> Namespace {
        Namespace {
            id: NamespaceId::from_uuid(self.id()),
            org_id: tenant.org_id,
            tenant_id: tenant.id,
            key: namespace_key(key),
            name: name(&format!("Namespace {key}")),
            mode: if key.ends_with("test") {
                Mode::Test
            } else {
                Mode::Live
            },
            created_at: epoch(),
            updated_at: epoch(),
            version: 1,
        }
    }

    /// Version `version` of resource `key` of `ns`, with `json` as content.
    pub fn resource(&self, ns: &Namespace, key: &str, version: &str, json: &str) -> Resource {
        Resource {
            id: ResourceId::from_uuid(self.id()),
            org_id: ns.org_id,
            tenant_id: ns.tenant_id,
            namespace_id: ns.id,
            key: ResourceKey::parse(key).expect("a valid resource key"),
            resource_type: ResourceType::parse("blueprint").expect("a valid type"),
            version: semver(version),
            content: Document::new(json).expect("a small document"),
            provenance: None,
            created_at: epoch(),
            created_by: operator("key-ops"),
        }
    }

    /// A new listing of `org` (its first version is `latest`), granted as given.
    pub fn listing(&self, org: &Org, key: &str, latest: &str, grants: Vec<Grant>) -> Listing {
        Listing {
            id: ListingId::from_uuid(self.id()),
            org_id: org.id,
            key: ResourceKey::parse(key).expect("a valid listing key"),
            title: name(&format!("Listing {key}")),
            description: Description::parse("A contract listing.").expect("a description"),
            resource_type: ResourceType::parse("blueprint").expect("a valid type"),
            scope: ListingScope::Org,
            grants,
            latest: semver(latest),
            created_at: epoch(),
            updated_at: epoch(),
            version: 1,
        }
    }

    /// Version `version` of `listing` with `json` as content.
    pub fn listing_version(&self, listing: &Listing, version: &str, json: &str) -> ListingVersion {
        ListingVersion {
            listing_id: listing.id,
            org_id: listing.org_id,
            version: semver(version),
            content: Document::new(json).expect("a small document"),
            published_at: epoch(),
            published_by: operator("key-ops"),
        }
    }

    /// `ns` pinning `listing` at `version`.
    pub fn install(&self, ns: &Namespace, listing: &Listing, version: &str) -> Install {
        Install {
            id: InstallId::from_uuid(self.id()),
            org_id: ns.org_id,
            tenant_id: ns.tenant_id,
            namespace_id: ns.id,
            listing_id: listing.id,
            listing_org_id: listing.org_id,
            listing_key: listing.key.clone(),
            pinned: semver(version),
            installed_at: epoch(),
            updated_at: epoch(),
            version: 1,
        }
    }

    pub fn resource_audit(&self, r: &Resource) -> AuditRecord {
        self.record(
            AuditAction::ResourceCreated,
            TargetKind::Resource,
            r.id.as_uuid(),
            r.org_id,
            Some(r.tenant_id),
        )
    }

    pub fn listing_audit(&self, l: &Listing, action: AuditAction) -> AuditRecord {
        self.record(action, TargetKind::Listing, l.id.as_uuid(), l.org_id, None)
    }

    pub fn install_audit(&self, i: &Install, action: AuditAction) -> AuditRecord {
        self.record(
            action,
            TargetKind::Install,
            i.id.as_uuid(),
            i.org_id,
            Some(i.tenant_id),
        )
    }

    /// The audit record of a change to an org, with a request id and one change.
    pub fn org_audit(&self, org: &Org, action: AuditAction) -> AuditRecord {
        self.record(action, TargetKind::Org, org.id.as_uuid(), org.id, None)
    }

    pub fn tenant_audit(&self, tenant: &Tenant, action: AuditAction) -> AuditRecord {
        self.record(
            action,
            TargetKind::Tenant,
            tenant.id.as_uuid(),
            tenant.org_id,
            Some(tenant.id),
        )
    }

    pub fn namespace_audit(&self, ns: &Namespace, action: AuditAction) -> AuditRecord {
        self.record(
            action,
            TargetKind::Namespace,
            ns.id.as_uuid(),
            ns.org_id,
            Some(ns.tenant_id),
        )
    }

    pub(crate) fn record(
        &self,
        action: AuditAction,
        target_kind: TargetKind,
        target_id: Uuid,
        org_id: OrgId,
        tenant_id: Option<TenantId>,
    ) -> AuditRecord {
        let id = self.id();
        AuditRecord {
            id: AuditId::from_uuid(id),
            at: epoch(),
            actor: operator("key-ops"),
            action,
            target_kind,
            target_id,
            org_id,
            tenant_id,
            request_id: Some(format!("req-{id}")),
            details: AuditDetails::Clear {
                reason: Some(reason("contract case")),
                changes: vec![Change {
                    field: "name",
                    from: Some("before".to_owned()),
                    to: Some("after".to_owned()),
                }],
            },
        }
    }

    /// An org key of `org`, minted in the real format, every field filled in.
    pub fn org_api_key(&self, org: &Org, name: &str) -> ApiKey {
        let access = Access {
            role: None,
            scopes: Scopes::NONE,
            resources: None,
        };
        self.api_key(org.id, KeyOwner::Org, KeyMode::Org, name, access)
    }

    /// A key of namespace `ns` in its mode, with an explicit scope list and a
    /// resource restriction, every field filled in.
    pub fn namespace_api_key(&self, ns: &Namespace, name: &str) -> ApiKey {
        let owner = KeyOwner::Namespace {
            tenant_id: ns.tenant_id,
            namespace_id: ns.id,
        };
        let access = Access {
            role: None,
            scopes: [
                Scope::TenantRead,
                Scope::ResourcesRead,
                Scope::ResourcesWrite,
            ]
            .into_iter()
            .collect(),
            resources: Some(vec!["standard_nda".to_owned(), "msa".to_owned()]),
        };
        self.api_key(ns.org_id, owner, ns.mode.into(), name, access)
    }

    fn api_key(
        &self,
        org_id: OrgId,
        owner: KeyOwner,
        mode: KeyMode,
        name_: &str,
        access: Access,
    ) -> ApiKey {
        let minted = KeyPrefix::default().mint(mode, &self.entropy);
        ApiKey {
            id: ApiKeyId::from_uuid(self.id()),
            org_id,
            owner,
            mode,
            name: name(name_),
            display: minted.display,
            hash: minted.hash,
            access,
            expires_at: Some(at(60 * 24 * 365)),
            last_used_at: Some(at(2)),
            revoked_at: None,
            rotated_from: None,
            created_at: epoch(),
            created_by: operator("key-ops"),
            version: 1,
        }
    }

    /// A rotation of `old` at `now`: the next version of `old`, revoked at once,
    /// and its replacement with a new secret, the same owner, name and access.
    pub fn rotation(&self, old: &ApiKey, now: DateTime<Utc>) -> (ApiKey, ApiKey) {
        let fresh = self.api_key(
            old.org_id,
            old.owner,
            old.mode,
            old.name.as_str(),
            old.access.clone(),
        );
        let new = ApiKey {
            last_used_at: None,
            rotated_from: Some(old.id),
            created_at: now,
            ..fresh
        };
        (revoked(old, now), new)
    }

    /// The audit record of a change to an API key.
    pub fn key_audit(&self, key: &ApiKey, action: AuditAction) -> AuditRecord {
        self.record(
            action,
            TargetKind::ApiKey,
            key.id.as_uuid(),
            key.org_id,
            key.tenant_id(),
        )
    }

    /// A tenant with namespaces of the given keys and its provisioning record.
    pub fn provisioning(&self, org: &Org, key: &str, namespaces: &[&str]) -> Provisioning {
        let tenant = self.tenant(org, key);
        let namespaces = namespaces
            .iter()
            .map(|k| self.namespace(&tenant, k))
            .collect();
        let audit = self.tenant_audit(&tenant, AuditAction::TenantProvisioned);
        let data_key = self.wrapped_key(&tenant, 1);
        Provisioning {
            tenant,
            namespaces,
            keys: Vec::new(),
            data_key,
            audit,
        }
    }

    /// A stand-in for a tenant's data key wrapped by KEK version `version`: an
    /// envelope of the right shape whose bytes tell tenants and versions
    /// apart. Stores never unwrap keys, so it need not open.
    pub fn wrapped_key(&self, tenant: &Tenant, version: u32) -> WrappedKey {
        let mut ciphertext = tenant.id.as_uuid().as_bytes().to_vec();
        ciphertext.extend_from_slice(&version.to_be_bytes());
        WrappedKey::new(
            KekId::parse("fixture-kek").expect("a valid KEK id"),
            KekVersion::new(version).expect("a version above 0"),
            ciphertext,
        )
    }

    /// A secret of `tenant` at version 1, sealed bytes derived from `value`
    /// (stores treat them as opaque).
    pub fn secret(&self, tenant: &Tenant, name: &str, value: &str) -> StoredSecret {
        let mut sealed = vec![0x5e; 12];
        sealed.extend(value.bytes().map(|b| b ^ 0xa5));
        sealed.extend_from_slice(&[0x7a; 16]);
        StoredSecret {
            id: self.id(),
            org_id: tenant.org_id,
            tenant_id: tenant.id,
            name: SecretName::parse(name).expect("a valid secret name"),
            sealed,
            created_at: epoch(),
            updated_at: epoch(),
            updated_by: operator("secret-writer"),
            version: 1,
        }
    }

    pub fn secret_audit(&self, secret: &StoredSecret, action: AuditAction) -> AuditRecord {
        self.record(
            action,
            TargetKind::Secret,
            secret.id,
            secret.org_id,
            Some(secret.tenant_id),
        )
    }
}

/// A spec digest derived from `id`, so every fixture tenant has its own.
fn digest(id: Uuid) -> SpecDigest {
    let mut bytes = [0; 32];
    bytes[..16].copy_from_slice(id.as_bytes());
    bytes[16..].copy_from_slice(id.as_bytes());
    SpecDigest::from_bytes(bytes)
}

/// `minutes` after [`epoch`].
pub fn semver(raw: &str) -> Semver {
    Semver::parse(raw).expect("a valid version")
}

/// A grant to every namespace of `org`.
pub fn grant_all(org: &Org) -> Grant {
    Grant {
        org_id: org.id,
        namespaces: NamespaceSelector::All,
    }
}

/// A grant to the namespaces of `org` with these keys.
pub fn grant_keys(org: &Org, keys: &[&str]) -> Grant {
    Grant {
        org_id: org.id,
        namespaces: NamespaceSelector::Keys(keys.iter().map(|k| namespace_key(k)).collect()),
    }
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    epoch() + Duration::minutes(minutes)
}

/// The next version of `tenant` with another name: what an update writes.
pub fn renamed(tenant: &Tenant, to: &str) -> Tenant {
    Tenant {
        name: name(to),
        updated_at: tenant.updated_at + Duration::minutes(1),
        version: tenant.version + 1,
        ..tenant.clone()
    }
}

/// The next version of `tenant` in `status`, moved there at `changed_at`.
pub fn moved(tenant: &Tenant, status: TenantStatus, changed_at: DateTime<Utc>) -> Tenant {
    Tenant {
        lifecycle: Lifecycle {
            status,
            changed_at,
            changed_by: operator("key-ops"),
            reason: Some(reason("contract case")),
            retention_ends_at: None,
        },
        updated_at: changed_at,
        version: tenant.version + 1,
        ..tenant.clone()
    }
}

/// The next version of `tenant`, deactivated with retention ending at `ends`.
pub fn deactivated(tenant: &Tenant, ends: DateTime<Utc>) -> Tenant {
    let mut next = moved(tenant, TenantStatus::Deactivated, epoch());
    next.lifecycle.retention_ends_at = Some(ends);
    next
}

/// The next version of `tenant` as a tombstone: name purged to the key, no
/// owner, no metadata.
pub fn tombstone(tenant: &Tenant) -> Tenant {
    Tenant {
        name: name(tenant.key.as_str()),
        owner: None,
        metadata: Metadata::default(),
        ..moved(tenant, TenantStatus::Deleted, at(60))
    }
}

/// Where a listing in `sort` order resumes after `tenant`: what the cursor of a
/// page ending on it decodes to.
pub fn position_after(sort: TenantSort, tenant: &Tenant) -> Position {
    Position {
        order: sort.as_str().to_owned(),
        id: tenant.id.as_uuid(),
        text: sort.by_name().then(|| tenant.name.as_str().to_owned()),
    }
}

/// The next version of `key`, revoked at `at`.
pub fn revoked(key: &ApiKey, at: DateTime<Utc>) -> ApiKey {
    ApiKey {
        revoked_at: Some(at),
        version: key.version + 1,
        ..key.clone()
    }
}

/// Reproducible "entropy" for minting API keys in the real format: each fill
/// starts a stream from a counter (so every key one source mints differs) and
/// stretches it with a xorshift generator (so the bytes look random enough to
/// pass the format's rejection sampling). Predictable by design: tests only.
#[derive(Debug, Default)]
pub struct FixedEntropy {
    fills: AtomicU64,
}

impl SecretSource for FixedEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let n = self.fills.fetch_add(1, Ordering::Relaxed);
        // An odd multiplier maps every counter value to a distinct, nonzero state
        // (xorshift never leaves zero, so zero must be avoided).
        let mut state = (n + 1).wrapping_mul(0x9E6C_63D0_676A_9A99);
        for byte in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state.to_be_bytes()[0];
        }
    }
}
