//! Whose keys a key may mint, rotate and revoke: only keys its own authority
//! covers (scopes, resources, expiry) or itself, and never a key that outlives it.

use chrono::{DateTime, Duration, Utc};
use domain::{
    ApiKey, ApiKeyError, Context, IssuedKey, KeyLocation, NewApiKey, Org, OrgRef, ResourceKey,
    Role, Scope, Scopes, TenantRef, VerifyCode,
};

use crate::support::{App, admin, name, namespace_key, spec, tenant_key};

/// An org with tenant `acme` and its namespace `acme-live`.
struct Place {
    app: App,
    org: Org,
    /// The admin key provisioning minted.
    admin_key: IssuedKey,
}

async fn place() -> Place {
    let app = App::new();
    let org = app.org("signstack").await;
    let admin_key = app
        .provision(&org, spec("acme"))
        .await
        .api_key
        .expect("a first key");
    Place {
        app,
        org,
        admin_key,
    }
}

fn new_key(
    role: Option<Role>,
    scopes: &[Scope],
    resources: Option<&[&str]>,
    expires_at: Option<DateTime<Utc>>,
) -> NewApiKey {
    NewApiKey {
        name: name("worker"),
        role,
        scopes: role.is_none().then(|| scopes.iter().copied().collect()),
        resources: resources.map(|r| {
            r.iter()
                .map(|k| ResourceKey::parse(k).expect("a resource key"))
                .collect()
        }),
        expires_at,
    }
}

impl Place {
    fn namespace(&self) -> KeyLocation {
        KeyLocation::Namespace {
            org: OrgRef::Id(self.org.id),
            tenant: TenantRef::Key(tenant_key("acme")),
            namespace: domain::NamespaceRef::Key(namespace_key("acme-live")),
        }
    }

    fn org_keys(&self) -> KeyLocation {
        KeyLocation::Org(OrgRef::Id(self.org.id))
    }

    fn in_an_hour(&self) -> DateTime<Utc> {
        self.app.now() + Duration::hours(1)
    }

    /// Issues `new` at `location` with the admin token.
    async fn issue(&self, location: &KeyLocation, new: NewApiKey) -> IssuedKey {
        self.app
            .tenancy
            .issue_key(&admin(), location, new)
            .await
            .expect("issuing as the platform admin")
    }

    /// The caller a key's secret authenticates as.
    async fn caller(&self, key: &IssuedKey) -> Context {
        let verification = self
            .app
            .tenancy
            .verify(key.secret.expose(), None)
            .await
            .expect("verifying");
        assert_eq!(verification.code, VerifyCode::Valid);
        Context::new(verification.lookup.expect("a key").principal())
    }

    /// A key as stored now, but for its last use (which verifying it records).
    async fn stored(&self, key: &IssuedKey) -> ApiKey {
        let lookup = self
            .app
            .tenancy
            .verify(key.secret.expose(), None)
            .await
            .expect("verifying")
            .lookup
            .expect("a key");
        ApiKey {
            last_used_at: None,
            ..lookup.key.clone()
        }
    }

    async fn count(&self, location: &KeyLocation) -> usize {
        self.app
            .tenancy
            .list_keys(&admin(), location, None, Default::default())
            .await
            .expect("listing")
            .items
            .len()
    }
}

#[tokio::test]
async fn a_key_writer_of_one_resource_cannot_take_over_the_admin_key() {
    let p = place().await;
    let attacker = p
        .issue(
            &p.namespace(),
            new_key(
                None,
                &[Scope::KeysWrite],
                Some(&["doc_a"]),
                Some(p.in_an_hour()),
            ),
        )
        .await;
    let ctx = p.caller(&attacker).await;
    let admin_before = p.stored(&p.admin_key).await;
    let keys_before = p.count(&p.namespace()).await;

    let rotation = p
        .app
        .tenancy
        .rotate_key(
            &ctx,
            &KeyLocation::OwnNamespace,
            p.admin_key.key.id,
            Duration::days(30),
        )
        .await;
    assert_eq!(rotation.unwrap_err(), ApiKeyError::Escalation);
    let revocation = p
        .app
        .tenancy
        .revoke_key(&ctx, &KeyLocation::OwnNamespace, p.admin_key.key.id)
        .await;
    assert_eq!(revocation.unwrap_err(), ApiKeyError::Escalation);

    assert_eq!(p.stored(&p.admin_key).await, admin_before, "unchanged");
    assert_eq!(p.count(&p.namespace()).await, keys_before, "no key added");
}

