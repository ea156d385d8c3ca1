//! Self-service registration over HTTP, with its emails sent through the
//! SMTP mailer to a real SMTP server on loopback (`aiosmtpd`, started per
//! test): the org's settings; the email that arrives with the org's
//! branding and a link; the link confirmed once (twice: refused; expired:
//! refused); a taken key answered exactly as a free one; bad input refused
//! by field; the rate limit per client address.
//!
//! The tests run on several threads: an email is sent by a task of its own
//! while the test blocks on the SMTP server's output.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use adapters_http::RegistrationRate;
use adapters_mail::{Security, SmtpConfig, SmtpMailer};
use domain::{Email, Mailbox, Registration, RegistrationConfig, RegistrationToken};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, IF_MATCH};
use serde_json::{Value, json};
use test_support::smtp::{Mode, SmtpServer};

use crate::app::{Reply, TestApp};

const SETTINGS: &str = "/v1/orgs/signstack/settings/registration";
const REGISTER: &str = "/v1/public/orgs/signstack/registrations";
const CONFIRM: &str = "/v1/public/registrations/confirm";

fn config() -> RegistrationConfig {
    RegistrationConfig {
        confirm_url: url::Url::parse("https://signup.tenancy.example/confirm").unwrap(),
        mail_from: Some(Mailbox::address_only(
            Email::parse("no-reply@tenancy.example").unwrap(),
        )),
    }
}

fn smtp(server: &SmtpServer) -> Arc<SmtpMailer> {
    Arc::new(
        SmtpMailer::new(SmtpConfig {
            host: "127.0.0.1".into(),
            port: server.port,
            security: Security::None,
            credentials: None,
            timeout: Duration::from_secs(15),
            hello_name: Some("tenancy.test".into()),
            extra_roots_pem: None,
        })
        .expect("an SMTP configuration"),
    )
}

/// An app mailing through `server`, with org `signstack` open for
/// registration and branded.
async fn open_app(server: &SmtpServer) -> TestApp {
    let app = TestApp::builder()
        .registration(config())
        .mailer(smtp(server))
        .start()
        .await;
    app.org("signstack").await;
    app.patch(
        "/v1/orgs/signstack/settings/branding",
        &json!({
            "companyName": "Acme, Inc.",
            "senderName": "Acme Support",
            "senderEmail": "support@acme.io",
            "contactEmail": "help@acme.io",
        }),
    )
    .await
    .expect(200);
    app.patch(
        SETTINGS,
        &json!({"enabled": true, "defaultPlan": "starter"}),
    )
    .await
    .expect(200);
    app
}

async fn register(app: &TestApp, key: &str, email: &str) -> Reply {
    let body = json!({"name": "Ada's workspace", "key": key, "adminEmail": email});
    app.send(app.anonymous(Method::POST, REGISTER).json(&body))
        .await
}

async fn confirm(app: &TestApp, token: &str) -> Reply {
    app.send(
        app.anonymous(Method::POST, CONFIRM)
            .json(&json!({"token": token})),
    )
    .await
}

