//! Webhook endpoints over HTTP: the secret is shown on creation and rotation
//! only, bad input changes nothing, and another org's key finds nothing.

use serde_json::{Value, json};

use crate::app::{TestApp, secret_of};

const HOOKS: &str = "/v1/orgs/signstack/webhooks";

async fn created(app: &TestApp) -> Value {
    app.org("signstack").await;
    app.post(
        HOOKS,
        &json!({
            "url": "https://hooks.example.com/tenancy",
            "description": "billing",
            "eventTypes": ["tenant.suspended", "api_key.revoked"],
        }),
    )
    .await
    .expect(201)
}

#[tokio::test]
async fn an_endpoint_is_created_read_changed_rotated_and_deleted_and_its_secret_shown_twice_only() {
    let app = TestApp::start().await;
    let endpoint = created(&app).await;
    let first = secret_of(&endpoint);
    assert!(first.starts_with("whsec_"), "{first}");
    assert_eq!(endpoint["enabled"], true);
    assert_eq!(
        endpoint["eventTypes"],
        json!(["tenant.suspended", "api_key.revoked"])
    );
    let path = format!("{HOOKS}/{}", endpoint["id"].as_str().unwrap());

    let read = app.get(&path).await.expect(200);
    assert_eq!(read.get("secret"), None);
    assert_eq!(read["url"], "https://hooks.example.com/tenancy");
    assert_eq!(app.all_pages(HOOKS).await, vec![read.clone()]);

    let changed = app
        .patch(
            &path,
            &json!({"enabled": false, "description": null, "eventTypes": []}),
        )
        .await
        .expect(200);
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["eventTypes"], json!([]));

    let rotated = app
        .post(
            &format!("{path}/rotate-secret"),
            &json!({"graceSeconds": 600}),
        )
        .await
        .expect(200);
    let second = secret_of(&rotated);
    assert_ne!(first, second);
    assert!(rotated["previousSecretExpiresAt"].is_string());

    let audit = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let text = serde_json::to_string(&audit).unwrap()
        + &serde_json::to_string(&app.all_pages(HOOKS).await).unwrap();
    for secret in [&first, &second] {
        assert!(!text.contains(&secret[6..]), "a secret was shown again");
    }
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "webhook.endpoint_created",
        "webhook.endpoint_updated",
        "webhook.secret_rotated",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    assert_eq!(app.delete(&path).await.status, 204);
    app.get(&path).await.expect_problem(404, "not_found");
    app.delete(&path).await.expect_problem(404, "not_found");
}

#[tokio::test]
async fn bad_endpoints_are_refused_and_change_nothing() {
    let app = TestApp::start().await;
    let endpoint = created(&app).await;
    let path = format!("{HOOKS}/{}", endpoint["id"].as_str().unwrap());
    let before = app.all_pages(HOOKS).await;
    for (body, field) in [
        (json!({"url": "http://hooks.example.com/"}), "url"),
        (json!({"url": "https://127.0.0.1/hook"}), "url"),
        (json!({"url": "https://169.254.169.254/latest"}), "url"),
        (json!({"url": "https://[::1]/"}), "url"),
        (json!({"url": "https://10.0.0.7/"}), "url"),
        (
            json!({"url": "https://hooks.example.com/", "eventTypes": ["tenant.renamed"]}),
            "eventTypes[0]",
        ),
    ] {
        let problem = app
            .post(HOOKS, &body)
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    app.patch(&path, &json!({"url": "https://192.168.1.1/"}))
        .await
        .expect_problem(400, "validation_failed");
    app.patch(&path, &json!({"enabled": null}))
        .await
        .expect_problem(400, "validation_failed");
    app.post(
        &format!("{path}/rotate-secret"),
        &json!({"graceSeconds": 604_801}),
    )
    .await
    .expect_problem(400, "validation_failed");
    app.get(&format!("{HOOKS}/not-a-uuid"))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.all_pages(HOOKS).await, before);
}

#[tokio::test]
async fn only_the_orgs_keys_and_the_admin_manage_its_endpoints() {
    let app = TestApp::start().await;
    let endpoint = created(&app).await;
    app.org("tigris").await;
    let path = format!("{HOOKS}/{}", endpoint["id"].as_str().unwrap());
    let own = secret_of(&app.org_key("signstack").await);
    let other = secret_of(&app.org_key("tigris").await);
    app.get_as(&own, &path).await.expect(200);
    app.get_as(&other, &path)
        .await
        .expect_problem(404, "not_found");
    app.get_as(
        &other,
        &format!(
            "/v1/orgs/tigris/webhooks/{}",
            endpoint["id"].as_str().unwrap()
        ),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn the_delivery_log_lists_queued_messages_and_redelivery_and_recovery_take_exactly_them() {
    use domain::ports::DeliveryStore;
    let app = TestApp::start().await;
    app.org("signstack").await;
    let endpoint = app
        .post(HOOKS, &json!({"url": "https://hooks.example.com/all"}))
        .await
        .expect(201);
    let path = format!("{HOOKS}/{}", endpoint["id"].as_str().unwrap());
    app.tenant("signstack", "acme").await;
    app.store.fan_out(app.now(), 100).await.unwrap();

    let log = app.all_pages(&format!("{path}/deliveries")).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(log[0]["event"]["type"], "tenant.provisioned");
    assert_eq!(log[0]["attempts"], json!([]));
    let id = log[0]["id"].as_str().unwrap();
    let reply = app
        .post(&format!("{path}/deliveries/{id}/redeliver"), &json!(null))
        .await;
    assert_eq!(reply.status, 202);
    app.post(
        &format!("{path}/deliveries/{}/redeliver", uuid::Uuid::nil()),
        &json!(null),
    )
    .await
    .expect_problem(404, "not_found");

    let now = app.now();
    let recovered = app
        .post(
            &format!("{path}/recover"),
            &json!({"since": now - chrono::Duration::minutes(1), "until": now + chrono::Duration::minutes(1)}),
        )
        .await;
    assert_eq!(recovered.status, 202);
    assert_eq!(recovered.json()["queued"], 1);
    app.post(
        &format!("{path}/recover"),
        &json!({"since": now, "until": now - chrono::Duration::minutes(1)}),
    )
    .await
    .expect_problem(400, "validation_failed");
    app.post(&format!("{path}/recover"), &json!({"since": "yesterday"}))
        .await
        .expect_problem(400, "malformed_json");
    assert_eq!(app.all_pages(&format!("{path}/deliveries")).await.len(), 1);
}
