//! Who is calling (the [`Principal`]) and how a presented key is judged
//! ([`VerifyCode`], docs/api.md §3). Judging is a pure function of the stored key, its
//! tenant's state and the time, so every instance and every cache agrees.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::api_key::{Access, ApiKey, KeyOwner};
use crate::audit::{Actor, ActorKind};
use crate::ids::{ApiKeyId, NamespaceId, OrgId, TenantId};
use crate::lifecycle::TenantStatus;
use crate::ports::DataScope;
use crate::scope::{Scope, Scopes};
use crate::settings::IpAllowlist;
use crate::slug::{NamespaceKey, TenantKey};

/// The outcome of verifying a key, as `POST /v1/keys/verify` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyCode {
    Valid,
    NotFound,
    Malformed,
    Revoked,
    Expired,
    TenantSuspended,
    TenantDeactivated,
    RateLimited,
    /// The key's tenant lists the networks its keys may be used from
    /// (`ipAllowlist`), and the client is not in one of them.
    IpNotAllowed,
}

impl VerifyCode {
    pub const ALL: [Self; 9] = [
        Self::Valid,
        Self::NotFound,
        Self::Malformed,
        Self::Revoked,
        Self::Expired,
        Self::TenantSuspended,
        Self::TenantDeactivated,
        Self::RateLimited,
        Self::IpNotAllowed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::NotFound => "not_found",
            Self::Malformed => "malformed",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantDeactivated => "tenant_deactivated",
            Self::RateLimited => "rate_limited",
            Self::IpNotAllowed => "ip_not_allowed",
        }
    }
}

/// The tenant side of a key lookup: enough to judge the key and to answer who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantBrief {
    pub id: TenantId,
    pub key: TenantKey,
    pub status: TenantStatus,
    /// The networks the tenant's keys may be used from (its security
    /// settings' `ipAllowlist`); `None` when it restricts nothing.
    pub ip_allowlist: Option<IpAllowlist>,
}

/// The namespace side of a key lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceBrief {
    pub id: NamespaceId,
    pub key: NamespaceKey,
}

/// A stored key with its tenant and namespace, as one lookup by hash returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    pub key: ApiKey,
    /// `None` for org keys.
    pub tenant: Option<TenantBrief>,
    /// `None` for org keys.
    pub namespace: Option<NamespaceBrief>,
}

impl KeyLookup {
    /// Judges the key at `now`, presented by `client` (`None`: from an
    /// unknown address). A deactivated tenant's keys are gone for good
    /// whatever else is true of them; a suspended tenant's keys are refused but
    /// otherwise untouched, so they come back as they were on reactivation.
    /// A key that would be valid is refused last when its tenant has an IP
    /// allowlist that does not hold the client; an unknown client is outside
    /// every list.
    pub fn judge(&self, now: DateTime<Utc>, client: Option<IpAddr>) -> VerifyCode {
        let allowlist = self.tenant.as_ref().and_then(|t| t.ip_allowlist.as_ref());
        let status = self.tenant.as_ref().map(|t| t.status);
        if matches!(
            status,
            Some(TenantStatus::Deactivated | TenantStatus::Deleted)
        ) {
            VerifyCode::TenantDeactivated
        } else if self.key.revoked_at.is_some() {
            VerifyCode::Revoked
        } else if self.key.expires_at.is_some_and(|end| end <= now) {
            VerifyCode::Expired
        } else if status == Some(TenantStatus::Suspended) {
            VerifyCode::TenantSuspended
        } else if allowlist.is_some_and(|list| !client.is_some_and(|ip| list.allows(ip))) {
            VerifyCode::IpNotAllowed
        } else {
            VerifyCode::Valid
        }
    }

