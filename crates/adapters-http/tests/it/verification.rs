//! Verification: every verdict of `POST /v1/keys/verify`, the refusal an
//! authenticated call gets for the same key, and changes (revocation, lifecycle,
//! expiry) being felt by the very next request despite the verification cache.

use std::collections::BTreeSet;

use adapters_memory::SeededSecrets;
use chrono::Duration;
use domain::{KeyMode, KeyPrefix};
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, key_id_of, secret_of};

/// The authenticated call every verdict is tried against.
const CALL: &str = "/v1/namespace";

/// What an authenticated call answers for a key with this verdict.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Ok,
    Unauthorized(&'static str),
    Forbidden(&'static str),
}

/// Checks the answer of `GET /v1/namespace` with `key`.
#[track_caller]
fn assert_answer(case: &str, reply: &crate::app::Reply, key: &str, expected: Answer) {
    match expected {
        Answer::Ok => {
            reply.expect(200);
        }
        Answer::Unauthorized(reason) => {
            let problem = reply.expect_problem(401, "unauthorized");
            assert_eq!(problem["reason"], reason, "{case}: {problem:#}");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{case}");
        }
        Answer::Forbidden(code) => {
            reply.expect_problem(403, code);
        }
    }
    if !key.is_empty() {
        assert!(
            !reply.text.contains(key),
            "{case}: the answer quotes the key"
        );
    }
}

/// A well-formed key with a valid checksum that no deployment issued.
fn never_issued() -> String {
    let minted = KeyPrefix::default().mint(KeyMode::Live, &SeededSecrets::new(0xdead_beef));
    minted.plaintext.expose().to_owned()
}

/// The key with its last character changed: the checksum no longer matches.
fn bad_checksum(key: &str) -> String {
    let (head, last) = key.split_at(key.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

#[tokio::test]
async fn every_verdict_is_reported_by_verify_and_refused_alike_by_authenticated_calls() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (acme, valid) = app.tenant_with_key("signstack", "acme").await;
    let ns = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live";

    let doomed = app
        .namespace_key("signstack", "acme", "acme-live", &[])
        .await;
    app.delete(&format!("{ns}/api-keys/{}", key_id_of(&doomed)))
        .await
        .expect(200);
    let expires_at = app.now() + Duration::hours(1);
    let expiring = app
        .post(
            &format!("{ns}/api-keys"),
            &json!({"name": "short-lived", "role": "admin", "expiresAt": expires_at.to_rfc3339()}),
        )
        .await
        .expect(201);
    let (_, suspended) = app.tenant_with_key("signstack", "paused").await;
    app.post(
        "/v1/orgs/signstack/tenants/paused/suspend",
        &json!({"reason": "billing failure"}),
    )
    .await
    .expect(200);
    let (_, deactivated) = app.tenant_with_key("signstack", "gone").await;
    app.post(
        "/v1/orgs/signstack/tenants/gone/deactivate",
        &json!({"reason": "offboarding"}),
    )
    .await
    .expect(200);
    app.advance(Duration::hours(2));

    let cases: Vec<(&str, String, &str, Answer)> = vec![
        ("valid", valid.clone(), "valid", Answer::Ok),
        (
            "never issued",
            never_issued(),
            "not_found",
            Answer::Unauthorized("not_found"),
        ),
        (
            "bad checksum",
            bad_checksum(&valid),
            "malformed",
            Answer::Unauthorized("malformed"),
        ),
        (
            "other prefix",
            valid.replacen("tny_", "xyz_", 1),
            "malformed",
            Answer::Unauthorized("malformed"),
        ),
        (
            "truncated",
            valid[..valid.len() - 3].to_owned(),
            "malformed",
            Answer::Unauthorized("malformed"),
        ),
        (
            "junk",
            "not-a-key".to_owned(),
            "malformed",
            Answer::Unauthorized("malformed"),
        ),
        (
            "revoked",
            secret_of(&doomed),
            "revoked",
            Answer::Unauthorized("revoked"),
        ),
        (
            "expired",
            secret_of(&expiring),
            "expired",
            Answer::Unauthorized("expired"),
        ),
        (
            "suspended tenant",
            suspended,
            "tenant_suspended",
            Answer::Forbidden("tenant_suspended"),
        ),
        (
            "deactivated tenant",
            deactivated,
            "tenant_deactivated",
            Answer::Forbidden("tenant_deactivated"),
        ),
    ];
    let mut codes = BTreeSet::new();
    for (case, key, code, answer) in cases {
        let reply = app
            .send(
                app.anonymous(Method::POST, "/v1/keys/verify")
                    .json(&json!({ "key": key })),
            )
            .await;
        let verdict = reply.expect(200);
        assert_eq!(verdict["code"], code, "{case}: {verdict:#}");
        assert_eq!(verdict["valid"], code == "valid", "{case}");
        let fields: BTreeSet<&str> = verdict
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            BTreeSet::from([
                "valid",
                "code",
                "tenant",
                "namespace",
                "scopes",
                "resources",
                "expiresAt"
            ]),
            "{case}"
        );
        assert!(
            !reply.text.contains(&key),
            "{case}: the verdict quotes the key"
        );
        let scopes = verdict["scopes"].as_array().unwrap();
        assert_eq!(!scopes.is_empty(), code == "valid", "{case}: {verdict:#}");
        // `null` (every resource) only for a valid key: the others reach none.
        let everything = verdict["resources"].is_null();
        assert_eq!(everything, code == "valid", "{case}: {verdict:#}");
        // A key that exists says whose it is; one that does not, says nothing.
        let exists = !["not_found", "malformed"].contains(&code);
        assert_eq!(verdict["tenant"].is_object(), exists, "{case}");
        assert_eq!(verdict["namespace"].is_object(), exists, "{case}");
        codes.insert(code);

        let call = app.get_as(&key, CALL).await;
        assert_answer(case, &call, &key, answer);
    }
    assert_eq!(codes.len(), 7, "every verdict but rate_limited was seen");

    // The details of a valid key, and of an expired one.
    let valid_verdict = app.verify(&valid).await;
    assert_eq!(
        valid_verdict["tenant"],
        json!({"id": acme["id"], "key": "acme"})
    );
    assert_eq!(valid_verdict["namespace"]["key"], "acme-live");
    assert_eq!(valid_verdict["scopes"].as_array().unwrap().len(), 15);
    assert_eq!(valid_verdict["expiresAt"], Value::Null);
    let expired_verdict = app.verify(&secret_of(&expiring)).await;
    assert_eq!(crate::app::time(&expired_verdict["expiresAt"]), expires_at);
}

#[tokio::test]
async fn an_authenticated_call_without_a_usable_authorization_header_is_refused() {
    let app = TestApp::start().await;
    let cases = [
        (None, "missing"),
        (Some("Bearer"), "malformed"),
        (Some("Basic dXNlcjpwYXNz"), "malformed"),
        (Some("Bearer two tokens"), "malformed"),
    ];
    for (header, reason) in cases {
        let mut request = app.anonymous(Method::GET, CALL);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let reply = app.send(request).await;
        let problem = reply.expect_problem(401, "unauthorized");
        assert_eq!(problem["reason"], reason, "{header:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn verify_refuses_only_bodies_that_are_not_a_key_string() {
    let app = TestApp::start().await;
    let bodies = [
        r"{}",
        r#"{"key": 5}"#,
        r#"{"key": null}"#,
        r#"["tny_live_x"]"#,
        r#"{"key": "a", "extra": true}"#,
        "not json",
    ];
    for body in bodies {
        let reply = app
            .send(
                app.anonymous(Method::POST, "/v1/keys/verify")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{body}: {}", reply.text);
        reply.expect_problem(400, "malformed_json");
    }
    // An empty string is a question too: the answer is that it is malformed.
    assert_eq!(app.verify("").await["code"], "malformed");
}

/// Warms the cache for `key` (a verification and a call), as traffic would.
async fn warm(app: &TestApp, key: &str) {
    assert_eq!(app.verify(key).await["code"], "valid");
    app.get_as(key, CALL).await.expect(200);
}

async fn refused(app: &TestApp, key: &str, code: &str, answer: Answer) {
    assert_eq!(app.verify(key).await["code"], code);
    assert_answer(code, &app.get_as(key, CALL).await, key, answer);
}

#[tokio::test]
async fn a_revoked_key_is_refused_by_the_very_next_verification_and_call() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let created = app
        .namespace_key("signstack", "acme", "acme-live", &["tenant:read"])
        .await;
    let key = secret_of(&created);
    warm(&app, &key).await;
    app.delete(&format!(
        "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys/{}",
        key_id_of(&created)
    ))
    .await
    .expect(200);
    refused(&app, &key, "revoked", Answer::Unauthorized("revoked")).await;
}

#[tokio::test]
async fn a_suspended_tenants_keys_are_refused_at_once_and_work_again_after_reactivation() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, key) = app.tenant_with_key("signstack", "acme").await;
    warm(&app, &key).await;
    let path = "/v1/orgs/signstack/tenants/acme";
    app.post(&format!("{path}/suspend"), &json!({"reason": "billing"}))
        .await
        .expect(200);
    refused(
        &app,
        &key,
        "tenant_suspended",
        Answer::Forbidden("tenant_suspended"),
    )
    .await;
    app.post(&format!("{path}/reactivate"), &json!({"reason": "paid"}))
        .await
        .expect(200);
    warm(&app, &key).await;
}

#[tokio::test]
async fn a_deactivated_tenants_keys_stay_refused_after_it_is_restored() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, key) = app.tenant_with_key("signstack", "acme").await;
    warm(&app, &key).await;
    let path = "/v1/orgs/signstack/tenants/acme";
    app.post(&format!("{path}/deactivate"), &json!({"reason": "churned"}))
        .await
        .expect(200);
    refused(
        &app,
        &key,
        "tenant_deactivated",
        Answer::Forbidden("tenant_deactivated"),
    )
    .await;
    app.post(&format!("{path}/restore"), &json!({"reason": "came back"}))
        .await
        .expect(200);
    // Deactivation revoked them for good.
    refused(&app, &key, "revoked", Answer::Unauthorized("revoked")).await;
}

