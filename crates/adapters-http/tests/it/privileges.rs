//! What each kind of principal may not do, whatever the target: an org key
//! on platform-only endpoints, a namespace key on org routes (and the admin
//! token on namespace routes), and a key minting a key that can do more than
//! itself.

use reqwest::Method;
use serde_json::json;

use crate::app::{TOKEN, TestApp, secret_of};

#[tokio::test]
async fn an_org_key_cannot_use_platform_only_endpoints() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme";
    app.post(&format!("{path}/deactivate"), &json!({"reason": "churn"}))
        .await
        .expect(200);
    let key = secret_of(&app.org_key("signstack").await);
    let before = app.visible_state().await;
    let attempts = [
        app.request_as(&key, Method::POST, "/v1/orgs")
            .json(&json!({"key": "mine", "name": "Mine"})),
        app.request_as(&key, Method::GET, "/v1/orgs"),
        app.request_as(&key, Method::GET, "/v1/tenants"),
        app.request_as(&key, Method::GET, "/v1/tenants?org=signstack"),
        app.request_as(&key, Method::POST, &format!("{path}/restore"))
            .json(&json!({"reason": "back"})),
    ];
    for attempt in attempts {
        app.send(attempt).await.expect_problem(403, "forbidden");
    }
    assert_eq!(app.visible_state().await, before, "nothing changed");
    // What the org key may do, it does.
    let own = app
        .get_as(&key, "/v1/orgs/signstack/tenants")
        .await
        .expect(200);
    assert_eq!(own["items"][0]["key"], "acme");
}

#[tokio::test]
async fn namespace_keys_are_refused_on_org_routes_and_the_admin_token_on_namespace_routes() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, key) = app.tenant_with_key("signstack", "acme").await;
    for path in [
        "/v1/orgs/signstack",
        "/v1/orgs/signstack/tenants/acme",
        "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys",
        "/v1/tenants",
    ] {
        let problem = app
            .get_as(&key, path)
            .await
            .expect_problem(403, "forbidden");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("org key or the admin token") || detail.contains("platform admin"),
            "{path}: {detail}"
        );
    }
    for path in ["/v1/tenant", "/v1/namespace", "/v1/namespace/api-keys"] {
        let problem = app
            .get_as(TOKEN, path)
            .await
            .expect_problem(403, "forbidden");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("namespace key"),
            "{path}: {problem:#}"
        );
    }
}

#[tokio::test]
async fn a_key_cannot_mint_a_key_that_can_do_more_than_itself() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let keys_path = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";
    let writer = app
        .key_with_scopes(
            "signstack",
            "acme",
            "acme-live",
            &["keys:write", "keys:read", "tenant:read"],
        )
        .await;
    let restricted = secret_of(
        &app.post(
            keys_path,
            &json!({"name": "docs only", "scopes": ["keys:write"], "resources": ["standard_nda"]}),
        )
        .await
        .expect(201),
    );
    let count = async || {
        app.get(keys_path).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;
    let cases = [
        (&writer, json!({"name": "x", "role": "admin"}), false),
        (&writer, json!({"name": "x"}), false),
        (
            &writer,
            json!({"name": "x", "scopes": ["keys:write", "usage:read"]}),
            false,
        ),
        (
            &restricted,
            json!({"name": "x", "scopes": ["keys:write"]}),
            false,
        ),
        (
            &restricted,
            json!({"name": "x", "scopes": ["keys:write"], "resources": ["other_doc"]}),
            false,
        ),
        (
            &writer,
            json!({"name": "x", "scopes": ["keys:read", "tenant:read"]}),
            true,
        ),
        (
            &restricted,
            json!({"name": "x", "scopes": [], "resources": ["standard_nda"]}),
            true,
        ),
    ];
    let mut created = 0;
    for (key, body, allowed) in cases {
        let reply = app.post_as(key, "/v1/namespace/api-keys", &body).await;
        if allowed {
            reply.expect(201);
            created += 1;
        } else {
            reply.expect_problem(403, "scope_escalation");
        }
    }
    assert_eq!(
        count().await,
        before + created,
        "refused keys were not created"
    );
}
