//! Issue 12, finding 8: control characters are refused at the edge, naming
//! the parameter, segment or field, wherever text would reach the store (the
//! Postgres-backed version is the server's `edge` test). Before the fix:
//! `left: (404, ..) right: (400, ..)` for the path segment; `left: (409, ..)`
//! for the reason, which reached the use case; and `left: (200,
//! Some("application/json"))` for the merge-patch, which stored the NUL.

use reqwest::Method;
use serde_json::json;

use crate::app::{Reply, TestApp};

#[track_caller]
fn expect_field(reply: &Reply, status: u16, code: &str, field: &str) {
    let problem = reply.expect_problem(status, code);
    let named = problem["errors"]
        .as_array()
        .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
    assert!(named, "{field}: {problem:#}");
}

#[tokio::test]
async fn a_control_character_in_a_path_segment_is_a_400_naming_it() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let reply = app.get("/v1/orgs/signstack/tenants/ac%00me").await;
    expect_field(&reply, 400, "validation_failed", "tenant");
}

#[tokio::test]
async fn a_control_character_in_a_query_parameter_is_a_400_naming_it() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let request = app
        .request(Method::DELETE, "/v1/orgs/signstack/tenants/acme")
        .query(&[("confirm", "acme"), ("reason", "gone\u{0}")]);
    expect_field(&app.send(request).await, 400, "invalid_query", "reason");
    // The tenant is untouched.
    app.get("/v1/orgs/signstack/tenants/acme").await.expect(200);
}

#[tokio::test]
async fn an_escaped_control_character_in_a_json_body_is_a_400_naming_the_field() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let reply = app
        .patch(
            "/v1/orgs/signstack/tenants/acme",
            &json!({"metadata": {"tier": "go\u{0}ld"}}),
        )
        .await;
    expect_field(&reply, 400, "validation_failed", "metadata.tier");
    let tenant = app.get("/v1/orgs/signstack/tenants/acme").await.expect(200);
    assert_eq!(tenant["metadata"], json!({}), "{tenant}");
    // Line breaks and tabs are text, not control.
    app.patch(
        "/v1/orgs/signstack/tenants/acme",
        &json!({"metadata": {"note": "two\nlines\tand a tab"}}),
    )
    .await
    .expect(200);
}