    /// The principal a valid key stands for.
    pub fn principal(&self) -> Principal {
        let key = &self.key;
        match key.owner {
            KeyOwner::Org => Principal::Org {
                org_id: key.org_id,
                key_id: key.id,
                expires_at: key.expires_at,
            },
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => Principal::Namespace(NamespacePrincipal {
                org_id: key.org_id,
                tenant_id,
                namespace_id,
                key_id: key.id,
                scopes: key.access.scopes,
                resources: key.access.resources.clone(),
                expires_at: key.expires_at,
            }),
        }
    }
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The bootstrap token: everything.
    PlatformAdmin,
    /// An org key: its org and everything under it, until the key expires.
    Org {
        org_id: OrgId,
        key_id: ApiKeyId,
        /// When the calling key stops working; `None`: never.
        expires_at: Option<DateTime<Utc>>,
    },
    /// A namespace key: its namespace, within its scopes.
    Namespace(NamespacePrincipal),
    /// The platform's own background jobs.
    System(&'static str),
}

/// A namespace key's reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePrincipal {
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub namespace_id: NamespaceId,
    pub key_id: ApiKeyId,
    pub scopes: Scopes,
    /// `None`: every resource of the namespace.
    pub resources: Option<Vec<String>>,
    /// When the calling key stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl NamespacePrincipal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

impl Principal {
    /// The actor recorded in audit records.
    pub fn actor(&self) -> Actor {
        match self {
            Self::PlatformAdmin => Actor::platform_admin(),
            Self::Org { key_id, .. } => Actor {
                kind: ActorKind::OrgKey,
                id: key_id.to_string(),
            },
            Self::Namespace(ns) => Actor {
                kind: ActorKind::NamespaceKey,
                id: ns.key_id.to_string(),
            },
            Self::System(job) => Actor::system(job),
        }
    }

    /// Whether this principal may manage `org` and everything in it.
    pub fn manages_org(&self, org: OrgId) -> bool {
        match self {
            Self::PlatformAdmin | Self::System(_) => true,
            Self::Org { org_id, .. } => *org_id == org,
            Self::Namespace(_) => false,
        }
    }

