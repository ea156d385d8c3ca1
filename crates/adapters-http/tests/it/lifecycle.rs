//! The tenant lifecycle over HTTP: every (state, action) pair.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, time};

const STATES: [&str; 4] = ["active", "suspended", "deactivated", "deleted"];
const ACTIONS: [&str; 5] = ["suspend", "reactivate", "deactivate", "restore", "delete"];

/// Where each action leads from each state (`None`: refused), written out by hand
/// from docs/api.md §2 rather than derived from the domain.
fn expected(state: &str, action: &str) -> Option<&'static str> {
    match (state, action) {
        ("active", "suspend") => Some("suspended"),
        ("active", "deactivate") => Some("deactivated"),
        ("suspended", "reactivate") => Some("active"),
        ("suspended", "deactivate") => Some("deactivated"),
        ("deactivated", "restore") => Some("active"),
        ("deactivated", "delete") => Some("deleted"),
        _ => None,
    }
}

fn tenant_path(org: &str, tenant: &Value) -> String {
    format!("/v1/orgs/{org}/tenants/{}", tenant["key"].as_str().unwrap())
}

/// Runs `action` on the tenant at `path` with this reason and request id.
async fn act(
    app: &TestApp,
    path: &str,
    key: &str,
    action: &str,
    reason: &str,
) -> crate::app::Reply {
    let request = if action == "delete" {
        app.request(Method::DELETE, path)
            .query(&[("confirm", key), ("reason", reason)])
    } else {
        app.request(Method::POST, &format!("{path}/{action}"))
            .json(&json!({"reason": reason}))
    };
    app.send(request.header("x-request-id", format!("req-{action}-{key}")))
        .await
}

/// Brings a fresh tenant to `state` through the API.
async fn tenant_in(app: &TestApp, org: &str, key: &str, state: &str) -> Value {
    let tenant = app.tenant(org, key).await;
    let path = tenant_path(org, &tenant);
    let steps: &[&str] = match state {
        "active" => &[],
        "suspended" => &["suspend"],
        "deactivated" => &["deactivate"],
        "deleted" => &["deactivate", "delete"],
        other => panic!("no such state {other}"),
    };
    for step in steps {
        act(app, &path, key, step, "setting up").await.expect(200);
    }
    let current = app.get(&path).await.expect(200);
    assert_eq!(current["status"], state);
    current
}

async fn audit_of(app: &TestApp, org: &str, tenant_id: &str) -> Vec<Value> {
    app.all_pages(&format!("/v1/orgs/{org}/audit-events?tenant={tenant_id}"))
        .await
}

#[tokio::test]
async fn every_state_and_action_pair_follows_the_lifecycle() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    for (i, state) in STATES.into_iter().enumerate() {
        for (j, action) in ACTIONS.into_iter().enumerate() {
            let key = format!("tenant-{i}-{j}");
            let before = tenant_in(&app, "signstack", &key, state).await;
            let id = before["id"].as_str().unwrap().to_owned();
            let path = tenant_path("signstack", &before);
            let audit_before = audit_of(&app, "signstack", &id).await;
            app.advance(Duration::minutes(5));
            let reason = format!("because {action} from {state}");
            let reply = act(&app, &path, &key, action, &reason).await;
            let case = format!("{state} --{action}-->");

            match expected(state, action) {
                Some(to) => {
                    let after = reply.expect(200);
                    assert_eq!(after["status"], to, "{case}");
                    assert_eq!(after["id"], id.as_str(), "{case}");
                    let audit = audit_of(&app, "signstack", &id).await;
                    assert_eq!(audit.len(), audit_before.len() + 1, "{case}: one new event");
                    let event = audit.last().unwrap();
                    assert_eq!(
                        event["action"],
                        format!("tenant.{}", past(action)),
                        "{case}"
                    );
                    if to == "deleted" {
                        // Sealed with the tenant's key, destroyed with it.
                        assert_eq!(event["reason"], Value::Null, "{case}");
                        assert_eq!(event["redacted"], true, "{case}");
                    } else {
                        assert_eq!(event["reason"], reason.as_str(), "{case}");
                        assert_eq!(event["redacted"], false, "{case}");
                    }
                    assert_eq!(
                        event["actor"],
                        json!({"kind": "platform_admin", "id": "admin"})
                    );
                    assert_eq!(event["target"], json!({"type": "tenant", "id": id}));
                    assert_eq!(event["requestId"], format!("req-{action}-{key}"), "{case}");
                    assert_eq!(time(&event["at"]), app.now(), "{case}");
                    if to == "deleted" {
                        assert_is_tombstone(&after, &id, &key);
                        assert_eq!(time(&after["deletedAt"]), app.now(), "{case}");
                        assert_eq!(after["deletedBy"]["kind"], "platform_admin");
                    } else {
                        assert_eq!(time(&after["statusChangedAt"]), app.now(), "{case}");
                        assert_eq!(
                            after["statusChangedBy"],
                            json!({"kind": "platform_admin", "id": "admin"}),
                            "{case}"
                        );
                        assert_eq!(after["statusReason"], reason.as_str(), "{case}");
                        assert_eq!(
                            after["retentionEndsAt"].is_null(),
                            to != "deactivated",
                            "{case}: retention runs only while deactivated"
                        );
                    }
                    let read = app.get(&path).await.expect(200);
                    assert_eq!(read, after, "{case}: reading it back");
                }
                None => {
                    let problem = reply.expect_problem(409, "invalid_transition");
                    assert_eq!(problem["currentState"], state, "{case}");
                    assert_eq!(problem["action"], action, "{case}");
                    assert_eq!(
                        problem["detail"],
                        format!("cannot {action} a tenant that is {state}"),
                        "{case}"
                    );
                    assert_eq!(problem["requestId"], format!("req-{action}-{key}"));
                    let read = app.get(&path).await.expect(200);
                    assert_eq!(read, before, "{case}: nothing changed");
                    let audit = audit_of(&app, "signstack", &id).await;
                    assert_eq!(audit, audit_before, "{case}: nothing audited");
                }
            }
        }
    }
}

