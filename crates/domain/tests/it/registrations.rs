//! Self-service registration (SPEC §5) through the domain: an org opts in
//! with its `registration` settings, a request is answered alike for a free
//! and a taken key, the link's token is stored hashed, and confirming
//! provisions exactly once, before the link expires.

use std::sync::Arc;

use adapters_memory::MemoryMailer;
use chrono::Duration;
use domain::ports::{DataScope, Mailer, TenantStore};
use domain::settings::{BrandingSettings, RegistrationSettings};
use domain::{
    Email, Mailbox, Org, OrgRef, OutgoingMail, Ports, Registration, RegistrationConfig,
    RegistrationError, RegistrationRequest, RegistrationToken, Settings, SettingsError,
    SettingsTarget, SettingsUseError, Tenancy, TenantRef, TenantStatus, UserId,
};
use serde_json::{Value, json};

use crate::support::{App, name, org_caller, tenant_key};

struct Harness {
    app: App,
    tenancy: Tenancy,
    mailer: Arc<MemoryMailer>,
}

fn config() -> RegistrationConfig {
    RegistrationConfig {
        confirm_url: url::Url::parse("https://tenancy.example/confirm").unwrap(),
        mail_from: Some(Mailbox::address_only(
            Email::parse("no-reply@tenancy.example").unwrap(),
        )),
    }
}

impl Harness {
    fn new() -> Self {
        Self::with(Some(config()))
    }

    fn with(registration: Option<RegistrationConfig>) -> Self {
        let settings = Settings {
            registration,
            ..Settings::default()
        };
        let app = App::with_settings(settings.clone());
        let mailer = Arc::new(MemoryMailer::new());
        let tenancy = Tenancy::new(
            Ports {
                mailer: mailer.clone(),
                ..app.store.ports(app.clock.clone())
            },
            settings,
        );
        Self {
            app,
            tenancy,
            mailer,
        }
    }

    /// An org with registration set to `settings` and a branding of its own.
    async fn org(&self, key: &str, settings: Value) -> Org {
        let org = self.app.org(key).await;
        let target = SettingsTarget::Org(OrgRef::Id(org.id));
        self.tenancy
            .patch_settings::<RegistrationSettings>(&org_caller(&org), &target, &settings, None)
            .await
            .expect("registration settings");
        let branding = json!({
            "companyName": "Acme, Inc.",
            "senderName": "Acme Support",
            "senderEmail": "support@acme.io",
            "contactEmail": "help@acme.io",
        });
        self.tenancy
            .patch_settings::<BrandingSettings>(&org_caller(&org), &target, &branding, None)
            .await
            .expect("branding");
        org
    }

    async fn request(&self, org: &Org, key: &str) -> Result<OutgoingMail, RegistrationError> {
        let accepted = self
            .tenancy
            .request_registration(None, &OrgRef::Id(org.id), request(key, "ada@example.com"))
            .await?;
        self.mailer.send(&accepted.mail).await.unwrap();
        Ok(accepted.mail)
    }
}

fn request(key: &str, email: &str) -> RegistrationRequest {
    RegistrationRequest {
        name: name("Ada's workspace"),
        key: tenant_key(key),
        admin_email: Email::parse(email).unwrap(),
        region: None,
    }
}

/// The token of the link in `mail`.
fn token_in(mail: &OutgoingMail) -> String {
    let at = mail.text().find("token=").expect("a link with a token") + "token=".len();
    mail.text()[at..at + RegistrationToken::LEN].to_owned()
}

fn open() -> Value {
    json!({ "enabled": true, "defaultPlan": "starter" })
}

#[tokio::test]
async fn registration_is_closed_unless_the_deployment_and_the_org_open_it() {
    let h = Harness::new();
    let closed = h.org("closed", json!({ "defaultPlan": "starter" })).await;
    let disabled = h.org("disabled", json!({ "enabled": false })).await;
    for org in [
        OrgRef::Id(closed.id),
        OrgRef::Id(disabled.id),
        OrgRef::Key(domain::OrgKey::parse("nobody").unwrap()),
    ] {
        assert_eq!(
            h.tenancy
                .request_registration(None, &org, request("acme", "ada@example.com"))
                .await,
            Err(RegistrationError::NotOpen),
            "{org:?}"
        );
    }
    let without = Harness::with(None);
    let org = without.org("open", open()).await;
    assert_eq!(
        without
            .tenancy
            .request_registration(
                None,
                &OrgRef::Id(org.id),
                request("acme", "ada@example.com")
            )
            .await,
        Err(RegistrationError::NotOpen),
        "no registration configured in the deployment"
    );
    assert!(h.mailer.sent().is_empty() && without.mailer.sent().is_empty());
}

