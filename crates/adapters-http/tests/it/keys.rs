//! Keys and regions: what provisioning refuses, and with which problem.

use serde_json::json;

use crate::app::{TestApp, two_regions};

#[tokio::test]
async fn invalid_tenant_keys_are_refused_with_the_reason() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let long = "a".repeat(64);
    let cases: &[(&str, &str)] = &[
        ("ab", "at least 3 characters"),
        (&long, "at most 63 characters"),
        ("Acme", "lowercase letters, digits and '-'"),
        ("ac_me", "lowercase letters, digits and '-'"),
        ("acme corp", "lowercase letters, digits and '-'"),
        ("-acme", "start and end"),
        ("acme-", "start and end"),
        ("admin", "reserved"),
        ("www", "reserved"),
    ];
    let before = app.visible_state().await;
    for (key, why) in cases {
        let problem = app
            .post(
                "/v1/orgs/signstack/tenants",
                &json!({"key": key, "name": "Acme"}),
            )
            .await
            .expect_problem(400, "validation_failed");
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{key}: {problem:#}");
        assert_eq!(errors[0]["field"], "key", "{key}");
        let message = errors[0]["message"].as_str().unwrap();
        assert!(
            message.contains(why),
            "{key}: {message:?} should say {why:?}"
        );
    }
    assert_eq!(app.visible_state().await, before, "nothing was written");
}

#[tokio::test]
async fn tenant_keys_are_unique_across_orgs() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.org("tigris").await;
    app.tenant("signstack", "acme").await;
    let before = app.visible_state().await;
    let problem = app
        .post(
            "/v1/orgs/tigris/tenants",
            &json!({"key": "acme", "name": "Acme"}),
        )
        .await
        .expect_problem(409, "key_taken");
    assert!(problem["detail"].as_str().unwrap().contains("acme"));
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test]
async fn a_deleted_tenants_key_stays_taken() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme";
    app.post(
        &format!("{path}/deactivate"),
        &json!({"reason": "offboarding"}),
    )
    .await
    .expect(200);
    app.delete(&format!("{path}?confirm=acme"))
        .await
        .expect(200);
    app.post(
        "/v1/orgs/signstack/tenants",
        &json!({"key": "acme", "name": "Acme"}),
    )
    .await
    .expect_problem(409, "key_taken");
}

#[tokio::test]
async fn org_keys_are_validated_and_unique() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.post("/v1/orgs", &json!({"key": "signstack", "name": "Again"}))
        .await
        .expect_problem(409, "key_taken");
    let problem = app
        .post("/v1/orgs", &json!({"key": "S", "name": ""}))
        .await
        .expect_problem(400, "validation_failed");
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["key", "name"], "both fields at once");
    // Reserved names are a tenant rule (subdomains), not an org rule.
    app.post("/v1/orgs", &json!({"key": "admin", "name": "Admin"}))
        .await
        .expect(201);
}

#[tokio::test]
async fn regions_must_be_configured_and_open_to_new_tenants() {
    let app = TestApp::builder().regions(two_regions()).start().await;
    app.org("signstack").await;
    let provision = |key: &str, region: &str| json!({"key": key, "name": "Acme", "region": region});
    app.post("/v1/orgs/signstack/tenants", &provision("closed", "us-old"))
        .await
        .expect_problem(400, "region_unavailable");
    app.post(
        "/v1/orgs/signstack/tenants",
        &provision("nowhere", "mars-1"),
    )
    .await
    .expect_problem(400, "unknown_region");
    let problem = app
        .post(
            "/v1/orgs/signstack/tenants",
            &provision("bad", "Not A Region"),
        )
        .await
        .expect_problem(400, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "region");
    let placed = app
        .post(
            "/v1/orgs/signstack/tenants",
            &provision("in-europe", "eu-west"),
        )
        .await
        .expect(201);
    assert_eq!(placed["tenant"]["region"], "eu-west");
    let defaulted = app.tenant("signstack", "default").await;
    assert_eq!(defaulted["region"], "eu-west", "the first available region");
}

#[tokio::test]
async fn regions_are_listed_without_a_token() {
    let app = TestApp::builder().regions(two_regions()).start().await;
    let reply = app
        .send(app.anonymous(reqwest::Method::GET, "/v1/regions"))
        .await;
    assert_eq!(
        reply.expect(200),
        json!({"items": [
            {"code": "eu-west", "name": "Europe West", "available": true},
            {"code": "us-old", "name": "US (closed)", "available": false},
        ]})
    );
}
