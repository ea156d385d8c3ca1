//! Reassigning a tenant's owner.

use serde_json::json;

use crate::app::TestApp;

#[tokio::test]
async fn the_owner_can_be_reassigned_and_the_change_is_audited() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme/owner";
    let first = app
        .put(
            path,
            &json!({"userId": "user_1", "email": "first@acme.example"}),
        )
        .await
        .expect(200);
    assert_eq!(
        first["owner"],
        json!({"userId": "user_1", "email": "first@acme.example"})
    );
    let second = app
        .put(
            path,
            &json!({"userId": "user_2", "email": "second@acme.example"}),
        )
        .await
        .expect(200);
    assert_eq!(second["owner"]["userId"], "user_2");
    assert_eq!(
        app.get("/v1/orgs/signstack/tenants/acme").await.expect(200),
        second
    );

    let events = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let last = events.last().unwrap();
    assert_eq!(last["action"], "tenant.owner_changed");
    assert_eq!(
        last["changes"],
        json!([{"field": "owner", "from": "user_1", "to": "user_2"}])
    );
}

#[tokio::test]
async fn an_invalid_owner_is_refused_field_by_field() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme/owner";
    let before = app.visible_state().await;
    let problem = app
        .put(path, &json!({"userId": "", "email": "not-an-email"}))
        .await
        .expect_problem(400, "validation_failed");
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("userId"), json!("email")]);
    app.put(path, &json!({"userId": "u"}))
        .await
        .expect_problem(400, "malformed_json");
    app.put(
        "/v1/orgs/signstack/tenants/nobody/owner",
        &json!({"userId": "u", "email": "a@b.example"}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(app.visible_state().await, before);
}
