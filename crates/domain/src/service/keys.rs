//! API key use cases: issue, list, revoke, rotate, and verification, the hot
//! path every request of every tenant goes through (docs/api.md §3).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::errors::ApiKeyError;
use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::api_key::{Access, ApiKey, KeyMode, KeyOwner, PlaintextKey};
use crate::audit::{AuditAction, Change, Context, TargetKind};
use crate::auth::{KeyLookup, Principal, VerifyCode};
use crate::ids::{ApiKeyId, NamespaceRef, OrgId, OrgRef, TenantRef};
use crate::lifecycle::TenantStatus;
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::DataScope;
use crate::scope::{Role, Scope, Scopes};
use crate::slug::ResourceKey;
use crate::values::{Name, check_list_len};

/// The longest grace period a rotation may give the old secret.
pub const MAX_GRACE_DAYS: i64 = 30;

/// A key to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub name: Name,
    /// For namespace keys: a role, or
    pub role: Option<Role>,
    /// an explicit scope list. Neither: `member`. Ignored for org keys.
    pub scopes: Option<Scopes>,
    /// Only these resources of the namespace (`None`: all).
    pub resources: Option<Vec<ResourceKey>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where keys live, as the caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// An org's own keys.
    Org(OrgRef),
    /// A namespace's keys, reached from the org side.
    Namespace {
        org: OrgRef,
        tenant: TenantRef,
        namespace: NamespaceRef,
    },
    /// The calling namespace key's own namespace.
    OwnNamespace,
}

/// A key just issued: the secret is here, and nowhere else, ever again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: PlaintextKey,
}

/// The verdict on a presented key.
#[derive(Debug, Clone)]
pub struct Verification {
    pub code: VerifyCode,
    /// What the key is, when it exists (whatever the verdict).
    pub lookup: Option<Arc<KeyLookup>>,
}

/// A location resolved and checked against the caller.
pub(super) struct Place {
    /// The data scope every store call for this place runs in.
    pub scope: DataScope,
    pub org_id: OrgId,
    pub owner: KeyOwner,
    pub mode: KeyMode,
    pub tenant_status: Option<TenantStatus>,
}

impl Tenancy {
    /// Judges a key presented by `client` (`None`: an unknown address, which
    /// a tenant's IP allowlist refuses). Malformed keys never reach the store.
    pub async fn verify(
        &self,
        raw: &str,
        client: Option<IpAddr>,
    ) -> Result<Verification, ApiKeyError> {
        let Ok(presented) = self.settings.key_prefix.check(raw) else {
            return Ok(Verification {
                code: VerifyCode::Malformed,
                lookup: None,
            });
        };
        let Some(lookup) = self.ports.keys.find_key(&presented.hash).await? else {
            return Ok(Verification {
                code: VerifyCode::NotFound,
                lookup: None,
            });
        };
        let now = self.now();
        let code = lookup.judge(now, client);
        if code == VerifyCode::Valid {
            self.ports.key_usage.key_used(lookup.key.id, now);
        }
        Ok(Verification {
            code,
            lookup: Some(lookup),
        })
    }

