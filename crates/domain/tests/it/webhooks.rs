//! Webhook endpoints through `Tenancy`: secrets shown once and stored sealed,
//! rotation with a grace period, audit without secrets, and who may manage
//! an org's endpoints.

use chrono::Duration;
use domain::ports::{AuditLog, DataScope, WebhookStore};
use domain::webhook_delivery::Target;
use domain::{
    AuditAction, Context, EventFilter, EventType, GracePeriod, NewWebhook, OrgRef, Principal,
    WebhookError, WebhookPatch,
};

use crate::support::{App, admin};

fn new_webhook(url: &str) -> NewWebhook {
    NewWebhook {
        url: url.to_owned(),
        description: None,
        event_types: EventFilter::of(vec![EventType::TenantSuspended]),
        enabled: true,
    }
}

#[tokio::test]
async fn a_secret_is_shown_once_stored_sealed_and_both_secrets_sign_during_the_grace_only() {
    let app = App::new();
    let org = app.org("signstack").await;
    let at = OrgRef::Id(org.id);
    let created = app
        .tenancy
        .create_webhook(&admin(), &at, new_webhook("https://hooks.example.com/t"))
        .await
        .unwrap();
    let first = created.secret.expose().to_owned();
    assert!(first.starts_with("whsec_"));
    let stored = app
        .store
        .get_endpoint(&DataScope::Platform, org.id, created.endpoint.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored.secrets.current.0).contains(&first[6..]),
        "stored sealed"
    );
    let signing = app
        .tenancy
        .webhook_signing_secrets(&stored, app.now())
        .await
        .unwrap();
    assert_eq!(
        signing.iter().map(|s| s.expose()).collect::<Vec<_>>(),
        [first.as_str()]
    );

    let rotated = app
        .tenancy
        .rotate_webhook_secret(
            &admin(),
            &at,
            created.endpoint.id,
            GracePeriod::seconds(3600).unwrap(),
        )
        .await
        .unwrap();
    let second = rotated.secret.expose().to_owned();
    assert_ne!(first, second);
    let stored = app
        .store
        .get_endpoint(&DataScope::Platform, org.id, created.endpoint.id)
        .await
        .unwrap()
        .unwrap();
    let during = app
        .tenancy
        .webhook_signing_secrets(&stored, app.now() + Duration::minutes(59))
        .await
        .unwrap();
    assert_eq!(
        during.iter().map(|s| s.expose()).collect::<Vec<_>>(),
        [second.as_str(), first.as_str()],
        "both sign during the grace"
    );
    let after = app
        .tenancy
        .webhook_signing_secrets(&stored, app.now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|s| s.expose()).collect::<Vec<_>>(),
        [second.as_str()],
        "only the new one after"
    );

    let trail = app
        .store
        .audit_records(&DataScope::Platform, org.id, None, None, 100)
        .await
        .unwrap();
    let text = format!("{trail:?}");
    for secret in [&first, &second] {
        assert!(!text.contains(&secret[6..]), "a secret in the audit trail");
    }
    let actions: Vec<_> = trail.iter().map(|r| r.action).collect();
    assert!(actions.contains(&AuditAction::WebhookEndpointCreated));
    assert!(actions.contains(&AuditAction::WebhookSecretRotated));
}

