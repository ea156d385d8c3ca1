//! Orgs: create, list, read by key or id, rename.

use serde_json::json;

use crate::app::TestApp;

#[tokio::test]
async fn orgs_can_be_created_read_listed_and_renamed() {
    let app = TestApp::start().await;
    let reply = app
        .post(
            "/v1/orgs",
            &json!({"key": "signstack", "name": "SignStack"}),
        )
        .await;
    let org = reply.expect(201);
    let id = org["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("/v1/orgs/{id}").as_str())
    );
    let mut fields: Vec<_> = org.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["createdAt", "id", "key", "name", "updatedAt"]);

    assert_eq!(app.get("/v1/orgs/signstack").await.expect(200), org);
    assert_eq!(app.get(&format!("/v1/orgs/{id}")).await.expect(200), org);

    for key in ["tigris", "ithbat"] {
        app.org(key).await;
    }
    let first = app.get("/v1/orgs?limit=2").await.expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let all = app.all_pages("/v1/orgs?limit=2").await;
    let keys: Vec<_> = all.iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["signstack", "tigris", "ithbat"]);

    let renamed = app
        .patch("/v1/orgs/signstack", &json!({"name": "SignStack Inc"}))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "SignStack Inc");
    assert_eq!(renamed["key"], "signstack");
    app.patch("/v1/orgs/signstack", &json!({"key": "other"}))
        .await
        .expect_problem(400, "malformed_json");
    app.patch("/v1/orgs/nowhere", &json!({"name": "X"}))
        .await
        .expect_problem(404, "not_found");
}
