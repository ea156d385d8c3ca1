//! Who may see tenant secrets: `secrets:read` for names and dates,
//! `secrets:reveal` for values (and for writing them), both in the `admin` role
//! only; never a test-mode key, never a key restricted to some resources; and
//! no characters of a value without a reveal.
//!
//! On the code before these rules every secret route was open to
//! `settings:*`: a member key read the masked value with its last 4
//! characters, and a `settings:write` key, a test-mode admin key and a
//! resource-restricted admin key each revealed the live value (each test's
//! comment quotes its failure there).

use reqwest::Method;
use serde_json::json;

use crate::app::{TestApp, secret_of};

const VALUE: &str = "smtp-pass-Zq81-very-secret";
const PATH: &str = "/v1/tenant/secrets/smtp-password";
const ORG_SIDE: &str = "/v1/orgs/signstack/tenants/acme/secrets/smtp-password";

/// A tenant `acme` with a live and a test namespace and one secret; returns
/// the secret of the admin key provisioning minted in `acme-live`.
async fn tenant_with_a_secret(app: &TestApp) -> String {
    app.org("signstack").await;
    let created = app
        .post(
            "/v1/orgs/signstack/tenants",
            &json!({"key": "acme", "name": "Acme",
                "namespaces": [{"key": "acme-live"}, {"key": "acme-test", "mode": "test"}]}),
        )
        .await
        .expect(201);
    app.put(ORG_SIDE, &json!({ "value": VALUE }))
        .await
        .expect(201);
    created["secret"].as_str().expect("a first key").to_owned()
}

async fn key(app: &TestApp, ns: &str, body: serde_json::Value) -> String {
    secret_of(
        &app.post(
            &format!("/v1/orgs/signstack/tenants/acme/namespaces/{ns}/api-keys"),
            &body,
        )
        .await
        .expect(201),
    )
}

/// Old code: `expected 403, got 200` for the member key's read.
#[tokio::test]
async fn member_and_settings_keys_neither_read_nor_reveal_nor_write_secrets() {
    let app = TestApp::start().await;
    tenant_with_a_secret(&app).await;
    let member = key(&app, "acme-live", json!({"name": "m", "role": "member"})).await;
    let settings = key(
        &app,
        "acme-live",
        json!({"name": "s", "scopes": ["settings:read", "settings:write"]}),
    )
    .await;
    for bearer in [&member, &settings] {
        let read = app.get_as(bearer, PATH).await;
        let problem = read.expect_problem(403, "missing_scope");
        assert_eq!(problem["scope"], "secrets:read");
        app.get_as(bearer, &format!("{PATH}?reveal=true"))
            .await
            .expect_problem(403, "missing_scope");
        app.put_as(bearer, PATH, &json!({ "value": "replaced" }))
            .await
            .expect_problem(403, "missing_scope");
        let deleted = app.send(app.request_as(bearer, Method::DELETE, PATH)).await;
        deleted.expect_problem(403, "missing_scope");
    }
    // A key with secrets:read sees names, never the value.
    let reader = key(
        &app,
        "acme-live",
        json!({"name": "r", "scopes": ["secrets:read"]}),
    )
    .await;
    let read = app.get_as(&reader, PATH).await.expect(200);
    assert!(read.get("value").is_none(), "{read}");
    let problem = app
        .get_as(&reader, &format!("{PATH}?reveal=true"))
        .await
        .expect_problem(403, "missing_scope");
    assert_eq!(problem["scope"], "secrets:reveal");
    // Nothing changed, and nothing was revealed.
    let revealed = app
        .get(&format!("{ORG_SIDE}?reveal=true"))
        .await
        .expect(200);
    assert_eq!(revealed["value"], VALUE);
    assert_eq!(revealed["version"], 1);
}

/// Old code: `expected 403, got 200` (the test-mode admin key revealed the
/// live value).
#[tokio::test]
async fn a_test_mode_admin_key_cannot_reveal_or_write_secrets() {
    let app = TestApp::start().await;
    tenant_with_a_secret(&app).await;
    let test_admin = key(&app, "acme-test", json!({"name": "t", "role": "admin"})).await;
    assert!(test_admin.starts_with("tny_test_"));
    let refused = app
        .get_as(&test_admin, &format!("{PATH}?reveal=true"))
        .await;
    let problem = refused.expect_problem(403, "test_key_refused");
    assert!(!refused.text.contains(VALUE));
    assert!(
        problem["detail"].as_str().unwrap().contains("live key"),
        "{problem}"
    );
    app.put_as(&test_admin, PATH, &json!({ "value": "from a test" }))
        .await
        .expect_problem(403, "test_key_refused");
    // Its metadata it may read: the role grants secrets:read.
    let read = app.get_as(&test_admin, PATH).await.expect(200);
    assert_eq!(read["masked"], "****");
}

/// Old code: `expected 403, got 200` (an admin key restricted to one
/// resource revealed the tenant-wide value).
#[tokio::test]
async fn a_resource_restricted_key_cannot_reveal_or_write_secrets() {
    let app = TestApp::start().await;
    tenant_with_a_secret(&app).await;
    let restricted = key(
        &app,
        "acme-live",
        json!({"name": "r", "role": "admin", "resources": ["standard_nda"]}),
    )
    .await;
    let refused = app
        .get_as(&restricted, &format!("{PATH}?reveal=true"))
        .await;
    refused.expect_problem(403, "restricted_key_refused");
    assert!(!refused.text.contains(VALUE));
    let deleted = app
        .send(app.request_as(&restricted, Method::DELETE, PATH))
        .await;
    deleted.expect_problem(403, "restricted_key_refused");
}

/// Old code: `left: "****cret"`, `right: "****"`.
#[tokio::test]
async fn a_read_without_reveal_shows_no_character_of_the_value() {
    let app = TestApp::start().await;
    let admin = tenant_with_a_secret(&app).await;
    for shown in [
        app.get_as(&admin, PATH).await.expect(200),
        app.get(ORG_SIDE).await.expect(200),
        app.get("/v1/orgs/signstack/tenants/acme/secrets")
            .await
            .expect(200)["items"][0]
            .clone(),
    ] {
        assert_eq!(shown["masked"], "****", "{shown}");
        for tail in VALUE.as_bytes().windows(2) {
            let tail = std::str::from_utf8(tail).unwrap();
            if tail.chars().all(char::is_alphanumeric) {
                assert!(!shown["masked"].as_str().unwrap().contains(tail));
            }
        }
    }
}

/// The first key provisioning mints is a live `admin` key: it holds both
/// secret scopes, reveals and writes.
#[tokio::test]
async fn a_live_unrestricted_admin_key_reveals_and_writes_secrets() {
    let app = TestApp::start().await;
    let admin = tenant_with_a_secret(&app).await;
    let revealed = app
        .get_as(&admin, &format!("{PATH}?reveal=true"))
        .await
        .expect(200);
    assert_eq!(revealed["value"], VALUE);
    app.put_as(&admin, PATH, &json!({ "value": "rotated-password" }))
        .await
        .expect(200);
    let key = app
        .get("/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys")
        .await
        .expect(200)["items"][0]
        .clone();
    let scopes = key["scopes"].as_array().unwrap();
    assert!(scopes.contains(&json!("secrets:read")), "{key}");
    assert!(scopes.contains(&json!("secrets:reveal")), "{key}");
}