#[tokio::test]
async fn urls_are_checked_and_private_addresses_need_the_allowance() {
    let app = App::new();
    let org = app.org("signstack").await;
    let at = OrgRef::Id(org.id);
    for url in [
        "http://hooks.example.com/",
        "https://127.0.0.1/",
        "https://10.0.0.1/",
        "not a url",
    ] {
        let refused = app
            .tenancy
            .create_webhook(&admin(), &at, new_webhook(url))
            .await;
        assert!(
            matches!(refused, Err(WebhookError::Invalid("url", _))),
            "{url}: {refused:?}"
        );
    }
    let created = app
        .tenancy
        .create_webhook(&admin(), &at, new_webhook("https://hooks.example.com/"))
        .await
        .unwrap();
    let refused = app
        .tenancy
        .update_webhook(
            &admin(),
            &at,
            created.endpoint.id,
            WebhookPatch {
                url: Some("https://169.254.169.254/".into()),
                ..WebhookPatch::default()
            },
        )
        .await;
    assert!(matches!(refused, Err(WebhookError::Invalid("url", _))));

    let allowed = App::with_settings(domain::Settings {
        webhook_allow_private: true,
        ..domain::Settings::default()
    });
    let org = allowed.org("signstack").await;
    allowed
        .tenancy
        .create_webhook(
            &admin(),
            &OrgRef::Id(org.id),
            new_webhook("http://127.0.0.1:9/hook"),
        )
        .await
        .expect("allowed by the deployment");
}

#[tokio::test]
async fn another_orgs_key_finds_neither_the_org_nor_its_endpoints() {
    let app = App::new();
    let org = app.org("signstack").await;
    let other = app.org("tigris").await;
    let created = app
        .tenancy
        .create_webhook(
            &admin(),
            &OrgRef::Id(org.id),
            new_webhook("https://hooks.example.com/"),
        )
        .await
        .unwrap();
    let stranger = Context::new(Principal::Org {
        org_id: other.id,
        key_id: domain::ApiKeyId::from_uuid(uuid::Uuid::from_u128(99)),
        expires_at: None,
    });
    assert_eq!(
        app.tenancy
            .get_webhook(&stranger, &OrgRef::Id(org.id), created.endpoint.id)
            .await
            .unwrap_err(),
        WebhookError::OrgNotFound
    );
    assert_eq!(
        app.tenancy
            .get_webhook(&stranger, &OrgRef::Id(other.id), created.endpoint.id)
            .await
            .unwrap_err(),
        WebhookError::NotFound
    );
    app.tenancy
        .delete_webhook(&admin(), &OrgRef::Id(org.id), created.endpoint.id)
        .await
        .unwrap();
    assert_eq!(
        app.tenancy
            .get_webhook(&admin(), &OrgRef::Id(org.id), created.endpoint.id)
            .await
            .unwrap_err(),
        WebhookError::NotFound
    );
}

/// Answers each URL's host from a fixed table, as a resolver would.
struct Network;

#[async_trait::async_trait]
impl domain::ports::WebhookSender for Network {
    async fn send(
        &self,
        _request: &domain::webhook_delivery::OutgoingWebhook,
    ) -> domain::webhook_delivery::SendOutcome {
        unreachable!("saving an endpoint sends nothing")
    }

    async fn check_target(&self, url: &str) -> Target {
        if url.contains("internal.example.com") {
            Target::Forbidden("internal.example.com resolves to 10.0.0.7, a private address".into())
        } else if url.contains("not-yet.example.com") {
            Target::Unresolved("not-yet.example.com does not resolve".into())
        } else {
            Target::Allowed
        }
    }
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_and_one_not_resolving_yet_is_saved() {
    let app = App::new();
    let org = app.org("signstack").await;
    let at = OrgRef::Id(org.id);
    let tenancy = app
        .tenancy
        .clone()
        .with_webhook_sender(std::sync::Arc::new(Network));
    let refused = tenancy
        .create_webhook(&admin(), &at, new_webhook("https://internal.example.com/h"))
        .await;
    let Err(WebhookError::Invalid("url", reason)) = refused else {
        panic!("refused: {refused:?}")
    };
    assert!(reason.to_string().contains("10.0.0.7"), "{reason}");
    for url in [
        "https://not-yet.example.com/h",
        "https://hooks.example.com/h",
    ] {
        tenancy
            .create_webhook(&admin(), &at, new_webhook(url))
            .await
            .unwrap_or_else(|e| panic!("{url} is saved: {e}"));
    }
}
