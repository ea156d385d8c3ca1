//! Request ids: kept when acceptable, minted otherwise, echoed everywhere.

use reqwest::Method;
use serde_json::json;

use crate::app::TestApp;

#[tokio::test]
async fn a_callers_request_id_is_echoed_in_headers_problems_and_audit() {
    let app = TestApp::start().await;
    let created = app
        .send(
            app.request(Method::POST, "/v1/orgs")
                .header("x-request-id", "trace-abc-123")
                .json(&json!({"key": "signstack", "name": "SignStack"})),
        )
        .await;
    created.expect(201);
    assert_eq!(created.header("x-request-id"), Some("trace-abc-123"));
    let events = app.all_pages("/v1/orgs/signstack/audit-events").await;
    assert_eq!(events[0]["requestId"], "trace-abc-123");

    let refused = app
        .send(
            app.anonymous(Method::GET, "/v1/tenants")
                .header("x-request-id", "trace-def-456"),
        )
        .await;
    assert_eq!(refused.header("x-request-id"), Some("trace-def-456"));
    assert_eq!(
        refused.expect_problem(401, "unauthorized")["requestId"],
        "trace-def-456"
    );
}

#[tokio::test]
async fn a_request_id_is_minted_when_none_or_an_unacceptable_one_is_sent() {
    let app = TestApp::start().await;
    let too_long = "x".repeat(129);
    for sent in [
        None,
        Some(too_long.as_str()),
        Some("has spaces in it"),
        Some(""),
    ] {
        let mut request = app.request(Method::GET, "/v1/orgs/nowhere");
        if let Some(id) = sent {
            request = request.header("x-request-id", id);
        }
        let reply = app.send(request).await;
        let problem = reply.expect_problem(404, "not_found");
        let minted = reply.header("x-request-id").expect("an id").to_owned();
        assert!(!minted.is_empty());
        assert_ne!(Some(minted.as_str()), sent, "{sent:?} replaced");
        assert!(minted.len() <= 128 && minted.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(problem["requestId"], minted.as_str());
    }
    let longest = "y".repeat(128);
    let kept = app
        .send(
            app.request(Method::GET, "/healthz")
                .header("x-request-id", &longest),
        )
        .await;
    assert_eq!(kept.header("x-request-id"), Some(longest.as_str()));
}