#[tokio::test]
async fn a_key_is_refused_from_the_moment_it_expires() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let expires_at = app.now() + Duration::hours(1);
    let created = app
        .post(
            "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys",
            &json!({"name": "ci", "scopes": ["tenant:read"], "expiresAt": expires_at.to_rfc3339()}),
        )
        .await
        .expect(201);
    let key = secret_of(&created);
    warm(&app, &key).await;
    app.advance(Duration::hours(1) - Duration::seconds(1));
    warm(&app, &key).await;
    app.advance(Duration::seconds(1));
    refused(&app, &key, "expired", Answer::Unauthorized("expired")).await;
}

#[tokio::test]
async fn verify_tells_which_resources_a_key_is_restricted_to() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, unrestricted) = app.tenant_with_key("signstack", "acme").await;
    let keys = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";
    let restricted = app
        .post(
            keys,
            &json!({"name": "one document", "role": "member", "resources": ["standard_nda", "msa"]}),
        )
        .await
        .expect(201);
    let verdict = app.verify(&secret_of(&restricted)).await;
    assert_eq!(verdict["code"], "valid");
    assert_eq!(verdict["resources"], json!(["standard_nda", "msa"]));
    assert_eq!(app.verify(&unrestricted).await["resources"], Value::Null);

    // Once the key no longer works it reaches nothing, whatever it was restricted to.
    app.delete(&format!("{keys}/{}", key_id_of(&restricted)))
        .await
        .expect(200);
    let revoked = app.verify(&secret_of(&restricted)).await;
    assert_eq!(
        (&revoked["code"], &revoked["resources"]),
        (&json!("revoked"), &json!([]))
    );
    assert_eq!(app.verify(&never_issued()).await["resources"], json!([]));
}
