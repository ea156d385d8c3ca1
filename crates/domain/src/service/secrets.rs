//! Tenant secrets (envelope encryption, docs/security.md).
//!
//! A secret's value is sealed with its tenant's data key (AES-256-GCM, with the
//! tenant id and the secret's name as associated data) before it reaches a
//! store; the data key is stored wrapped by the KMS and unwrapped through
//! [`crate::kms::DataKeys`].
//!
//! Who may do what, for a namespace key (org keys and the platform admin
//! manage every secret of their tenants): reading needs `secrets:read`, which
//! shows names, dates and versions and never a character of a value;
//! revealing a value needs `secrets:reveal` as well, and writing or deleting
//! one needs `secrets:reveal`; both only from a live key that is not
//! restricted to some resources (a secret belongs to the whole tenant, and its
//! values are live credentials). Both scopes are in the `admin` role only.
//! Every reveal is audited.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::errors::SecretError;
use super::retry::{retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::api_key::KeyMode;
use crate::audit::{Actor, AuditAction, Change, Context, TargetKind};
use crate::auth::{NamespacePrincipal, Principal};
use crate::ids::{OrgRef, TenantRef};
use crate::kms::{DataKey, EncryptionContext, KmsError, Sealed, open, seal};
use crate::lifecycle::TenantStatus;
use crate::page::{Cursor, Limit, Page, fetch_page_by_text};
use crate::ports::DataScope;
use crate::scope::Scope;
use crate::secret::{SecretName, SecretValue, StoredSecret, legacy_secret_aad, secret_aad};
use crate::tenant::Tenant;

/// Whose secrets a call is about.
#[derive(Debug, Clone, Copy)]
pub enum SecretOwner<'a> {
    /// The calling namespace key's own tenant.
    Own,
    /// A tenant of an org, named by the org's side (org key or platform admin).
    Tenant {
        org: &'a OrgRef,
        tenant: &'a TenantRef,
    },
}

/// A secret as callers see it: metadata, the mask, and the value itself only
/// when revealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretView {
    pub id: Uuid,
    pub name: SecretName,
    /// Always `****`: no character of the value shows without a reveal.
    pub masked: String,
    /// `Some` only for a reveal.
    pub value: Option<SecretValue>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Actor,
    pub version: u64,
}

/// What a namespace key must be trusted with for a secrets call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Names, dates and versions: `secrets:read`.
    Metadata,
    /// A value, shown: `secrets:read` and `secrets:reveal`, from a live key
    /// restricted to no resources.
    Reveal,
    /// A value, written or deleted: `secrets:reveal`, from a live key
    /// restricted to no resources.
    Write,
}

/// The tenant a call works on, and the store scope it works in.
struct Place {
    scope: DataScope,
    tenant: Tenant,
}

/// The order name list cursors carry.
const NAME_ORDER: &str = "secret-name";

pub(super) fn kms_failed(e: KmsError) -> SecretError {
    SecretError::KmsUnavailable(e.to_string())
}