    /// When the calling key stops working: `None` for a key that never expires,
    /// the platform admin and the platform's own jobs.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::PlatformAdmin | Self::System(_) => None,
            Self::Org { expires_at, .. } => *expires_at,
            Self::Namespace(ns) => ns.expires_at,
        }
    }

    /// Whether this caller's own authority covers a key with `access` that works
    /// until `expires_at`: the one rule for minting, rotating and revoking keys,
    /// so that no key can ever hand out, or take over, more than it holds.
    ///
    /// - The platform admin and the platform's jobs cover every key.
    /// - Every key covers only keys that expire no later than itself: a key that
    ///   expires covers no key that never does.
    /// - A namespace key also needs every scope of the other key, and a resource
    ///   restriction at least as narrow as its own: a restricted key covers no
    ///   unrestricted one.
    /// - Org keys hold no scopes; within their org (which the caller of this
    ///   check establishes) their expiry is their only bound.
    pub fn covers(&self, access: &Access, expires_at: Option<DateTime<Utc>>) -> bool {
        let outlived = match (self.expires_at(), expires_at) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs <= mine,
        };
        match self {
            Self::PlatformAdmin | Self::System(_) => true,
            Self::Org { .. } => outlived,
            Self::Namespace(me) => {
                let resources = match (&me.resources, &access.resources) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(mine), Some(theirs)) => theirs.iter().all(|r| mine.contains(r)),
                };
                outlived && resources && me.scopes.covers(access.scopes)
            }
        }
    }

    /// Whether this caller may rotate or revoke `key`: its own key always, any
    /// other key of its reach only when [`Self::covers`] says its authority covers
    /// that key. Its reach is its org for an org key and its namespace for a
    /// namespace key.
    pub fn may_replace(&self, key: &ApiKey) -> bool {
        let within_reach = match self {
            Self::PlatformAdmin | Self::System(_) => true,
            Self::Org { org_id, .. } => key.org_id == *org_id,
            Self::Namespace(me) => {
                key.org_id == me.org_id
                    && key.owner
                        == KeyOwner::Namespace {
                            tenant_id: me.tenant_id,
                            namespace_id: me.namespace_id,
                        }
            }
        };
        let own = match self {
            Self::Org { key_id, .. } => *key_id == key.id,
            Self::Namespace(me) => me.key_id == key.id,
            Self::PlatformAdmin | Self::System(_) => false,
        };
        within_reach && (own || self.covers(&key.access, key.expires_at))
    }

    /// The expiry of a key this caller mints when `requested` is asked for: never
    /// later than the caller's own, so a short-lived key cannot mint a longer-lived
    /// one (nothing asked for, or a later time, gets the caller's expiry).
    pub fn cap_expiry(&self, requested: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match (self.expires_at(), requested) {
            (None, requested) => requested,
            (Some(mine), None) => Some(mine),
            (Some(mine), Some(asked)) => Some(asked.min(mine)),
        }
    }

    pub fn is_platform_admin(&self) -> bool {
        matches!(self, Self::PlatformAdmin)
    }

    /// The widest data this principal may ever touch, as a store scope.
    pub fn base_scope(&self) -> DataScope {
        match self {
            Self::PlatformAdmin | Self::System(_) => DataScope::Platform,
            Self::Org { org_id, .. } => DataScope::Org(*org_id),
            Self::Namespace(ns) => DataScope::Tenant {
                org: ns.org_id,
                tenant: ns.tenant_id,
            },
        }
    }

    /// The scope for work inside `org`: no wider than the org, and no wider than
    /// the principal (a namespace key stays within its tenant).
    pub fn scope_in(&self, org: OrgId) -> DataScope {
        match self.base_scope() {
            DataScope::Platform | DataScope::Org(_) => DataScope::Org(org),
            tenant @ DataScope::Tenant { .. } => tenant,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::api_key::KeyHash;
    use crate::api_key::{Access, KeyMode};
    use crate::audit::Actor;
    use crate::scope::Role;
    use crate::values::Name;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(hours)
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn access(scopes: &[Scope], resources: Option<&[&str]>) -> Access {
        Access {
            role: None,
            scopes: scopes.iter().copied().collect(),
            resources: resources.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn namespace_key(
        scopes: &[Scope],
        resources: Option<&[&str]>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Principal {
        Principal::Namespace(NamespacePrincipal {
            org_id: OrgId::from_uuid(id(1)),
            tenant_id: TenantId::from_uuid(id(2)),
            namespace_id: NamespaceId::from_uuid(id(3)),
            key_id: ApiKeyId::from_uuid(id(4)),
            scopes: scopes.iter().copied().collect(),
            resources: resources.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
            expires_at,
        })
    }

    fn org_key(expires_at: Option<DateTime<Utc>>) -> Principal {
        Principal::Org {
            org_id: OrgId::from_uuid(id(1)),
            key_id: ApiKeyId::from_uuid(id(5)),
            expires_at,
        }
    }

    #[test]
    fn a_caller_covers_a_key_only_within_its_scopes_resources_and_expiry() {
        use Scope::{KeysRead, KeysWrite, TenantRead};
        let all = Role::Admin.scopes();
        let all: Vec<Scope> = all.iter().collect();
        let writer = namespace_key(&[KeysRead, KeysWrite], Some(&["a", "b"]), Some(at(2)));
        // (case, caller, the other key's access and expiry, covered)
        type Case = (&'static str, Principal, Access, Option<DateTime<Utc>>, bool);
        let cases: Vec<Case> = vec![
            (
                "admin token, anything",
                Principal::PlatformAdmin,
                access(&all, None),
                None,
                true,
            ),
            (
                "system job, anything",
                Principal::System("retention"),
                access(&all, None),
                None,
                true,
            ),
            (
                "org key, anything",
                org_key(None),
                access(&all, None),
                None,
                true,
            ),
            (
                "expiring org key, shorter",
                org_key(Some(at(2))),
                access(&all, None),
                Some(at(2)),
                true,
            ),
            (
                "expiring org key, longer",
                org_key(Some(at(2))),
                access(&[], None),
                Some(at(3)),
                false,
            ),
            (
                "expiring org key, forever",
                org_key(Some(at(2))),
                access(&[], None),
                None,
                false,
            ),
            (
                "writer, same",
                writer.clone(),
                access(&[KeysRead, KeysWrite], Some(&["b", "a"])),
                Some(at(2)),
                true,
            ),
            (
                "writer, fewer",
                writer.clone(),
                access(&[KeysRead], Some(&["a"])),
                Some(at(1)),
                true,
            ),
            (
                "writer, no resources",
                writer.clone(),
                access(&[], Some(&[])),
                Some(at(1)),
                true,
            ),
            (
                "writer, another scope",
                writer.clone(),
                access(&[TenantRead], Some(&["a"])),
                Some(at(1)),
                false,
            ),
            (
                "writer, another resource",
                writer.clone(),
                access(&[KeysRead], Some(&["c"])),
                Some(at(1)),
                false,
            ),
            (
                "writer, every resource",
                writer.clone(),
                access(&[KeysRead], None),
                Some(at(1)),
                false,
            ),
            (
                "writer, longer",
                writer.clone(),
                access(&[KeysRead], Some(&["a"])),
                Some(at(3)),
                false,
            ),
            (
                "writer, forever",
                writer.clone(),
                access(&[KeysRead], Some(&["a"])),
                None,
                false,
            ),
            (
                "admin key, admin key",
                namespace_key(&all, None, None),
                access(&all, None),
                None,
                true,
            ),
        ];
        for (case, caller, target, expires_at, covered) in cases {
            assert_eq!(caller.covers(&target, expires_at), covered, "{case}");
        }
    }

    fn stored(
        owner: KeyOwner,
        key_id: u128,
        access: Access,
        expires_at: Option<DateTime<Utc>>,
    ) -> ApiKey {
        ApiKey {
            id: ApiKeyId::from_uuid(id(key_id)),
            org_id: OrgId::from_uuid(id(1)),
            owner,
            mode: KeyMode::Live,
            name: Name::parse("k").unwrap(),
            display: "tny_live_abc".to_owned(),
            hash: KeyHash::of("k"),
            access,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            rotated_from: None,
            created_at: at(0),
            created_by: Actor::platform_admin(),
            version: 1,
        }
    }

    #[test]
    fn a_key_may_replace_itself_and_what_it_covers_within_its_reach_only() {
        let here = KeyOwner::Namespace {
            tenant_id: TenantId::from_uuid(id(2)),
            namespace_id: NamespaceId::from_uuid(id(3)),
        };
        let elsewhere = KeyOwner::Namespace {
            tenant_id: TenantId::from_uuid(id(2)),
            namespace_id: NamespaceId::from_uuid(id(9)),
        };
        let me = namespace_key(&[Scope::KeysWrite], Some(&["a"]), Some(at(1)));
        let narrow = access(&[Scope::KeysWrite], Some(&["a"]));
        // Itself, even as stored after a rotation shortened it: always.
        assert!(me.may_replace(&stored(here, 4, narrow.clone(), Some(at(1)))));
        assert!(me.may_replace(&stored(here, 4, access(&[], None), None)));
        assert!(me.may_replace(&stored(here, 6, narrow.clone(), Some(at(1)))));
        assert!(!me.may_replace(&stored(here, 6, narrow.clone(), Some(at(2)))));
        assert!(!me.may_replace(&stored(elsewhere, 6, narrow.clone(), Some(at(1)))));
        assert!(!me.may_replace(&stored(KeyOwner::Org, 6, access(&[], None), Some(at(1)))));
        let org = org_key(Some(at(1)));
        assert!(org.may_replace(&stored(here, 6, access(&[], None), Some(at(1)))));
        assert!(org.may_replace(&stored(KeyOwner::Org, 5, access(&[], None), Some(at(1)))));
        assert!(!org.may_replace(&stored(KeyOwner::Org, 6, access(&[], None), None)));
        let other_org = ApiKey {
            org_id: OrgId::from_uuid(id(7)),
            ..stored(KeyOwner::Org, 6, access(&[], None), Some(at(1)))
        };
        assert!(!org.may_replace(&other_org));
        assert!(Principal::PlatformAdmin.may_replace(&other_org));
    }

    #[test]
    fn a_minted_key_gets_at_most_the_callers_expiry() {
        let cases = [
            (None, None, None),
            (None, Some(at(5)), Some(at(5))),
            (Some(at(2)), None, Some(at(2))),
            (Some(at(2)), Some(at(5)), Some(at(2))),
            (Some(at(2)), Some(at(1)), Some(at(1))),
        ];
        for (mine, asked, gets) in cases {
            assert_eq!(org_key(mine).cap_expiry(asked), gets, "{mine:?} {asked:?}");
            let ns = namespace_key(&[], None, mine);
            assert_eq!(ns.cap_expiry(asked), gets, "{mine:?} {asked:?}");
        }
        assert_eq!(Principal::PlatformAdmin.cap_expiry(None), None);
    }
}
