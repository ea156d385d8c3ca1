//! Issue 12, finding 10: the lists a request carries are bounded, so one
//! request cannot make the server do unbounded work: at most 50 namespaces in
//! a provisioning request, at most 100 resources on a key. Before the fix
//! both were accepted (`left: (201, Some("application/json")) right: (400,
//! Some("application/problem+json"))`).

use serde_json::json;

use crate::app::{Reply, TestApp};

#[track_caller]
fn names(reply: &Reply, field: &str) {
    let problem = reply.expect_problem(400, "validation_failed");
    let named = problem["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
    assert!(named, "{field}: {problem:#}");
}

#[tokio::test]
async fn a_provisioning_request_may_create_at_most_50_namespaces() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let namespaces = |n: usize| -> Vec<_> {
        (0..n)
            .map(|i| json!({"key": format!("acme-ns{i}")}))
            .collect()
    };
    let spec = json!({"key": "acme", "name": "Acme", "namespaces": namespaces(51)});
    names(
        &app.post("/v1/orgs/signstack/tenants", &spec).await,
        "namespaces",
    );
    app.get("/v1/orgs/signstack/tenants/acme").await.expect(404);

    let spec = json!({"key": "acme", "name": "Acme", "namespaces": namespaces(50)});
    app.post("/v1/orgs/signstack/tenants", &spec)
        .await
        .expect(201);
}

#[tokio::test]
async fn a_key_may_be_restricted_to_at_most_100_resources() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let keys = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";
    let resources = |n: usize| -> Vec<_> { (0..n).map(|i| format!("doc-{i}")).collect() };
    let body = json!({"name": "narrow", "role": "member", "resources": resources(101)});
    names(&app.post(keys, &body).await, "resources");

    let body = json!({"name": "narrow", "role": "member", "resources": resources(100)});
    app.post(keys, &body).await.expect(201);
}
