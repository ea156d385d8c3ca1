//! A tenant's members over HTTP: added, listed beside the owner, changed and
//! removed, each audited with an event; ownership moving to a member; the
//! owner never removed; the members quota under concurrency; bad input
//! refused; another org's key sees nothing.

use serde_json::{Value, json};

use crate::app::{TestApp, secret_of};

const MEMBERS: &str = "/v1/orgs/signstack/tenants/acme/members";

fn new_member(user: &str, role: &str) -> Value {
    json!({"userId": user, "email": format!("{user}@acme.example"), "role": role})
}

async fn app_with_tenant() -> TestApp {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app.put(
        "/v1/orgs/signstack/tenants/acme/owner",
        &json!({"userId": "olga", "email": "olga@acme.example"}),
    )
    .await
    .expect(200);
    app
}

fn user_ids(listing: &Value) -> Vec<String> {
    listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["userId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn members_are_added_listed_beside_the_owner_changed_and_removed_each_with_an_event() {
    let app = app_with_tenant().await;
    let added = app.post(MEMBERS, &new_member("zoe", "member")).await;
    let location = added.header("location").unwrap().to_owned();
    let zoe = added.expect(201);
    assert_eq!(zoe["role"], "member");
    assert_eq!(zoe["joinedAt"], Value::Null);
    app.post(
        MEMBERS,
        &json!({"userId": "ada/1", "email": "ada@acme.example", "role": "admin", "joined": true}),
    )
    .await
    .expect(201);
    let listing = app.get(MEMBERS).await.expect(200);
    assert_eq!(listing["owner"]["userId"], "olga");
    assert_eq!(user_ids(&listing), ["ada/1", "zoe"], "in user id order");
    assert!(location.ends_with("/members/zoe"), "{location}");
    assert_eq!(app.get(&location).await.expect(200), zoe);
    // A user id with a slash is one percent-encoded segment.
    let ada = app.get(&format!("{MEMBERS}/ada%2F1")).await.expect(200);
    assert_eq!(ada["role"], "admin");
    assert!(ada["joinedAt"].is_string());

    let changed = app
        .patch(
            &format!("{MEMBERS}/zoe"),
            &json!({"role": "admin", "joined": true}),
        )
        .await
        .expect(200);
    assert_eq!(changed["role"], "admin");
    assert!(changed["joinedAt"].is_string());
    assert_eq!(app.delete(&format!("{MEMBERS}/zoe")).await.status, 204);
    app.get(&format!("{MEMBERS}/zoe"))
        .await
        .expect_problem(404, "not_found");

    let events = app.all_pages("/v1/orgs/signstack/events").await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for wanted in ["member.added", "member.updated", "member.removed"] {
        assert!(types.contains(&wanted), "{wanted} in {types:?}");
    }
    for event in &events {
        let text = event.to_string();
        assert!(
            !text.contains("acme.example"),
            "no email in an event: {text}"
        );
    }
    app.assert_tenant_records_sealed().await;
}

#[tokio::test]
async fn ownership_moves_to_a_member_and_the_former_owner_stays_as_an_admin() {
    let app = app_with_tenant().await;
    app.post(MEMBERS, &new_member("ada", "member"))
        .await
        .expect(201);
    let tenant = app
        .put(
            "/v1/orgs/signstack/tenants/acme/owner",
            &json!({"userId": "ada", "email": "ada@acme.example"}),
        )
        .await
        .expect(200);
    assert_eq!(tenant["owner"]["userId"], "ada");
    let listing = app.get(MEMBERS).await.expect(200);
    assert_eq!(listing["owner"]["userId"], "ada");
    assert_eq!(
        user_ids(&listing),
        ["olga"],
        "the former owner, as a member row"
    );
    assert_eq!(listing["items"][0]["role"], "admin");
}

#[tokio::test]
async fn the_owner_cannot_be_removed_and_a_user_is_in_a_tenant_once() {
    let app = app_with_tenant().await;
    app.delete(&format!("{MEMBERS}/olga"))
        .await
        .expect_problem(409, "owner_not_removable");
    app.post(MEMBERS, &new_member("olga", "admin"))
        .await
        .expect_problem(409, "member_exists");
    app.post(MEMBERS, &new_member("ada", "member"))
        .await
        .expect(201);
    app.post(MEMBERS, &new_member("ada", "admin"))
        .await
        .expect_problem(409, "member_exists");
    assert_eq!(user_ids(&app.get(MEMBERS).await.expect(200)), ["ada"]);
}

#[tokio::test]
async fn the_members_quota_counts_the_owner_and_holds_under_twenty_concurrent_adds() {
    let app = TestApp::builder().max_members(6).start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app.put(
        "/v1/orgs/signstack/tenants/acme/owner",
        &json!({"userId": "olga", "email": "olga@acme.example"}),
    )
    .await
    .expect(200);
    let bodies: Vec<Value> = (0..20)
        .map(|n| new_member(&format!("user-{n:02}"), "member"))
        .collect();
    let adds = bodies.iter().map(|body| app.post(MEMBERS, body));
    let replies = futures_util::future::join_all(adds).await;
    let mut created = 0;
    for reply in replies {
        if reply.status.as_u16() == 201 {
            created += 1;
        } else {
            let problem = reply.expect_problem(403, "quota_exceeded");
            assert_eq!(problem["quota"], "max_members");
            assert_eq!(problem["limit"], 6);
        }
    }
    assert_eq!(created, 5, "the owner and five members make six");
    assert_eq!(app.all_pages(MEMBERS).await.len(), 5);
}

#[tokio::test]
async fn bad_member_input_is_refused_field_by_field_and_changes_nothing() {
    let app = app_with_tenant().await;
    app.post(MEMBERS, &new_member("ada", "member"))
        .await
        .expect(201);
    let before = app.get(MEMBERS).await.expect(200);
    let problem = app
        .post(
            MEMBERS,
            &json!({"userId": "", "email": "nope", "role": "member"}),
        )
        .await
        .expect_problem(400, "validation_failed");
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("userId"), json!("email")]);
    app.post(MEMBERS, &new_member("bob", "owner"))
        .await
        .expect_problem(400, "malformed_json");
    for (patch, field) in [
        (json!({"role": null}), "role"),
        (json!({"email": "x"}), "email"),
        (json!({"joined": false}), "joined"),
    ] {
        let problem = app
            .patch(&format!("{MEMBERS}/ada"), &patch)
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{patch}");
    }
    app.patch(&format!("{MEMBERS}/nobody"), &json!({"role": "admin"}))
        .await
        .expect_problem(404, "not_found");
    app.post(
        "/v1/orgs/signstack/tenants/nobody/members",
        &new_member("bob", "member"),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(app.get(MEMBERS).await.expect(200), before);
}

#[tokio::test]
async fn another_orgs_key_neither_sees_nor_touches_a_tenants_members() {
    let app = app_with_tenant().await;
    app.post(MEMBERS, &new_member("ada", "member"))
        .await
        .expect(201);
    app.org("tigris").await;
    let theirs = secret_of(&app.org_key("tigris").await);
    app.get_as(&theirs, MEMBERS)
        .await
        .expect_problem(404, "not_found");
    app.post_as(&theirs, MEMBERS, &new_member("mallory", "admin"))
        .await
        .expect_problem(404, "not_found");
    let ours = secret_of(&app.org_key("signstack").await);
    assert_eq!(
        user_ids(&app.get_as(&ours, MEMBERS).await.expect(200)),
        ["ada"],
        "the org's own key manages them"
    );
}