/// The token in the link of a received email's text.
fn token_in(mail: &Value) -> String {
    let text = mail["text"].as_str().expect("a text part");
    let at = text.find("confirm?token=").expect("a confirmation link") + "confirm?token=".len();
    text[at..at + RegistrationToken::LEN].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_arrives_branded_with_a_link_that_provisions_the_tenant_once() {
    let server = SmtpServer::start(Mode::Plain);
    let app = open_app(&server).await;
    let accepted = register(&app, "ada", "ada@example.com").await.expect(202);
    assert_eq!(accepted["status"], "accepted");

    let mail = server.received();
    assert_eq!(mail["mail_from"], "support@acme.io");
    assert_eq!(mail["rcpt_tos"], json!(["ada@example.com"]));
    assert_eq!(
        mail["from"],
        json!({"name": "Acme Support", "address": "support@acme.io"})
    );
    assert_eq!(
        mail["reply_to"],
        json!({"name": "", "address": "help@acme.io"})
    );
    assert_eq!(mail["subject"], "Confirm your new Acme, Inc. workspace");
    let token = token_in(&mail);
    let link = format!("https://signup.tenancy.example/confirm?token={token}");
    assert!(mail["text"].as_str().unwrap().contains(&link), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains(&link), "{mail}");

    let created = confirm(&app, &token).await;
    let body = created.expect(201);
    assert_eq!(body["tenant"]["key"], "ada");
    assert_eq!(body["tenant"]["plan"], "starter");
    assert_eq!(body["tenant"]["owner"]["email"], "ada@example.com");
    let secret = body["secret"]
        .as_str()
        .expect("the first key's secret, once");
    assert_eq!(app.verify(secret).await["code"], "valid");

    let again = confirm(&app, &token).await;
    again.expect_problem(410, "token_used");
    let tenants = app.all_pages("/v1/orgs/signstack/tenants").await;
    let keys: Vec<&Value> = tenants.iter().map(|t| &t["key"]).collect();
    assert_eq!(keys, [&json!("ada")], "one tenant");
    server.assert_nothing_received();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unknown_token_is_refused() {
    let server = SmtpServer::start(Mode::Plain);
    let app = open_app(&server).await;
    register(&app, "ada", "ada@example.com").await.expect(202);
    let token = token_in(&server.received());
    app.clock.advance(Registration::VALID_FOR);
    confirm(&app, &token)
        .await
        .expect_problem(410, "token_expired");
    confirm(&app, &"A".repeat(43))
        .await
        .expect_problem(404, "not_found");
    let malformed = confirm(&app, "short").await;
    assert_eq!(malformed.status.as_u16(), 404, "{}", malformed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_key_is_answered_exactly_as_a_free_one() {
    let server = SmtpServer::start(Mode::Plain);
    let app = open_app(&server).await;
    app.tenant("signstack", "taken").await;
    let taken = register(&app, "taken", "ada@example.com").await;
    let free = register(&app, "free", "ada@example.com").await;
    assert_eq!(taken.status, free.status);
    assert_eq!(taken.text, free.text, "the same body, byte for byte");
    let names = |reply: &Reply| {
        let mut names: Vec<String> = reply
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&taken), names(&free), "the same headers");
    // The requester learns it in their own mailbox, not from the answer.
    let mails = [server.received(), server.received()];
    let about_taken = mails
        .iter()
        .find(|m| m["text"].as_str().unwrap().contains("\"taken\""))
        .expect("the notice about the taken key");
    assert!(!about_taken["text"].as_str().unwrap().contains("token="));
    assert!(
        about_taken["subject"]
            .as_str()
            .unwrap()
            .contains("could not be created")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_by_field_and_closed_orgs_answer_404_alike() {
    let server = SmtpServer::start(Mode::Plain);
    let app = open_app(&server).await;
    let refused = app
        .send(app.anonymous(Method::POST, REGISTER).json(&json!({
            "name": " ", "key": "A!", "adminEmail": "nope", "region": "-x"
        })))
        .await
        .expect_problem(400, "validation_failed");
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "key", "adminEmail", "region"]);
    let unknown = register(&app, "www", "ada@example.com").await;
    unknown.expect_problem(400, "validation_failed");

    app.patch(SETTINGS, &json!({"allowedEmailDomains": ["acme.io"]}))
        .await
        .expect(200);
    let outside = register(&app, "ada", "ada@example.com").await;
    let problem = outside.expect_problem(422, "email_domain_not_allowed");
    assert_eq!(problem["errors"][0]["field"], "adminEmail");
    register(&app, "ada", "ada@acme.io").await.expect(202);
    server.received();

    let nobody = app
        .send(
            app.anonymous(Method::POST, "/v1/public/orgs/nobody/registrations")
                .json(&json!({"name": "Ada", "key": "ada", "adminEmail": "ada@acme.io"})),
        )
        .await;
    app.patch(SETTINGS, &json!({"enabled": false}))
        .await
        .expect(200);
    let disabled = register(&app, "ada", "ada@acme.io").await;
    let without_id = |reply: &Reply| {
        let mut problem = reply.expect_problem(404, "not_found");
        problem.as_object_mut().unwrap().remove("requestId");
        problem
    };
    assert_eq!(
        without_id(&nobody),
        without_id(&disabled),
        "an unknown org and a closed one alike"
    );
    server.assert_nothing_received();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_settings_are_validated_versioned_and_the_orgs_alone() {
    let app = TestApp::builder().registration(config()).start().await;
    app.org("signstack").await;
    assert_eq!(app.get(SETTINGS).await.expect(200), json!({}));
    for (field, bad) in [
        ("enabled", json!("yes")),
        ("defaultPlan", json!("Gold Plan")),
        ("defaultRegion", json!("mars-1")),
        ("allowedEmailDomains", json!(["not a domain"])),
    ] {
        let refused = app.patch(SETTINGS, &json!({ field: bad })).await;
        let problem = refused.expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let set = app
        .patch(
            SETTINGS,
            &json!({"enabled": true, "allowedEmailDomains": ["Acme.io"]}),
        )
        .await;
    assert_eq!(set.header("etag"), Some("\"1\""));
    assert_eq!(
        set.expect(200),
        json!({"enabled": true, "allowedEmailDomains": ["acme.io"]})
    );
    let stale = app
        .send(
            app.request(Method::PATCH, SETTINGS)
                .header(CONTENT_TYPE, "application/merge-patch+json")
                .header(IF_MATCH, "\"0\"")
                .body(json!({"enabled": null}).to_string()),
        )
        .await;
    stale.expect_problem(412, "precondition_failed");
    let removed = app
        .patch(SETTINGS, &json!({"allowedEmailDomains": null}))
        .await
        .expect(200);
    assert_eq!(removed, json!({"enabled": true}));
    let events = app.all_pages("/v1/orgs/signstack/events").await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        ["settings.updated", "settings.updated"],
        "{events:?}"
    );
    // No other org sees them.
    app.org("other").await;
    let other_key = app.org_key("other").await;
    let other_key = other_key["secret"].as_str().unwrap();
    let foreign = app.get_as(other_key, SETTINGS).await;
    assert!(
        matches!(foreign.status.as_u16(), 403 | 404),
        "{}",
        foreign.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_rate_limited_per_client_address() {
    let app = TestApp::builder()
        .registration(config())
        .registration_rate(RegistrationRate {
            requests: NonZeroU32::new(2).unwrap(),
            per: Duration::from_secs(3600),
        })
        .start()
        .await;
    app.org("signstack").await;
    app.patch(SETTINGS, &json!({"enabled": true}))
        .await
        .expect(200);
    register(&app, "one", "ada@example.com").await.expect(202);
    // A refused request counts too.
    register(&app, "A!", "ada@example.com")
        .await
        .expect_problem(400, "validation_failed");
    let limited = register(&app, "three", "ada@example.com").await;
    limited.expect_problem(429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    // Two an hour: the next one in half an hour.
    assert!((1700..=1800).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_address_has_its_own_budget_behind_a_trusted_proxy() {
    let app = TestApp::builder()
        .registration(config())
        .registration_rate(RegistrationRate {
            requests: NonZeroU32::new(1).unwrap(),
            per: Duration::from_secs(3600),
        })
        .trusted_proxies("127.0.0.1/32")
        .start()
        .await;
    app.org("signstack").await;
    app.patch(SETTINGS, &json!({"enabled": true}))
        .await
        .expect(200);
    let from = |client: &'static str, key: &'static str| {
        let body = json!({"name": "Ada's workspace", "key": key, "adminEmail": "ada@example.com"});
        app.anonymous(Method::POST, REGISTER)
            .header("x-forwarded-for", client)
            .json(&body)
    };
    app.send(from("203.0.113.7", "one")).await.expect(202);
    app.send(from("203.0.113.7", "two"))
        .await
        .expect_problem(429, "rate_limited");
    app.send(from("198.51.100.9", "three")).await.expect(202);
}