impl Tenancy {
    /// Stores (or replaces) a secret of a tenant, sealed with the tenant's data
    /// key. Returns the stored secret (masked) and whether it was new. A
    /// namespace key needs the trust of a reveal (module docs); the tenant
    /// must be active.
    pub async fn put_secret(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
        name: SecretName,
        value: SecretValue,
    ) -> Result<(SecretView, bool), SecretError> {
        let name = &name;
        let value = &value;
        retry_on_stale(
            || SecretError::Unavailable("too many concurrent writes of one secret".into()),
            || async move {
                let place = self.writable_place(ctx, owner).await?;
                let tenant = place.tenant.id;
                let context = EncryptionContext::Tenant(tenant);
                let (key, new_data_key) =
                    match self.ports.data_keys.data_key(&place.scope, tenant).await? {
                        Some(wrapped) => (
                            self.data_keys
                                .unwrap(&wrapped, &context)
                                .await
                                .map_err(kms_failed)?,
                            None,
                        ),
                        // Provisioned before tenants had data keys: mint one now.
                        None => {
                            let (key, wrapped) = self
                                .data_keys
                                .generate(&context)
                                .await
                                .map_err(kms_failed)?;
                            (key, Some(wrapped))
                        }
                    };
                let current = self
                    .ports
                    .tenant_secrets
                    .get_secret(&place.scope, tenant, name)
                    .await?;
                let now = self.now();
                let version = current.as_ref().map_or(1, |current| current.version + 1);
                let aad = secret_aad(tenant, name, version);
                let sealed = seal(
                    &key,
                    value.expose().as_bytes(),
                    &aad,
                    self.ports.entropy.as_ref(),
                );
                let secret = StoredSecret {
                    id: current
                        .as_ref()
                        .map_or_else(|| self.new_id(), |current| current.id),
                    org_id: place.tenant.org_id,
                    tenant_id: tenant,
                    name: name.clone(),
                    sealed: sealed.to_bytes(),
                    created_at: current.as_ref().map_or(now, |current| current.created_at),
                    updated_at: now,
                    updated_by: ctx.actor(),
                    version,
                };
                let mut audit = self.audit(
                    ctx,
                    now,
                    secret_subject(&secret, AuditAction::SecretWritten, current.as_ref()),
                );
                audit.seal(&key, self.ports.entropy.as_ref());
                let result = self
                    .ports
                    .tenant_secrets
                    .put_secret(&place.scope, &secret, new_data_key.clone(), &audit)
                    .await;
                let view = view(&secret, value, false);
                Ok(written(result, (view, current.is_none()))?)
            },
        )
        .await
    }

    /// A secret of a tenant, masked; with `reveal`, its value too, which needs
    /// the trust of a reveal for namespace keys (module docs) and writes an
    /// audit record of the disclosure.
    pub async fn get_secret(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
        name: &SecretName,
        reveal: bool,
    ) -> Result<SecretView, SecretError> {
        let needs = if reveal {
            Trust::Reveal
        } else {
            Trust::Metadata
        };
        let place = self.secret_place(ctx, owner, needs).await?;
        let tenant = place.tenant.id;
        let stored = if reveal {
            // The record names the secret by id: look it up first, then
            // disclose and audit in one store operation.
            let Some(found) = self
                .ports
                .tenant_secrets
                .get_secret(&place.scope, tenant, name)
                .await?
            else {
                return Err(SecretError::NotFound(name.clone()));
            };
            let mut audit = self.audit(
                ctx,
                self.now(),
                Subject {
                    action: AuditAction::SecretRevealed,
                    target_kind: TargetKind::Secret,
                    target_id: found.id,
                    org_id: found.org_id,
                    tenant_id: Some(tenant),
                    changes: Vec::new(),
                },
            );
            self.seal_audit(&place.scope, &mut audit).await?;
            self.ports
                .tenant_secrets
                .reveal_secret(&place.scope, tenant, name, &audit)
                .await?
        } else {
            self.ports
                .tenant_secrets
                .get_secret(&place.scope, tenant, name)
                .await?
        };
        let stored = stored.ok_or_else(|| SecretError::NotFound(name.clone()))?;
        let key = self.tenant_data_key(&place).await?;
        let value = open_secret(&key, &stored)?;
        Ok(view(&stored, &value, reveal))
    }

