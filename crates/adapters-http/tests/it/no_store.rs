//! Issue 12, finding 10: responses that carry a secret say `Cache-Control:
//! no-store`, replays included. Before the fix every one of them had no
//! `Cache-Control` at all (`left: None right: Some("no-store")`).

use serde_json::json;

use crate::app::{Reply, TestApp, key_id_of};

const ACME_LIVE: &str = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";

#[track_caller]
fn no_store(what: &str, reply: &Reply) {
    assert!(reply.status.is_success(), "{what}: {}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn every_response_carrying_a_secret_forbids_caching_it() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let spec = json!({"key": "acme", "name": "Acme"});
    let provision = || {
        app.request(reqwest::Method::POST, "/v1/orgs/signstack/tenants")
            .header("Idempotency-Key", "req-1")
            .json(&spec)
    };
    let first = app.send(provision()).await;
    no_store("provisioning", &first);
    let replay = app.send(provision()).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    no_store("provisioning replay", &replay);

    let created = app
        .post(ACME_LIVE, &json!({"name": "checkout", "role": "admin"}))
        .await;
    no_store("key creation", &created);
    let id = key_id_of(&created.json());
    let rotated = app
        .post(
            &format!("{ACME_LIVE}/{id}/rotate"),
            &json!({"gracePeriodSeconds": 60}),
        )
        .await;
    no_store("rotation", &rotated);

    let secret = "/v1/orgs/signstack/tenants/acme/secrets/smtp";
    app.put(secret, &json!({"value": "smtp-password-0123"}))
        .await
        .expect(201);
    no_store("reveal", &app.get(&format!("{secret}?reveal=true")).await);
}
