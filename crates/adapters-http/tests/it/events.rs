//! The pull feed: the org's events, thin, paged with `after`, for the org's
//! keys and the admin only, over the last 30 days.

use chrono::Duration;
use serde_json::{Value, json};

use crate::app::{TestApp, secret_of};

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn acme_suspended(app: &TestApp) {
    app.org("signstack").await;
    app.org("tigris").await;
    app.post(
        "/v1/orgs/signstack/tenants",
        &json!({"key": "acme", "name": "Acme of Ada", "owner": {"userId": "u-ada", "email": "ada@acme.example"}}),
    )
    .await
    .expect(201);
    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "Ada stopped paying"}),
    )
    .await
    .expect(200);
    app.tenant("tigris", "initech").await;
}

#[tokio::test]
async fn the_feed_lists_the_orgs_events_in_order_in_the_webhook_shape_and_nothing_personal() {
    let app = TestApp::start().await;
    acme_suspended(&app).await;
    let events = app.all_pages("/v1/orgs/signstack/events?limit=1").await;
    assert_eq!(types(&events), ["tenant.provisioned", "tenant.suspended"]);
    let suspended = &events[1];
    let mut keys: Vec<&str> = suspended
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "id", "timestamp", "type"]);
    let tenant = app.get("/v1/orgs/signstack/tenants/acme").await.expect(200);
    assert_eq!(suspended["data"]["tenantId"], tenant["id"]);
    assert_eq!(
        suspended["data"]["target"],
        json!({"type": "tenant", "id": tenant["id"]})
    );
    assert_eq!(suspended["data"]["actor"]["kind"], "platform_admin");
    assert!(suspended["data"]["requestId"].is_string());
    let text = serde_json::to_string(&events).unwrap();
    for personal in ["Ada", "ada@", "paying"] {
        assert!(!text.contains(personal), "{personal} in the feed: {text}");
    }

    let page = app
        .get("/v1/orgs/signstack/events?limit=1")
        .await
        .expect(200);
    let after = page["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/v1/orgs/signstack/events?after={after}"))
        .await
        .expect(200);
    assert_eq!(
        types(rest["items"].as_array().unwrap()),
        ["tenant.suspended"]
    );
    let only = app
        .get("/v1/orgs/signstack/events?type=tenant.suspended,api_key.revoked")
        .await
        .expect(200);
    assert_eq!(
        types(only["items"].as_array().unwrap()),
        ["tenant.suspended"]
    );
}

#[tokio::test]
async fn only_the_orgs_own_keys_and_the_admin_read_its_feed() {
    let app = TestApp::start().await;
    acme_suspended(&app).await;
    let own = secret_of(&app.org_key("signstack").await);
    let other = secret_of(&app.org_key("tigris").await);
    let (_, ns_key) = app.tenant_with_key("signstack", "globex").await;
    app.get_as(&ns_key, "/v1/orgs/signstack/events")
        .await
        .expect_problem(403, "forbidden");
    let read = app
        .get_as(&own, "/v1/orgs/signstack/events")
        .await
        .expect(200);
    assert_eq!(
        types(read["items"].as_array().unwrap()),
        [
            "tenant.provisioned",
            "tenant.suspended",
            "api_key.created",
            "tenant.provisioned"
        ],
        "an org key's creation is an org-level event"
    );
    app.get_as(&other, "/v1/orgs/signstack/events")
        .await
        .expect_problem(404, "not_found");
    let tigris = app
        .get_as(&other, "/v1/orgs/tigris/events")
        .await
        .expect(200);
    assert_eq!(
        types(tigris["items"].as_array().unwrap()),
        ["tenant.provisioned", "api_key.created"]
    );
}

#[tokio::test]
async fn events_older_than_thirty_days_are_not_served() {
    let app = TestApp::start().await;
    acme_suspended(&app).await;
    app.advance(Duration::days(30) - Duration::seconds(1));
    assert_eq!(app.all_pages("/v1/orgs/signstack/events").await.len(), 2);
    app.advance(Duration::seconds(2));
    assert_eq!(
        app.all_pages("/v1/orgs/signstack/events").await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn bad_feed_parameters_are_refused() {
    let app = TestApp::start().await;
    acme_suspended(&app).await;
    for query in [
        "type=tenant.renamed",
        "after=a&cursor=b",
        "limit=0",
        "since=yesterday",
    ] {
        app.get(&format!("/v1/orgs/signstack/events?{query}"))
            .await
            .expect_problem(400, "invalid_query");
    }
    app.get("/v1/orgs/signstack/events?after=garbage")
        .await
        .expect_problem(400, "invalid_cursor");
}