    /// Issues a key at `location`; the secret is in the result only. The key
    /// expires no later than the caller's own key, and the caller's authority
    /// must cover it ([`Principal::covers`]): `Escalation` otherwise.
    pub async fn issue_key(
        &self,
        ctx: &Context,
        location: &KeyLocation,
        new: NewApiKey,
    ) -> Result<IssuedKey, ApiKeyError> {
        let first = self.place(ctx, location, Scope::KeysWrite).await?;
        if new.expires_at.is_some_and(|e| e <= self.now()) {
            return Err(ApiKeyError::ExpiryInPast);
        }
        if let Some(resources) = &new.resources {
            check_list_len(resources.len(), Access::MAX_RESOURCES)
                .map_err(ApiKeyError::TooManyResources)?;
        }
        let access = match first.owner {
            KeyOwner::Org => Access {
                role: None,
                scopes: Scopes::NONE,
                resources: None,
            },
            KeyOwner::Namespace { .. } => namespace_access(&new),
        };
        // A minted key never outlives its minter; what it may do, the minter's
        // authority must cover (the same rule as for rotating and revoking).
        let expires_at = ctx.principal.cap_expiry(new.expires_at);
        if !ctx.principal.covers(&access, expires_at) {
            return Err(ApiKeyError::Escalation);
        }
        // The store re-checks, as it writes, that the namespace still exists and
        // its tenant is still active (`Stale` otherwise): decide again on a fresh read.
        // Each attempt takes the place the one before left it (the first read,
        // then the fresh read after a lost race); the futures are `Send`, so a
        // mutex, not a cell, passes it on.
        let next_place = Mutex::new(Some(first));
        let (new, access, next_place) = (&new, &access, &next_place);
        retry_on_stale(
            || {
                ApiKeyError::Unavailable(
                    "the namespace kept changing while a key was issued".into(),
                )
            },
            || {
                let place = next_place.lock().ok().and_then(|mut p| p.take());
                async move {
                    // Only a panic in an earlier attempt (a poisoned lock) leaves none.
                    let Some(place) = place else {
                        return Err(ApiKeyError::Unavailable("the key's place was lost".into()));
                    };
                    if let Some(status) = place.tenant_status.filter(|s| *s != TenantStatus::Active)
                    {
                        return Err(ApiKeyError::TenantNotActive(status));
                    }
                    let now = self.now();
                    let issued = self.mint(
                        ctx,
                        &place,
                        new.name.clone(),
                        access.clone(),
                        expires_at,
                        None,
                        now,
                    );
                    let mut audit = self.key_audit(
                        ctx,
                        now,
                        &issued.key,
                        AuditAction::ApiKeyCreated,
                        Vec::new(),
                    );
                    self.seal_audit(&place.scope, &mut audit).await?;
                    let result = self
                        .ports
                        .keys
                        .create_key(&place.scope, &issued.key, &audit)
                        .await;
                    let step = written(result, issued)?;
                    if let Step::Retry = step {
                        let fresh = self.place(ctx, location, Scope::KeysWrite).await?;
                        if let Ok(mut next) = next_place.lock() {
                            *next = Some(fresh);
                        }
                    }
                    Ok(step)
                }
            },
        )
        .await
    }

