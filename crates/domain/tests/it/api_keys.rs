//! API keys through the use cases: verification codes, the lifecycle's effect
//! on keys, rotation, scopes and escalation.

use std::sync::Arc;

use adapters_memory::{ManualClock, MemoryStore, SeededSecrets};
use chrono::Duration;
use domain::ports::MockApiKeyStore;
use domain::{
    ApiKeyError, Context, KeyLocation, LifecycleAction, Metadata, Name, NewApiKey, NewOrg, OrgKey,
    OrgRef, Ports, Principal, ProvisionTenant, Reason, Role, Scope, Scopes, Settings, Tenancy,
    TenantKey, TenantRef, VerifyCode,
};

struct Keys {
    tenancy: Tenancy,
    clock: Arc<ManualClock>,
    admin: Context,
    org: OrgRef,
}

fn tenancy_on(store: Arc<MemoryStore>, clock: Arc<ManualClock>) -> Tenancy {
    Tenancy::new(store.ports(clock), Settings::default())
}

async fn keys() -> Keys {
    let clock = Arc::new(ManualClock::default());
    let tenancy = tenancy_on(Arc::new(MemoryStore::new()), clock.clone());
    let admin = Context::platform_admin();
    let org = tenancy
        .create_org(
            &admin,
            NewOrg {
                key: OrgKey::parse("signstack").unwrap(),
                name: Name::parse("SignStack").unwrap(),
            },
        )
        .await
        .unwrap();
    Keys {
        tenancy,
        clock,
        admin,
        org: OrgRef::Id(org.id),
    }
}

impl Keys {
    /// Provisions `key` and returns its first (admin) key's secret.
    async fn tenant(&self, key: &str) -> String {
        let provisioned = self
            .tenancy
            .provision(
                &self.admin,
                &self.org,
                ProvisionTenant {
                    key: TenantKey::parse(key).unwrap(),
                    name: Name::parse(key).unwrap(),
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: Metadata::default(),
                    namespaces: vec![],
                },
            )
            .await
            .unwrap();
        provisioned.api_key.unwrap().secret.expose().to_owned()
    }

    async fn code(&self, secret: &str) -> VerifyCode {
        self.tenancy.verify(secret, None).await.unwrap().code
    }

    async fn move_tenant(&self, key: &str, action: LifecycleAction) {
        self.tenancy
            .transition(
                &self.admin,
                &self.org,
                &TenantRef::Key(TenantKey::parse(key).unwrap()),
                action,
                Reason::parse("test").unwrap(),
            )
            .await
            .unwrap();
    }

    async fn principal(&self, secret: &str) -> Context {
        let v = self.tenancy.verify(secret, None).await.unwrap();
        assert_eq!(v.code, VerifyCode::Valid);
        Context::new(v.lookup.unwrap().principal())
    }

    async fn issue(
        &self,
        ctx: &Context,
        role: Option<Role>,
        scopes: Option<Scopes>,
    ) -> Result<String, ApiKeyError> {
        self.tenancy
            .issue_key(
                ctx,
                &KeyLocation::OwnNamespace,
                NewApiKey {
                    name: Name::parse("worker").unwrap(),
                    role,
                    scopes,
                    resources: None,
                    expires_at: None,
                },
            )
            .await
            .map(|issued| issued.secret.expose().to_owned())
    }
}

#[tokio::test]
async fn every_verification_code_is_reached_by_the_situation_that_causes_it() {
    let k = keys().await;
    let valid = k.tenant("valid-co").await;
    let revoked = k.tenant("revoked-co").await;
    let suspended = k.tenant("suspended-co").await;
    let deactivated = k.tenant("deactivated-co").await;
    let expiring_owner = k.tenant("expiring-co").await;
    let owner_ctx = k.principal(&expiring_owner).await;
    let expiring = k
        .tenancy
        .issue_key(
            &owner_ctx,
            &KeyLocation::OwnNamespace,
            NewApiKey {
                name: Name::parse("short-lived").unwrap(),
                role: None,
                scopes: None,
                resources: None,
                expires_at: Some(
                    domain::ports::Clock::now(k.clock.as_ref()) + Duration::minutes(5),
                ),
            },
        )
        .await
        .unwrap();

    let revoked_id = k
        .tenancy
        .verify(&revoked, None)
        .await
        .unwrap()
        .lookup
        .unwrap()
        .key
        .id;
    let revoked_ctx = k.principal(&revoked).await;
    k.tenancy
        .revoke_key(&revoked_ctx, &KeyLocation::OwnNamespace, revoked_id)
        .await
        .unwrap();
    k.move_tenant("suspended-co", LifecycleAction::Suspend)
        .await;
    k.move_tenant("deactivated-co", LifecycleAction::Deactivate)
        .await;
    k.clock.advance(Duration::minutes(6));

    let mut well_formed_unknown = valid.clone();
    // Swap two body characters and fix nothing: the checksum catches it...
    well_formed_unknown.replace_range(20..21, if &valid[20..21] == "a" { "b" } else { "a" });

    let table: Vec<(&str, String, VerifyCode)> = vec![
        ("valid", valid.clone(), VerifyCode::Valid),
        ("revoked", revoked, VerifyCode::Revoked),
        ("suspended", suspended, VerifyCode::TenantSuspended),
        ("deactivated", deactivated, VerifyCode::TenantDeactivated),
        (
            "expired",
            expiring.secret.expose().to_owned(),
            VerifyCode::Expired,
        ),
        ("bad checksum", well_formed_unknown, VerifyCode::Malformed),
        ("junk", "hello".to_owned(), VerifyCode::Malformed),
        ("unknown", unknown_but_well_formed(), VerifyCode::NotFound),
    ];
    for (case, secret, expected) in table {
        assert_eq!(k.code(&secret).await, expected, "{case}");
    }
}

