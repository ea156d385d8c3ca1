//! `Idempotency-Key` on provisioning (docs/api.md §2): replays byte for byte, a reused
//! key with another request is `422`, failures do not hold the key, and the
//! window is 24 hours.

use std::sync::Arc;

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, secret_of};

fn spec(name: &str) -> Value {
    json!({
        "key": "acme",
        "name": name,
        "plan": "pro",
        "metadata": {"tier": "gold", "crm": "sf-42"},
        "namespaces": [{"key": "acme-prod"}, {"key": "acme-test", "mode": "test"}]
    })
}

async fn provision(app: &TestApp, org: &str, key: &str, body: &Value) -> Reply {
    app.send(
        app.request(Method::POST, &format!("/v1/orgs/{org}/tenants"))
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_retry_gets_the_first_response_byte_for_byte_with_its_secret() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let first = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let secret = secret_of(&first.json());

    for _ in 0..2 {
        let again = provision(&app, "signstack", "req-1", &spec("Acme")).await;
        assert_eq!(again.status, first.status);
        assert_eq!(
            again.text, first.text,
            "the replay differs from the first response"
        );
        assert_eq!(again.header("location"), first.header("location"));
        assert_eq!(again.header("content-type"), Some("application/json"));
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    // The same JSON spelled differently (other key order, spacing) is the
    // same request.
    let respelled = r#"{ "plan":"pro", "namespaces":[{"key":"acme-prod"},{"mode":"test","key":"acme-test"}],
        "metadata":{"crm":"sf-42","tier":"gold"}, "name":"Acme", "key":"acme" }"#;
    let again = app
        .send(
            app.request(Method::POST, "/v1/orgs/signstack/tenants")
                .header("Idempotency-Key", "req-1")
                .header("content-type", "application/json")
                .body(respelled),
        )
        .await;
    assert_eq!(again.text, first.text);

    // The secret still works, and only one tenant and key exist.
    assert_eq!(app.verify(&secret).await["valid"], true);
    assert_eq!(app.all_pages("/v1/tenants").await.len(), 1);
    let tenant = &first.json()["tenant"];
    let keys = app
        .all_pages(&format!(
            "/v1/orgs/signstack/tenants/{}/namespaces/acme-prod/api-keys",
            tenant["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(keys.len(), 1, "a replay minted another key");
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_422_and_changes_nothing() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    provision(&app, "signstack", "req-1", &spec("Acme"))
        .await
        .expect(201);
    let before = app.visible_state().await;
    let reused = provision(&app, "signstack", "req-1", &spec("Acme Renamed")).await;
    let problem = reused.expect_problem(422, "idempotency_key_reused");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    assert_eq!(app.visible_state().await, before);
    // The first response is still what the key replays.
    let again = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn keys_are_per_org_and_another_org_cannot_replay_them() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.org("quillpay").await;
    let first = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    first.expect(201);
    // Another org's key on this org's path: the org is not found, and the
    // stored response (with its secret) does not leak.
    let intruder = app.org_key("quillpay").await;
    let stolen = app
        .send(
            app.request_as(
                &secret_of(&intruder),
                Method::POST,
                "/v1/orgs/signstack/tenants",
            )
            .header("Idempotency-Key", "req-1")
            .json(&spec("Acme")),
        )
        .await;
    stolen.expect_problem(404, "not_found");
    assert!(!stolen.text.contains(&secret_of(&first.json())));
    // The same key in the other org is a request of its own.
    let mut other = spec("Other");
    other["key"] = json!("other");
    let theirs = provision(&app, "quillpay", "req-1", &other).await;
    theirs.expect(201);
    assert_eq!(theirs.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn a_failed_request_does_not_hold_its_key() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    // A conflict (the tenant key exists with another spec) stores nothing.
    app.post("/v1/orgs/signstack/tenants", &spec("Acme"))
        .await
        .expect(201);
    let conflict = provision(&app, "signstack", "req-1", &spec("Acme Renamed")).await;
    conflict.expect_problem(409, "conflict");
    let mut other = spec("Other");
    other["key"] = json!("other");
    let retried = provision(&app, "signstack", "req-1", &other).await;
    retried.expect(201);

    // A KMS outage in the middle (the org's data key cached, the tenant's
    // cannot be minted) is a 503, and the retry runs once the KMS is back.
    let mut third = spec("Third");
    third["key"] = json!("third");
    provision(&app, "signstack", "warm-up", &{
        let mut warm = spec("Warm");
        warm["key"] = json!("warm");
        warm
    })
    .await
    .expect(201);
    app.kms.set_available(false);
    provision(&app, "signstack", "req-3", &third)
        .await
        .expect_problem(503, "unavailable");
    app.kms.set_available(true);
    let after = provision(&app, "signstack", "req-3", &third).await;
    after.expect(201);
    assert_eq!(after.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn after_24_hours_the_key_runs_as_a_new_request() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    provision(&app, "signstack", "req-1", &spec("Acme"))
        .await
        .expect(201);
    app.advance(Duration::hours(23));
    let within = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    assert_eq!(within.header("idempotent-replayed"), Some("true"));
    app.advance(Duration::hours(1));
    // Provisioning itself is idempotent on the tenant key: 200, no secret.
    let later = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    let body = later.expect(200);
    assert_eq!(later.header("idempotent-replayed"), None);
    assert!(body.get("secret").is_none());
    // The key now replays that new answer, and stays bound to its body.
    let replayed = provision(&app, "signstack", "req-1", &spec("Acme")).await;
    assert_eq!(replayed.text, later.text);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let mut other = spec("Other");
    other["key"] = json!("other");
    provision(&app, "signstack", "req-1", &other)
        .await
        .expect_problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn invalid_idempotency_keys_are_refused_before_anything_runs() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let before = app.visible_state().await;
    for bad in ["", "has space", &"k".repeat(256)] {
        let reply = provision(&app, "signstack", bad, &spec("Acme")).await;
        let problem = reply.expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{bad:?}");
    }
    let twice = app
        .send(
            app.request(Method::POST, "/v1/orgs/signstack/tenants")
                .header("Idempotency-Key", "a")
                .header("Idempotency-Key", "b")
                .json(&spec("Acme")),
        )
        .await;
    twice.expect_problem(400, "validation_failed");
    // An invalid body with a good key stores nothing under the key.
    let mut invalid = spec("Acme");
    invalid["key"] = json!("Not A Key");
    provision(&app, "signstack", "req-1", &invalid)
        .await
        .expect_problem(400, "validation_failed");
    assert_eq!(app.visible_state().await, before);
    provision(&app, "signstack", "req-1", &spec("Acme"))
        .await
        .expect(201);
}

#[tokio::test]
async fn concurrent_duplicates_run_once_and_the_rest_replay_or_wait() {
    let app = Arc::new(TestApp::start().await);
    app.org("signstack").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            provision(&app, "signstack", "req-1", &spec("Acme")).await
        }));
    }
    let mut originals = Vec::new();
    let mut replays = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        match (reply.status.as_u16(), reply.header("idempotent-replayed")) {
            (201, None) => originals.push(reply),
            (201, Some("true")) => replays.push(reply),
            (409, _) => {
                reply.expect_problem(409, "idempotency_in_progress");
                assert_eq!(reply.header("retry-after"), Some("1"));
            }
            other => panic!("unexpected answer {other:?}: {}", reply.text),
        }
    }
    assert_eq!(originals.len(), 1, "the request ran more than once");
    for replay in &replays {
        assert_eq!(replay.text, originals[0].text);
    }
    assert_eq!(app.all_pages("/v1/tenants").await.len(), 1);
}

/// Deletion leaves nothing that replays the tenant: the stored response (its
/// name, its owner, its first key's secret) is purged with the tenant, so the
/// key is free again and the same request runs anew, meeting the tombstone
/// that keeps the tenant key: `409`, nothing of the old body.
///
/// Before the fix the replay answered `201` with the old body, secret included
/// (`idempotent-replayed: true`).
#[tokio::test]
async fn a_deleted_tenants_stored_response_no_longer_replays() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let mut body = spec("Acme Personal Name");
    body["owner"] = json!({"userId": "u-ada", "email": "ada@acme.example"});
    let first = provision(&app, "signstack", "req-1", &body).await;
    first.expect(201);
    let secret = secret_of(&first.json());
    let path = "/v1/orgs/signstack/tenants/acme";
    app.post(
        &format!("{path}/deactivate"),
        &json!({"reason": "offboarding"}),
    )
    .await
    .expect(200);
    app.send(
        app.request(Method::DELETE, path)
            .query(&[("confirm", "acme")]),
    )
    .await
    .expect(200);

    let replay = provision(&app, "signstack", "req-1", &body).await;
    assert_eq!(replay.header("idempotent-replayed"), None);
    for gone in [secret.as_str(), "Acme Personal Name", "ada@acme.example"] {
        assert!(
            !replay.text.contains(gone),
            "the replay shows {gone}: {}",
            replay.text
        );
    }
    replay.expect_problem(409, "key_taken");
    // It is not stored either: another try is the same new request again.
    let again = provision(&app, "signstack", "req-1", &body).await;
    assert_eq!(again.header("idempotent-replayed"), None);
    again.expect_problem(409, "key_taken");
}