fn past(action: &str) -> &'static str {
    match action {
        "suspend" => "suspended",
        "reactivate" => "reactivated",
        "deactivate" => "deactivated",
        "restore" => "restored",
        "delete" => "deleted",
        other => panic!("no such action {other}"),
    }
}

#[track_caller]
fn assert_is_tombstone(body: &Value, id: &str, key: &str) {
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["deletedAt", "deletedBy", "id", "key", "orgId", "status"],
        "a tombstone shows nothing else: {body:#}"
    );
    assert_eq!(body["id"], id);
    assert_eq!(body["key"], key);
    assert_eq!(body["status"], "deleted");
}

#[tokio::test]
async fn deleted_tenants_are_tombstones_everywhere() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let key = "gone";
    let tenant = tenant_in(&app, "signstack", key, "deleted").await;
    let id = tenant["id"].as_str().unwrap();
    assert_is_tombstone(&tenant, id, key);

    let listed = app.get("/v1/tenants?status=deleted").await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_is_tombstone(&listed["items"][0], id, key);
    let default = app.get("/v1/tenants").await.expect(200);
    assert_eq!(
        default["items"],
        json!([]),
        "tombstones show only when asked for"
    );

    let path = format!("/v1/orgs/signstack/tenants/{id}");
    app.patch(&path, &json!({"name": "Back"}))
        .await
        .expect_problem(409, "tenant_deleted");
    app.put(
        &format!("{path}/owner"),
        &json!({"userId": "u1", "email": "a@b.example"}),
    )
    .await
    .expect_problem(409, "tenant_deleted");
    app.get(&format!("{path}/namespaces"))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn deleting_needs_the_tenant_key_as_confirmation() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let tenant = tenant_in(&app, "signstack", "acme", "deactivated").await;
    let path = tenant_path("signstack", &tenant);

    let missing = app.delete(&path).await;
    missing.expect_problem(400, "confirmation_required");
    let wrong = app.delete(&format!("{path}?confirm=other")).await;
    wrong.expect_problem(400, "confirmation_required");
    assert_eq!(app.get(&path).await.expect(200)["status"], "deactivated");

    let done = app
        .delete(&format!("{path}?confirm=acme"))
        .await
        .expect(200);
    assert_eq!(done["status"], "deleted");
}

#[tokio::test]
async fn transitions_need_a_reason() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme/suspend";
    let blank = app.post(path, &json!({"reason": "  "})).await;
    let problem = blank.expect_problem(400, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "reason");
    app.post(path, &json!({}))
        .await
        .expect_problem(400, "malformed_json");
    assert_eq!(
        app.get("/v1/orgs/signstack/tenants/acme").await.expect(200)["status"],
        "active"
    );
}

#[tokio::test]
async fn lifecycle_actions_on_unknown_tenants_are_not_found() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    for action in ["suspend", "reactivate", "deactivate", "restore"] {
        let path = format!("/v1/orgs/signstack/tenants/nobody/{action}");
        app.post(&path, &json!({"reason": "x"}))
            .await
            .expect_problem(404, "not_found");
    }
    app.delete("/v1/orgs/signstack/tenants/nobody?confirm=nobody")
        .await
        .expect_problem(404, "not_found");
    app.post(
        "/v1/orgs/nowhere/tenants/acme/suspend",
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
}