#[tokio::test]
async fn a_tenants_ip_allowlist_refuses_its_keys_from_elsewhere_and_last() {
    let k = keys().await;
    let listed = k.tenant("listed-co").await;
    let other = k.tenant("other-co").await;
    let judge = |secret: String, client: Option<&'static str>| {
        let tenancy = k.tenancy.clone();
        async move {
            let client = client.map(|ip| ip.parse().unwrap());
            tenancy.verify(&secret, client).await.unwrap().code
        }
    };
    let target = domain::SettingsTarget::Tenant(
        k.org.clone(),
        TenantRef::Key(TenantKey::parse("listed-co").unwrap()),
    );
    let allow = |list: serde_json::Value| {
        let tenancy = k.tenancy.clone();
        let target = target.clone();
        let admin = k.admin.clone();
        async move {
            tenancy
                .patch_settings::<domain::settings::SecuritySettings>(
                    &admin,
                    &target,
                    &serde_json::json!({ "ipAllowlist": list }),
                    None,
                )
                .await
                .unwrap();
        }
    };
    // No list: any client, and an unknown one.
    assert_eq!(judge(listed.clone(), None).await, VerifyCode::Valid);

    allow(serde_json::json!(["203.0.113.0/24", "2001:db8::/32"])).await;
    let cases = [
        (Some("203.0.113.7"), VerifyCode::Valid),
        (Some("2001:db8::1"), VerifyCode::Valid),
        // An IPv4 client seen through a dual-stack socket.
        (Some("::ffff:203.0.113.7"), VerifyCode::Valid),
        (Some("198.51.100.1"), VerifyCode::IpNotAllowed),
        (None, VerifyCode::IpNotAllowed),
    ];
    for (client, expected) in cases {
        assert_eq!(judge(listed.clone(), client).await, expected, "{client:?}");
    }
    // Another tenant's keys are not held to it.
    assert_eq!(judge(other, Some("198.51.100.1")).await, VerifyCode::Valid);
    // A refusal for good or for a state of the tenant comes first.
    k.move_tenant("listed-co", LifecycleAction::Suspend).await;
    assert_eq!(
        judge(listed.clone(), Some("198.51.100.1")).await,
        VerifyCode::TenantSuspended
    );
    k.move_tenant("listed-co", LifecycleAction::Reactivate)
        .await;
    // An empty list restricts nothing.
    allow(serde_json::json!([])).await;
    assert_eq!(judge(listed, None).await, VerifyCode::Valid);
}

/// A key with a valid shape and checksum that no store has: minted by a
/// deployment with other randomness.
fn unknown_but_well_formed() -> String {
    domain::KeyPrefix::default()
        .mint(domain::KeyMode::Live, &SeededSecrets::new(999))
        .plaintext
        .expose()
        .to_owned()
}

#[tokio::test]
async fn malformed_keys_are_refused_without_touching_the_store() {
    let mut keys = MockApiKeyStore::new();
    keys.expect_find_key().never();
    let store = Arc::new(MemoryStore::new());
    let ports = Ports {
        keys: Arc::new(keys),
        ..store.ports(Arc::new(ManualClock::default()))
    };
    let tenancy = Tenancy::new(ports, Settings::default());
    let good = unknown_but_well_formed();
    let mut bad_checksum = good.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'x' { 'y' } else { 'x' });
    for bad in [
        "".to_owned(),
        "tny_live_short".to_owned(),
        bad_checksum,
        good.replace("tny_", "abc_"),
        good.replace("_live_", "_prod_"),
        format!("{good}0"),
    ] {
        let v = tenancy.verify(&bad, None).await.unwrap();
        assert_eq!(v.code, VerifyCode::Malformed, "{bad:?}");
        assert!(v.lookup.is_none());
    }
}

#[tokio::test]
async fn suspension_refuses_keys_and_reactivation_brings_them_back_as_they_were() {
    let k = keys().await;
    let secret = k.tenant("acme").await;
    k.move_tenant("acme", LifecycleAction::Suspend).await;
    assert_eq!(k.code(&secret).await, VerifyCode::TenantSuspended);
    k.move_tenant("acme", LifecycleAction::Reactivate).await;
    assert_eq!(k.code(&secret).await, VerifyCode::Valid);
}