    /// A tenant's secrets in name order, masked.
    pub async fn list_secrets(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<SecretView>, SecretError> {
        let fetch = |after, n| async move {
            let place = self.secret_place(ctx, owner, Trust::Metadata).await?;
            let stored = self
                .ports
                .tenant_secrets
                .list_secrets(&place.scope, place.tenant.id, after, n)
                .await?;
            if stored.is_empty() {
                return Ok(Vec::new());
            }
            let key = self.tenant_data_key(&place).await?;
            stored
                .iter()
                .map(|s| open_secret(&key, s).map(|value| view(s, &value, false)))
                .collect::<Result<Vec<_>, _>>()
        };
        let parse = |text: &str| SecretName::parse(text).ok();
        fetch_page_by_text(NAME_ORDER, cursor, limit, parse, fetch, |v: &SecretView| {
            (v.name.as_str(), v.id)
        })
        .await
    }

    /// Deletes a secret of a tenant. A namespace key needs the trust of a
    /// reveal (module docs); the tenant must be active.
    pub async fn delete_secret(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
        name: &SecretName,
    ) -> Result<(), SecretError> {
        retry_on_stale(
            || SecretError::Unavailable("too many concurrent writes of one secret".into()),
            || async move {
                let place = self.writable_place(ctx, owner).await?;
                let tenant = place.tenant.id;
                let current = self
                    .ports
                    .tenant_secrets
                    .get_secret(&place.scope, tenant, name)
                    .await?
                    .ok_or_else(|| SecretError::NotFound(name.clone()))?;
                let mut audit = self.audit(
                    ctx,
                    self.now(),
                    Subject {
                        action: AuditAction::SecretDeleted,
                        target_kind: TargetKind::Secret,
                        target_id: current.id,
                        org_id: current.org_id,
                        tenant_id: Some(tenant),
                        changes: vec![Change {
                            field: "name",
                            from: Some(name.to_string()),
                            to: None,
                        }],
                    },
                );
                self.seal_audit(&place.scope, &mut audit).await?;
                let result = self
                    .ports
                    .tenant_secrets
                    .delete_secret(&place.scope, tenant, name, current.version, &audit)
                    .await;
                Ok(written(result, ())?)
            },
        )
        .await
    }

    /// The tenant a secrets call works on: the namespace key's own (trusted
    /// with `needs`), or one the caller manages. Deleted tenants have no secrets.
    /// The tenant a secret is written to or deleted from: it must be active.
    async fn writable_place(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
    ) -> Result<Place, SecretError> {
        let place = self.secret_place(ctx, owner, Trust::Write).await?;
        require_active(&place.tenant)?;
        Ok(place)
    }

    async fn secret_place(
        &self,
        ctx: &Context,
        owner: SecretOwner<'_>,
        needs: Trust,
    ) -> Result<Place, SecretError> {
        let (scope, tenant_ref, org) = match owner {
            SecretOwner::Own => {
                let Principal::Namespace(ns) = &ctx.principal else {
                    return Err(SecretError::NotANamespaceKey);
                };
                let scope = DataScope::Tenant {
                    org: ns.org_id,
                    tenant: ns.tenant_id,
                };
                self.check_trust(&scope, ns, needs).await?;
                (scope, TenantRef::Id(ns.tenant_id), ns.org_id)
            }
            SecretOwner::Tenant { org, tenant } => {
                let org = self
                    .find_org(ctx, org)
                    .await?
                    .ok_or(SecretError::OrgNotFound)?;
                (ctx.principal.scope_in(org.id), tenant.clone(), org.id)
            }
        };
        match self.ports.tenants.get_tenant(&scope, &tenant_ref).await? {
            Some(tenant)
                if tenant.org_id == org && tenant.lifecycle.status != TenantStatus::Deleted =>
            {
                Ok(Place { scope, tenant })
            }
            _ => Err(SecretError::TenantNotFound),
        }
    }

    /// Refuses a namespace key that is not trusted with `needs` (module
    /// docs): the scope checks first, then the resource restriction, and only
    /// then the key's mode, the one check that reads the store.
    async fn check_trust(
        &self,
        scope: &DataScope,
        ns: &NamespacePrincipal,
        needs: Trust,
    ) -> Result<(), SecretError> {
        if needs != Trust::Write && !ns.has(Scope::SecretsRead) {
            return Err(SecretError::MissingScope(Scope::SecretsRead));
        }
        if needs == Trust::Metadata {
            return Ok(());
        }
        if !ns.has(Scope::SecretsReveal) {
            return Err(SecretError::MissingScope(Scope::SecretsReveal));
        }
        if ns.resources.is_some() {
            return Err(SecretError::RestrictedKey);
        }
        // The principal does not carry the key's mode; the stored key does.
        match self.ports.keys.get_key(scope, ns.org_id, ns.key_id).await? {
            Some(key) if key.mode == KeyMode::Live => Ok(()),
            Some(_) => Err(SecretError::TestKey),
            // A key that authenticated this request is gone only with its
            // tenant.
            None => Err(SecretError::TenantNotFound),
        }
    }

    /// The tenant's data key, unwrapped (through the cache).
    async fn tenant_data_key(&self, place: &Place) -> Result<Arc<DataKey>, SecretError> {
        let tenant = place.tenant.id;
        let wrapped = self
            .ports
            .data_keys
            .data_key(&place.scope, tenant)
            .await?
            .ok_or_else(|| {
                SecretError::Unavailable("a tenant with secrets has no data key".into())
            })?;
        self.data_keys
            .unwrap(&wrapped, &EncryptionContext::Tenant(tenant))
            .await
            .map_err(kms_failed)
    }
}

fn require_active(tenant: &Tenant) -> Result<(), SecretError> {
    match tenant.lifecycle.status {
        TenantStatus::Active => Ok(()),
        other => Err(SecretError::TenantNotActive(other)),
    }
}

/// Opens a stored secret: sealed with its version bound in, or, for rows
/// written before that, in the legacy form without it.
fn open_secret(key: &DataKey, stored: &StoredSecret) -> Result<SecretValue, SecretError> {
    let undecryptable = || SecretError::Undecryptable(stored.name.clone());
    let sealed = Sealed::from_bytes(&stored.sealed).map_err(|_| undecryptable())?;
    let current = secret_aad(stored.tenant_id, &stored.name, stored.version);
    let plain = open(key, &sealed, &current)
        .or_else(|_| {
            open(
                key,
                &sealed,
                &legacy_secret_aad(stored.tenant_id, &stored.name),
            )
        })
        .map_err(|_| undecryptable())?;
    SecretValue::from_opened(&plain).ok_or_else(undecryptable)
}

fn view(stored: &StoredSecret, value: &SecretValue, reveal: bool) -> SecretView {
    SecretView {
        id: stored.id,
        name: stored.name.clone(),
        masked: value.masked(),
        value: reveal.then(|| value.clone()),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        updated_by: stored.updated_by.clone(),
        version: stored.version,
    }
}

/// The audit subject of a write: which secret, and its version change (never
/// its value).
fn secret_subject(
    secret: &StoredSecret,
    action: AuditAction,
    before: Option<&StoredSecret>,
) -> Subject {
    Subject {
        action,
        target_kind: TargetKind::Secret,
        target_id: secret.id,
        org_id: secret.org_id,
        tenant_id: Some(secret.tenant_id),
        changes: vec![Change {
            field: "version",
            from: before.map(|b| b.version.to_string()),
            to: Some(secret.version.to_string()),
        }],
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ids::OrgId;
    use crate::ports::SecretSource;

    struct Counter(Mutex<u8>);

    impl SecretSource for Counter {
        fn fill(&self, buf: &mut [u8]) {
            let mut n = self.0.lock().unwrap();
            for b in buf {
                *n = n.wrapping_add(1);
                *b = *n;
            }
        }
    }

    fn stored(sealed: Vec<u8>, version: u64) -> StoredSecret {
        StoredSecret {
            id: Uuid::from_u128(7),
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            tenant_id: crate::ids::TenantId::from_uuid(Uuid::from_u128(2)),
            name: SecretName::parse("smtp-password").unwrap(),
            sealed,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_by: Actor::platform_admin(),
            version,
        }
    }

    /// A sealed value copied onto another version of the same secret (an old
    /// value replayed over a newer one) must not open. On the old code the
    /// associated data held only the tenant and the name, so it opened
    /// (`assertion failed: open_secret(&key, &stored(sealed, 2)).is_err()`).
    #[test]
    fn a_sealed_secret_moved_to_another_version_does_not_open() {
        let source = Counter(Mutex::new(0));
        let key = DataKey::generate(&source);
        let first = stored(Vec::new(), 1);
        let sealed = seal(
            &key,
            b"old password",
            &secret_aad(first.tenant_id, &first.name, 1),
            &source,
        )
        .to_bytes();
        assert_eq!(
            open_secret(&key, &stored(sealed.clone(), 1))
                .unwrap()
                .expose(),
            "old password"
        );
        assert!(open_secret(&key, &stored(sealed, 2)).is_err());
    }

    /// Rows sealed before the version was bound in keep opening, at whatever
    /// version they were stored.
    #[test]
    fn a_secret_sealed_in_the_legacy_form_still_opens() {
        let source = Counter(Mutex::new(0));
        let key = DataKey::generate(&source);
        let row = stored(Vec::new(), 3);
        let sealed = seal(
            &key,
            b"stored long ago",
            &legacy_secret_aad(row.tenant_id, &row.name),
            &source,
        )
        .to_bytes();
        assert_eq!(
            open_secret(&key, &stored(sealed, 3)).unwrap().expose(),
            "stored long ago"
        );
    }
}