#[tokio::test]
async fn a_restricted_short_lived_key_may_still_rotate_and_revoke_itself() {
    let p = place().await;
    let me = p
        .issue(
            &p.namespace(),
            new_key(
                None,
                &[Scope::KeysWrite],
                Some(&["doc_a"]),
                Some(p.in_an_hour()),
            ),
        )
        .await;
    let ctx = p.caller(&me).await;
    let rotated = p
        .app
        .tenancy
        .rotate_key(
            &ctx,
            &KeyLocation::OwnNamespace,
            me.key.id,
            Duration::zero(),
        )
        .await
        .expect("rotating one's own key");
    assert_eq!(rotated.key.access, me.key.access);
    assert_eq!(rotated.key.expires_at, Some(p.in_an_hour()));
    let ctx = p.caller(&rotated).await;
    let revoked = p
        .app
        .tenancy
        .revoke_key(&ctx, &KeyLocation::OwnNamespace, rotated.key.id)
        .await
        .expect("revoking one's own key");
    assert!(revoked.revoked_at.is_some());
}

#[tokio::test]
async fn an_expiring_org_key_reaches_only_keys_that_expire_no_later_than_itself() {
    let p = place().await;
    let org_key = p
        .issue(
            &p.org_keys(),
            new_key(None, &[], None, Some(p.in_an_hour())),
        )
        .await;
    let ctx = p.caller(&org_key).await;
    let forever = p.issue(&p.org_keys(), new_key(None, &[], None, None)).await;
    let longer = p
        .issue(
            &p.namespace(),
            new_key(
                Some(Role::Member),
                &[],
                None,
                Some(p.app.now() + Duration::days(1)),
            ),
        )
        .await;
    let tenancy = &p.app.tenancy;
    for (location, target) in [
        (p.org_keys(), &forever),
        (p.namespace(), &longer),
        (p.namespace(), &p.admin_key),
    ] {
        let rotation = tenancy
            .rotate_key(&ctx, &location, target.key.id, Duration::zero())
            .await;
        assert_eq!(rotation.unwrap_err(), ApiKeyError::Escalation);
        let revocation = tenancy.revoke_key(&ctx, &location, target.key.id).await;
        assert_eq!(revocation.unwrap_err(), ApiKeyError::Escalation);
        assert_eq!(p.stored(target).await, target.key, "unchanged");
    }
    let shorter = p
        .issue(
            &p.namespace(),
            new_key(Some(Role::Admin), &[], None, Some(p.in_an_hour())),
        )
        .await;
    let rotated = tenancy
        .rotate_key(&ctx, &p.namespace(), shorter.key.id, Duration::zero())
        .await
        .expect("an admin key that expires with the org key is covered");
    assert_eq!(rotated.key.expires_at, Some(p.in_an_hour()));
    assert_eq!(rotated.key.access.scopes, Scopes::all());
}

#[tokio::test]
async fn a_minted_key_never_outlives_its_minter() {
    let p = place().await;
    let hour = p.in_an_hour();
    let soon = p.app.now() + Duration::minutes(5);
    let namespace_minter = p
        .issue(
            &p.namespace(),
            new_key(Some(Role::Admin), &[], None, Some(hour)),
        )
        .await;
    let org_minter = p
        .issue(&p.org_keys(), new_key(None, &[], None, Some(hour)))
        .await;
    let cases = [
        (&namespace_minter, KeyLocation::OwnNamespace),
        (&org_minter, p.namespace()),
        (&org_minter, p.org_keys()),
    ];
    for (minter, location) in cases {
        let ctx = p.caller(minter).await;
        for (asked, gets) in [
            (None, hour),
            (Some(p.app.now() + Duration::days(365)), hour),
            (Some(soon), soon),
        ] {
            let minted = p
                .app
                .tenancy
                .issue_key(
                    &ctx,
                    &location,
                    new_key(Some(Role::Member), &[], None, asked),
                )
                .await
                .expect("issuing");
            assert_eq!(minted.key.expires_at, Some(gets), "{location:?} {asked:?}");
        }
    }
    // The platform admin sets no bound.
    let forever = p
        .issue(&p.namespace(), new_key(Some(Role::Member), &[], None, None))
        .await;
    assert_eq!(forever.key.expires_at, None);
}

#[tokio::test]
async fn a_tenant_provisioned_by_an_expiring_org_key_gets_a_first_key_that_expires_with_it() {
    let p = place().await;
    let org_key = p
        .issue(
            &p.org_keys(),
            new_key(None, &[], None, Some(p.in_an_hour())),
        )
        .await;
    let ctx = p.caller(&org_key).await;
    let provisioned = p
        .app
        .tenancy
        .provision(&ctx, &OrgRef::Id(p.org.id), spec("globex"))
        .await
        .expect("provisioning");
    let first = provisioned.api_key.expect("a first key");
    assert_eq!(first.key.expires_at, Some(p.in_an_hour()));
    // The platform admin's tenants get a first key that never expires.
    assert_eq!(p.admin_key.key.expires_at, None);
}