#[tokio::test]
async fn registration_settings_are_an_orgs_and_name_only_available_regions() {
    let h = Harness::new();
    let org = h.app.org("signstack").await;
    let ctx = org_caller(&org);
    let target = SettingsTarget::Org(OrgRef::Id(org.id));
    let refused = h
        .tenancy
        .patch_settings::<RegistrationSettings>(
            &ctx,
            &target,
            &json!({ "defaultRegion": "mars-1" }),
            None,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(SettingsUseError::Invalid(SettingsError::Invalid {
                field: "defaultRegion",
                ..
            }))
        ),
        "{refused:?}"
    );
    let global = Settings::default().regions.default_region().code.clone();
    let set = h
        .tenancy
        .patch_settings::<RegistrationSettings>(
            &ctx,
            &target,
            &json!({ "defaultRegion": global.as_str(), "enabled": true }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(set.version, 1);
    let tenant = h
        .app
        .provision(&org, crate::support::spec("acme"))
        .await
        .tenant;
    let of_tenant = SettingsTarget::Tenant(OrgRef::Id(org.id), TenantRef::Id(tenant.id));
    assert_eq!(
        h.tenancy
            .get_settings::<RegistrationSettings>(&ctx, &of_tenant)
            .await,
        Err(SettingsUseError::OrgOnly("registration"))
    );
}

#[tokio::test]
async fn a_confirmed_link_provisions_once_with_the_requester_as_owner_and_the_orgs_plan() {
    let h = Harness::new();
    let org = h.org("signstack", open()).await;
    let mail = h.request(&org, "acme").await.unwrap();
    assert_eq!(mail.from().to_string(), "Acme Support <support@acme.io>");
    assert_eq!(
        mail.reply_to().map(ToString::to_string).as_deref(),
        Some("help@acme.io")
    );
    assert_eq!(mail.to().address().as_str(), "ada@example.com");
    assert!(mail.subject().contains("Acme, Inc."), "{}", mail.subject());
    let token = token_in(&mail);
    assert!(
        mail.text()
            .contains(&format!("https://tenancy.example/confirm?token={token}")),
        "{}",
        mail.text()
    );
    assert!(mail.html().unwrap().contains(&token));
    // Nothing exists until the link is followed.
    let by_key = TenantRef::Key(tenant_key("acme"));
    assert!(
        h.app
            .store
            .get_tenant(&DataScope::Platform, &by_key)
            .await
            .unwrap()
            .is_none()
    );
    let trail = h.app.trail(&org, None).await;
    assert_eq!(
        trail.last().unwrap().action.as_str(),
        "registration.requested"
    );

    let provisioned = h.tenancy.confirm_registration(None, &token).await.unwrap();
    assert!(provisioned.created);
    let tenant = &provisioned.tenant;
    assert_eq!(tenant.org_id, org.id);
    assert_eq!(tenant.plan.as_str(), "starter");
    assert_eq!(tenant.name.as_str(), "Ada's workspace");
    assert_eq!(tenant.lifecycle.status, TenantStatus::Active);
    let owner = tenant.owner.as_ref().unwrap();
    assert_eq!(owner.email.as_str(), "ada@example.com");
    assert_eq!(owner.user_id, UserId::parse("ada@example.com").unwrap());
    let key = provisioned.api_key.expect("the first key, once");
    let verified = h.tenancy.verify(key.secret.expose(), None).await;
    assert!(verified.is_ok(), "{verified:?}");

    assert_eq!(
        h.tenancy.confirm_registration(None, &token).await,
        Err(RegistrationError::TokenUsed)
    );
    let tenants = h
        .app
        .store
        .get_tenant(&DataScope::Platform, &by_key)
        .await
        .unwrap();
    assert_eq!(tenants.map(|t| t.id), Some(tenant.id), "one tenant");
}

#[tokio::test]
async fn a_link_expires_after_24_hours_and_unknown_tokens_are_refused() {
    let h = Harness::new();
    let org = h.org("signstack", open()).await;
    let mail = h.request(&org, "acme").await.unwrap();
    h.app.clock.advance(Registration::VALID_FOR);
    assert_eq!(
        h.tenancy.confirm_registration(None, &token_in(&mail)).await,
        Err(RegistrationError::TokenExpired)
    );
    let other = RegistrationToken::parse(&"A".repeat(43)).unwrap();
    for unknown in [other.expose(), "not-a-token", ""] {
        assert_eq!(
            h.tenancy.confirm_registration(None, unknown).await,
            Err(RegistrationError::UnknownToken),
            "{unknown:?}"
        );
    }
    // A day later the retention job forgets it.
    h.app.clock.advance(Duration::minutes(1));
    assert_eq!(h.tenancy.purge_expired_registrations(100).await, Ok(1));
    assert_eq!(
        h.tenancy.confirm_registration(None, &token_in(&mail)).await,
        Err(RegistrationError::UnknownToken)
    );
}

#[tokio::test]
async fn a_taken_key_is_accepted_alike_stores_nothing_and_mails_no_link() {
    let h = Harness::new();
    let org = h.org("signstack", open()).await;
    let other = h.org("other", open()).await;
    h.app.provision(&other, crate::support::spec("acme")).await;
    let before = h.app.trail(&org, None).await.len();
    let mail = h
        .request(&org, "acme")
        .await
        .expect("accepted as a free key is");
    assert!(!mail.text().contains("token="), "{}", mail.text());
    assert!(mail.text().contains("taken"), "{}", mail.text());
    assert_eq!(mail.from().to_string(), "Acme Support <support@acme.io>");
    assert_eq!(
        h.app.trail(&org, None).await.len(),
        before,
        "nothing stored"
    );
}

#[tokio::test]
async fn a_key_taken_between_request_and_confirmation_uses_the_link_up() {
    let h = Harness::new();
    let org = h.org("signstack", open()).await;
    let mail = h.request(&org, "acme").await.unwrap();
    h.app.provision(&org, crate::support::spec("acme")).await;
    assert_eq!(
        h.tenancy.confirm_registration(None, &token_in(&mail)).await,
        Err(RegistrationError::KeyTaken)
    );
    assert_eq!(
        h.tenancy.confirm_registration(None, &token_in(&mail)).await,
        Err(RegistrationError::TokenUsed)
    );
}

#[tokio::test]
async fn only_allowed_email_domains_and_available_regions_may_register() {
    let h = Harness::new();
    let org = h
        .org(
            "signstack",
            json!({ "enabled": true, "allowedEmailDomains": ["acme.io"] }),
        )
        .await;
    let at = OrgRef::Id(org.id);
    assert_eq!(
        h.tenancy
            .request_registration(None, &at, request("acme", "ada@example.com"))
            .await,
        Err(RegistrationError::EmailDomainNotAllowed)
    );
    let mut elsewhere = request("acme", "ada@acme.io");
    elsewhere.region = Some(domain::RegionCode::parse("mars-1").unwrap());
    assert!(matches!(
        h.tenancy.request_registration(None, &at, elsewhere).await,
        Err(RegistrationError::RegionUnavailable(_))
    ));
    assert!(
        h.tenancy
            .request_registration(None, &at, request("acme", "ada@acme.io"))
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_confirmations_of_one_link_give_one_tenant() {
    let h = Arc::new(Harness::new());
    let org = h.org("signstack", open()).await;
    let token = token_in(&h.request(&org, "acme").await.unwrap());
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (h, token, barrier) = (h.clone(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                h.tenancy.confirm_registration(None, &token).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(provisioned) => {
                assert!(provisioned.api_key.is_some());
                created += 1;
            }
            Err(RegistrationError::TokenUsed) => {}
            Err(other) => panic!("a racing confirmation got {other:?}"),
        }
    }
    assert_eq!(created, 1);
    let provisioned = h
        .app
        .trail(&org, None)
        .await
        .iter()
        .filter(|r| r.action.as_str() == "tenant.provisioned")
        .count();
    assert_eq!(provisioned, 1, "one tenant provisioned");
}
