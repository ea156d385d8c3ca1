//! The KMS is called only after the checks that need no KMS passed: a request
//! refused for a cheap reason (validation, authorization, a conflict, a reused
//! idempotency key) makes no KMS call at all. Each test counts the calls the
//! in-memory KMS received around the refused request.
//!
//! On the code before, a provisioning with an `Idempotency-Key` unwrapped (or
//! minted) the org's data key before the key's claim and before provisioning
//! checked anything, so each refusal below made one call (`left: 1, right: 0`
//! in the tests marked so).

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp};

async fn provision(app: &TestApp, key: &str, body: &Value) -> Reply {
    app.send(
        app.request(Method::POST, "/v1/orgs/signstack/tenants")
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

/// Calls the KMS received while `refused` ran.
async fn calls_during<F: std::future::Future<Output = ()>>(app: &TestApp, refused: F) -> u64 {
    let before = app.kms.calls();
    refused.await;
    app.kms.calls() - before
}

/// Old code: `left: 1, right: 0` for the unknown region and the conflict.
#[tokio::test]
async fn a_provisioning_refused_by_its_own_checks_never_calls_the_kms() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let refusals = [
        (
            json!({"key": "beta", "name": "Beta", "region": "mars"}),
            400,
            "unknown_region",
        ),
        (
            json!({"key": "acme", "name": "Another spec"}),
            409,
            "conflict",
        ),
        (
            json!({"key": "gamma", "name": "G", "namespaces": [{"key": "g-1"}, {"key": "g-1"}]}),
            400,
            "duplicate_namespace",
        ),
        (json!({"key": "", "name": "Bad"}), 400, "validation_failed"),
    ];
    for (i, (body, status, code)) in refusals.into_iter().enumerate() {
        let made = calls_during(&app, async {
            provision(&app, &format!("req-{i}"), &body)
                .await
                .expect_problem(status, code);
        })
        .await;
        assert_eq!(made, 0, "{code}");
    }
}

/// Old code: `left: 1, right: 0` (the org's key was unwrapped again once the
/// cache of unwrapped keys had let it go).
#[tokio::test]
async fn a_reused_idempotency_key_is_refused_without_calling_the_kms() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    provision(&app, "req-1", &json!({"key": "acme", "name": "Acme"}))
        .await
        .expect(201);
    app.advance(Duration::minutes(10));
    let made = calls_during(&app, async {
        provision(&app, "req-1", &json!({"key": "acme", "name": "Other"}))
            .await
            .expect_problem(422, "idempotency_key_reused");
    })
    .await;
    assert_eq!(made, 0);
    // A true retry still replays, opening the stored response through the KMS.
    let replayed = provision(&app, "req-1", &json!({"key": "acme", "name": "Acme"})).await;
    replayed.expect(201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
}

/// Secrets: a refused write or read never unwraps the tenant's data key.
#[tokio::test]
async fn a_refused_secret_request_never_calls_the_kms() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, admin) = app.tenant_with_key("signstack", "acme").await;
    let member = app
        .key_with_scopes("signstack", "acme", "acme-live", &["tenant:read"])
        .await;
    let own = "/v1/tenant/secrets/smtp";
    let org_side = "/v1/orgs/signstack/tenants/acme/secrets/smtp";
    app.put(org_side, &json!({"value": "first"}))
        .await
        .expect(201);
    app.advance(Duration::minutes(10));
    let made = calls_during(&app, async {
        app.put_as(&member, own, &json!({"value": "x"}))
            .await
            .expect_problem(403, "missing_scope");
        app.put_as(&admin, own, &json!({"value": ""}))
            .await
            .expect_problem(400, "validation_failed");
        app.get_as(&admin, "/v1/tenant/secrets/missing?reveal=true")
            .await
            .expect_problem(404, "not_found");
        app.put(
            "/v1/orgs/signstack/tenants/nobody/secrets/smtp",
            &json!({"value": "x"}),
        )
        .await
        .expect_problem(404, "not_found");
    })
    .await;
    assert_eq!(made, 0);
    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "unpaid"}),
    )
    .await
    .expect(200);
    let made = calls_during(&app, async {
        app.put(org_side, &json!({"value": "second"}))
            .await
            .expect_problem(409, "tenant_not_active");
    })
    .await;
    assert_eq!(made, 0);
}
