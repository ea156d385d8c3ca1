//! Namespaces: create, list, read, rename; refused while the tenant is not active.

use serde_json::json;

use crate::app::TestApp;

const NAMESPACES: &str = "/v1/orgs/signstack/tenants/acme/namespaces";

async fn with_tenant() -> TestApp {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app
}

#[tokio::test]
async fn namespaces_can_be_created_listed_read_and_renamed() {
    let app = with_tenant().await;
    let reply = app
        .post(
            NAMESPACES,
            &json!({"key": "acme-staging", "name": "Staging", "mode": "test"}),
        )
        .await;
    let created = reply.expect(201);
    assert_eq!(created["mode"], "test");
    assert_eq!(created["name"], "Staging");
    let id = created["id"].as_str().unwrap();
    assert!(
        reply
            .header("location")
            .unwrap()
            .ends_with(&format!("/namespaces/{id}"))
    );

    let defaulted = app
        .post(NAMESPACES, &json!({"key": "acme-extra"}))
        .await
        .expect(201);
    assert_eq!(defaulted["mode"], "live");
    assert_eq!(
        defaulted["name"], "acme-extra",
        "the name defaults to the key"
    );

    let keys: Vec<_> = app
        .all_pages(NAMESPACES)
        .await
        .iter()
        .map(|n| n["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["acme-live", "acme-staging", "acme-extra"]);

    let by_key = app
        .get(&format!("{NAMESPACES}/acme-staging"))
        .await
        .expect(200);
    let by_id = app.get(&format!("{NAMESPACES}/{id}")).await.expect(200);
    assert_eq!(by_key, created);
    assert_eq!(by_id, created);

    let renamed = app
        .patch(
            &format!("{NAMESPACES}/acme-staging"),
            &json!({"name": "Pre-production"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Pre-production");
    assert_eq!(renamed["key"], "acme-staging");
    let events = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let actions: Vec<_> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "org.created",
            "tenant.provisioned",
            "namespace.created",
            "namespace.created",
            "namespace.updated"
        ]
    );
}

#[tokio::test]
async fn namespace_keys_are_unique_within_a_tenant_only() {
    let app = with_tenant().await;
    app.tenant("signstack", "bolt").await;
    app.post(NAMESPACES, &json!({"key": "acme-live"}))
        .await
        .expect_problem(409, "key_taken");
    app.post(
        "/v1/orgs/signstack/tenants/bolt/namespaces",
        &json!({"key": "acme-live"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_suspended_tenant_accepts_no_new_namespace() {
    let app = with_tenant().await;
    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "unpaid"}),
    )
    .await
    .expect(200);
    let before = app.visible_state().await;
    let problem = app
        .post(NAMESPACES, &json!({"key": "acme-new"}))
        .await
        .expect_problem(409, "tenant_not_active");
    assert_eq!(problem["currentState"], "suspended");
    let rename = app
        .patch(
            &format!("{NAMESPACES}/acme-live"),
            &json!({"name": "Renamed"}),
        )
        .await
        .expect_problem(409, "tenant_not_active");
    assert_eq!(rename["currentState"], "suspended");
    assert_eq!(app.visible_state().await, before);
    assert_eq!(app.all_pages(NAMESPACES).await.len(), 1, "reads still work");
}

#[tokio::test]
async fn invalid_namespaces_are_refused_field_by_field() {
    let app = with_tenant().await;
    let problem = app
        .post(NAMESPACES, &json!({"key": "X", "name": ""}))
        .await
        .expect_problem(400, "validation_failed");
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("key"), json!("name")]);
    app.post(NAMESPACES, &json!({"key": "acme-prod", "mode": "prod"}))
        .await
        .expect_problem(400, "malformed_json");
    app.patch(&format!("{NAMESPACES}/acme-live"), &json!({"mode": "test"}))
        .await
        .expect_problem(400, "malformed_json");
    app.post(
        "/v1/orgs/signstack/tenants/nobody/namespaces",
        &json!({"key": "any-key"}),
    )
    .await
    .expect_problem(404, "not_found");
}