#[tokio::test]
async fn deactivation_revokes_keys_for_good_even_after_restore() {
    let k = keys().await;
    let secret = k.tenant("acme").await;
    k.move_tenant("acme", LifecycleAction::Deactivate).await;
    assert_eq!(k.code(&secret).await, VerifyCode::TenantDeactivated);
    k.move_tenant("acme", LifecycleAction::Restore).await;
    assert_eq!(k.code(&secret).await, VerifyCode::Revoked);
}

#[tokio::test]
async fn rotation_with_grace_keeps_both_secrets_until_the_grace_ends() {
    let k = keys().await;
    let old = k.tenant("acme").await;
    let ctx = k.principal(&old).await;
    let id = k
        .tenancy
        .verify(&old, None)
        .await
        .unwrap()
        .lookup
        .unwrap()
        .key
        .id;
    let new = k
        .tenancy
        .rotate_key(&ctx, &KeyLocation::OwnNamespace, id, Duration::minutes(10))
        .await
        .unwrap();
    let new = new.secret.expose().to_owned();
    assert_ne!(new, old);
    assert_eq!(k.code(&old).await, VerifyCode::Valid);
    assert_eq!(k.code(&new).await, VerifyCode::Valid);
    k.clock.advance(Duration::minutes(10));
    assert_eq!(k.code(&old).await, VerifyCode::Expired);
    assert_eq!(k.code(&new).await, VerifyCode::Valid);
}

#[tokio::test]
async fn rotation_without_grace_revokes_the_old_secret_at_once() {
    let k = keys().await;
    let old = k.tenant("acme").await;
    let ctx = k.principal(&old).await;
    let id = k
        .tenancy
        .verify(&old, None)
        .await
        .unwrap()
        .lookup
        .unwrap()
        .key
        .id;
    let new = k
        .tenancy
        .rotate_key(&ctx, &KeyLocation::OwnNamespace, id, Duration::zero())
        .await
        .unwrap();
    assert_eq!(k.code(&old).await, VerifyCode::Revoked);
    assert_eq!(k.code(new.secret.expose()).await, VerifyCode::Valid);
    let again = k
        .tenancy
        .rotate_key(&ctx, &KeyLocation::OwnNamespace, id, Duration::zero())
        .await;
    assert_eq!(again.unwrap_err(), ApiKeyError::KeyInactive);
}

#[tokio::test]
async fn provisioning_shows_the_first_key_once_and_a_replay_mints_none() {
    let k = keys().await;
    let _first = k.tenant("acme").await;
    let replay = k
        .tenancy
        .provision(
            &k.admin,
            &k.org,
            ProvisionTenant {
                key: TenantKey::parse("acme").unwrap(),
                name: Name::parse("acme").unwrap(),
                plan: None,
                region: None,
                owner: None,
                metadata: Metadata::default(),
                namespaces: vec![],
            },
        )
        .await
        .unwrap();
    assert!(!replay.created);
    assert!(replay.api_key.is_none());
}

#[tokio::test]
async fn keys_cannot_mint_keys_that_do_more_than_themselves() {
    let k = keys().await;
    let admin_secret = k.tenant("acme").await;
    let admin = k.principal(&admin_secret).await;
    let member_secret = k.issue(&admin, Some(Role::Member), None).await.unwrap();
    let member = k.principal(&member_secret).await;
    // A member has no keys:write at all.
    assert_eq!(
        k.issue(&member, Some(Role::Member), None)
            .await
            .unwrap_err(),
        ApiKeyError::MissingScope(Scope::KeysWrite)
    );
    let writer: Scopes = [Scope::KeysWrite, Scope::KeysRead, Scope::TenantRead]
        .into_iter()
        .collect();
    let writer_secret = k.issue(&admin, None, Some(writer)).await.unwrap();
    let writer = k.principal(&writer_secret).await;
    assert_eq!(
        k.issue(&writer, Some(Role::Admin), None).await.unwrap_err(),
        ApiKeyError::Escalation
    );
    let narrower: Scopes = [Scope::TenantRead].into_iter().collect();
    assert!(k.issue(&writer, None, Some(narrower)).await.is_ok());
}

#[tokio::test]
async fn an_org_key_reaches_its_own_org_only() {
    let k = keys().await;
    let other = k
        .tenancy
        .create_org(
            &k.admin,
            NewOrg {
                key: OrgKey::parse("tigris").unwrap(),
                name: Name::parse("Tigris").unwrap(),
            },
        )
        .await
        .unwrap();
    let issued = k
        .tenancy
        .issue_key(
            &k.admin,
            &KeyLocation::Org(k.org.clone()),
            NewApiKey {
                name: Name::parse("backend").unwrap(),
                role: None,
                scopes: None,
                resources: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert!(issued.secret.expose().starts_with("tny_org_"));
    let ctx = k.principal(issued.secret.expose()).await;
    assert!(matches!(ctx.principal, Principal::Org { .. }));
    let listed = k
        .tenancy
        .list_keys(
            &ctx,
            &KeyLocation::Org(k.org.clone()),
            None,
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let elsewhere = k
        .tenancy
        .list_keys(
            &ctx,
            &KeyLocation::Org(OrgRef::Id(other.id)),
            None,
            Default::default(),
        )
        .await;
    assert_eq!(elsewhere.unwrap_err(), ApiKeyError::OrgNotFound);
}