    /// The keys at `location` (never their secrets), oldest first.
    pub async fn list_keys(
        &self,
        ctx: &Context,
        location: &KeyLocation,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<ApiKey>, ApiKeyError> {
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let after = after.map(ApiKeyId::from_uuid);
            let place = self.place(ctx, location, Scope::KeysRead).await?;
            let keys = &self.ports.keys;
            Ok(keys
                .list_keys(&place.scope, place.org_id, place.owner, after, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |k: &ApiKey| k.id.as_uuid()).await
    }

    /// Revokes a key at `location` for good. Revoking a revoked key changes nothing.
    /// A caller may revoke its own key, or one its authority covers
    /// ([`Principal::covers`]): `Escalation` otherwise.
    pub async fn revoke_key(
        &self,
        ctx: &Context,
        location: &KeyLocation,
        id: ApiKeyId,
    ) -> Result<ApiKey, ApiKeyError> {
        let place = self.place(ctx, location, Scope::KeysWrite).await?;
        let place = &place;
        retry_on_stale(
            || ApiKeyError::Unavailable("too many concurrent updates".into()),
            || async move {
                let current = self.key_at(place, id).await?;
                if !ctx.principal.may_replace(&current) {
                    return Err(ApiKeyError::Escalation);
                }
                if current.revoked_at.is_some() {
                    return Ok(Step::Done(current));
                }
                let now = self.now();
                let next = ApiKey {
                    revoked_at: Some(now),
                    version: current.version + 1,
                    ..current.clone()
                };
                let mut audit =
                    self.key_audit(ctx, now, &next, AuditAction::ApiKeyRevoked, Vec::new());
                self.seal_audit(&place.scope, &mut audit).await?;
                let result = self
                    .ports
                    .keys
                    .update_key(&place.scope, &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }

    /// Replaces a key's secret: a new key with the same name and access, while
    /// the old secret keeps working for `grace` (zero: revoked at once). A caller
    /// may rotate its own key, or one its authority covers ([`Principal::covers`]):
    /// `Escalation` otherwise; the new key never outlives the caller.
    pub async fn rotate_key(
        &self,
        ctx: &Context,
        location: &KeyLocation,
        id: ApiKeyId,
        grace: Duration,
    ) -> Result<IssuedKey, ApiKeyError> {
        if grace < Duration::zero() || grace > Duration::days(MAX_GRACE_DAYS) {
            return Err(ApiKeyError::GraceOutOfRange {
                max_days: MAX_GRACE_DAYS,
            });
        }
        retry_on_stale(
            || ApiKeyError::Unavailable("too many concurrent updates".into()),
            || async move {
                let place = self.place(ctx, location, Scope::KeysWrite).await?;
                if let Some(status) = place.tenant_status.filter(|s| *s != TenantStatus::Active) {
                    return Err(ApiKeyError::TenantNotActive(status));
                }
                let current = self.key_at(&place, id).await?;
                // Without this, a key holding only `keys:write` could rotate the
                // namespace's admin key and walk away with an admin secret.
                if !ctx.principal.may_replace(&current) {
                    return Err(ApiKeyError::Escalation);
                }
                let now = self.now();
                if current.revoked_at.is_some() || current.expires_at.is_some_and(|e| e <= now) {
                    return Err(ApiKeyError::KeyInactive);
                }
                let issued = self.mint(
                    ctx,
                    &place,
                    current.name.clone(),
                    current.access.clone(),
                    current.expires_at,
                    Some(current.id),
                    now,
                );
                let old = if grace.is_zero() {
                    ApiKey {
                        revoked_at: Some(now),
                        ..current.clone()
                    }
                } else {
                    let grace_end = now + grace;
                    ApiKey {
                        expires_at: Some(
                            current.expires_at.map_or(grace_end, |e| e.min(grace_end)),
                        ),
                        ..current.clone()
                    }
                };
                let old = ApiKey {
                    version: current.version + 1,
                    ..old
                };
                let changes = vec![Change {
                    field: "replacedBy",
                    from: None,
                    to: Some(issued.key.id.to_string()),
                }];
                let mut audit = self.key_audit(ctx, now, &old, AuditAction::ApiKeyRotated, changes);
                self.seal_audit(&place.scope, &mut audit).await?;
                let result = self
                    .ports
                    .keys
                    .rotate_key(&place.scope, &old, &issued.key, &audit)
                    .await;
                Ok(written(result, issued)?)
            },
        )
        .await
    }

    async fn key_at(&self, place: &Place, id: ApiKeyId) -> Result<ApiKey, ApiKeyError> {
        match self
            .ports
            .keys
            .get_key(&place.scope, place.org_id, id)
            .await?
        {
            Some(key) if key.owner == place.owner => Ok(key),
            _ => Err(ApiKeyError::NotFound),
        }
    }

    /// Resolves `location` and checks that the caller may act there with `scope`.
    async fn place(
        &self,
        ctx: &Context,
        location: &KeyLocation,
        scope: Scope,
    ) -> Result<Place, ApiKeyError> {
        match location {
            KeyLocation::OwnNamespace => {
                let me = own(ctx, scope)?;
                let (tenant, ns) = self.namespace_of(ctx, me).await?;
                Ok(Place {
                    scope: ctx.principal.base_scope(),
                    org_id: me.org_id,
                    owner: KeyOwner::Namespace {
                        tenant_id: tenant.id,
                        namespace_id: ns.id,
                    },
                    mode: ns.mode.into(),
                    tenant_status: Some(tenant.lifecycle.status),
                })
            }
            KeyLocation::Org(org) => {
                let org = self.managed_org(ctx, org).await?;
                Ok(Place {
                    scope: ctx.principal.scope_in(org.id),
                    org_id: org.id,
                    owner: KeyOwner::Org,
                    mode: KeyMode::Org,
                    tenant_status: None,
                })
            }
            KeyLocation::Namespace {
                org,
                tenant,
                namespace,
            } => {
                let org = self.managed_org(ctx, org).await?;
                let data = ctx.principal.scope_in(org.id);
                let tenant = match self.ports.tenants.get_tenant(&data, tenant).await? {
                    Some(t)
                        if t.org_id == org.id && t.lifecycle.status != TenantStatus::Deleted =>
                    {
                        t
                    }
                    _ => return Err(ApiKeyError::TenantNotFound),
                };
                let ns = self
                    .ports
                    .namespaces
                    .get_namespace(&data, tenant.id, namespace)
                    .await?
                    .ok_or(ApiKeyError::NamespaceNotFound)?;
                Ok(Place {
                    scope: data,
                    org_id: org.id,
                    owner: KeyOwner::Namespace {
                        tenant_id: tenant.id,
                        namespace_id: ns.id,
                    },
                    mode: ns.mode.into(),
                    tenant_status: Some(tenant.lifecycle.status),
                })
            }
        }
    }

    async fn managed_org(
        &self,
        ctx: &Context,
        org: &OrgRef,
    ) -> Result<crate::org::Org, ApiKeyError> {
        match self.find_org(ctx, org).await? {
            Some(org) => Ok(org),
            _ => Err(ApiKeyError::OrgNotFound),
        }
    }

    /// The calling namespace key's tenant and namespace, read in its own scope.
    pub(super) async fn namespace_of(
        &self,
        ctx: &Context,
        me: &crate::auth::NamespacePrincipal,
    ) -> Result<(crate::tenant::Tenant, crate::namespace::Namespace), ApiKeyError> {
        let scope = ctx.principal.base_scope();
        let tenant = match self
            .ports
            .tenants
            .get_tenant(&scope, &TenantRef::Id(me.tenant_id))
            .await?
        {
            Some(t) if t.org_id == me.org_id => t,
            _ => return Err(ApiKeyError::TenantNotFound),
        };
        let ns = self
            .ports
            .namespaces
            .get_namespace(&scope, tenant.id, &NamespaceRef::Id(me.namespace_id))
            .await?
            .ok_or(ApiKeyError::NamespaceNotFound)?;
        Ok((tenant, ns))
    }

    /// Mints a key for `place`. Every key is minted here (issued, rotated, or
    /// provisioned as a tenant's first key), so this is where its expiry is capped
    /// at the caller's: a minted key never outlives its minter.
    #[allow(
        clippy::too_many_arguments,
        reason = "one private constructor, each argument a field"
    )]
    pub(super) fn mint(
        &self,
        ctx: &Context,
        place: &Place,
        name: Name,
        access: Access,
        expires_at: Option<DateTime<Utc>>,
        rotated_from: Option<ApiKeyId>,
        now: DateTime<Utc>,
    ) -> IssuedKey {
        let minted = self
            .settings
            .key_prefix
            .mint(place.mode, self.ports.entropy.as_ref());
        IssuedKey {
            key: ApiKey {
                id: ApiKeyId::from_uuid(self.new_id()),
                org_id: place.org_id,
                owner: place.owner,
                mode: place.mode,
                name,
                display: minted.display,
                hash: minted.hash,
                access,
                expires_at: ctx.principal.cap_expiry(expires_at),
                last_used_at: None,
                revoked_at: None,
                rotated_from,
                created_at: now,
                created_by: ctx.actor(),
                version: 1,
            },
            secret: minted.plaintext,
        }
    }

    fn key_audit(
        &self,
        ctx: &Context,
        now: DateTime<Utc>,
        key: &ApiKey,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> crate::audit::AuditRecord {
        self.audit(
            ctx,
            now,
            Subject {
                action,
                target_kind: TargetKind::ApiKey,
                target_id: key.id.as_uuid(),
                org_id: key.org_id,
                tenant_id: key.tenant_id(),
                changes,
            },
        )
    }
}

fn namespace_access(new: &NewApiKey) -> Access {
    let (role, scopes) = match (new.role, new.scopes) {
        (Some(role), _) => (Some(role), role.scopes()),
        (None, Some(scopes)) => (None, scopes),
        (None, None) => (Some(Role::Member), Role::Member.scopes()),
    };
    Access {
        role,
        scopes,
        resources: new
            .resources
            .as_ref()
            .map(|r| r.iter().map(|k| k.as_str().to_owned()).collect()),
    }
}

impl Tenancy {
    /// The calling namespace key's tenant (`tenant:read`).
    pub async fn own_tenant(&self, ctx: &Context) -> Result<crate::tenant::Tenant, ApiKeyError> {
        let me = own(ctx, Scope::TenantRead)?;
        Ok(self.namespace_of(ctx, me).await?.0)
    }

    /// The calling namespace key's namespace (`tenant:read`).
    pub async fn own_namespace(
        &self,
        ctx: &Context,
    ) -> Result<crate::namespace::Namespace, ApiKeyError> {
        let me = own(ctx, Scope::TenantRead)?;
        Ok(self.namespace_of(ctx, me).await?.1)
    }
}

/// The caller as a namespace key holding `scope`.
fn own(ctx: &Context, scope: Scope) -> Result<&crate::auth::NamespacePrincipal, ApiKeyError> {
    let Principal::Namespace(me) = &ctx.principal else {
        return Err(ApiKeyError::NotANamespaceKey);
    };
    if !me.has(scope) {
        return Err(ApiKeyError::MissingScope(scope));
    }
    Ok(me)
}
