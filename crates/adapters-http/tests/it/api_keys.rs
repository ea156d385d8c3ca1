//! API key endpoints: issuing, listing, revoking and rotating org and namespace
//! keys, what is refused and why, and rotation grace periods. That the secret is
//! shown in exactly one response is tested in `api_key_secrets`.

use std::collections::BTreeSet;

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, key_id_of, secret_of, time};

pub(crate) const ACME_LIVE: &str = "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys";

async fn app_with_acme() -> TestApp {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app
}

#[tokio::test]
async fn org_keys_are_issued_used_listed_rotated_and_revoked() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let expires_at = app.now() + Duration::days(30);
    let created = app
        .post(
            "/v1/orgs/signstack/api-keys",
            &json!({"name": "CI deploys", "expiresAt": expires_at.to_rfc3339()}),
        )
        .await
        .expect(201);
    let secret = secret_of(&created);
    let key = &created["apiKey"];
    assert!(secret.starts_with("tny_org_"), "{secret}");
    let fields: BTreeSet<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "id",
        "name",
        "prefix",
        "mode",
        "kind",
        "role",
        "scopes",
        "resources",
        "expiresAt",
        "lastUsedAt",
        "revokedAt",
        "rotatedFrom",
        "createdAt",
        "createdBy",
    ]
    .into();
    assert_eq!(fields, expected, "no tenantId or namespaceId on an org key");
    assert_eq!(key["prefix"], &secret[..12]);
    assert_eq!(
        (&key["kind"], &key["mode"], &key["role"]),
        (&json!("org"), &json!("org"), &Value::Null)
    );
    assert_eq!(key["scopes"], json!([]));
    assert_eq!(key["resources"], Value::Null);
    assert_eq!(time(&key["expiresAt"]), expires_at);
    assert_eq!(
        key["createdBy"],
        json!({"kind": "platform_admin", "id": "admin"})
    );
    let verdict = app.verify(&secret).await;
    assert_eq!(
        (&verdict["code"], &verdict["tenant"], &verdict["scopes"]),
        (&json!("valid"), &Value::Null, &json!([]))
    );

    // The key works on its org: here it provisions a tenant, and is the actor.
    app.advance(Duration::minutes(5));
    app.post_as(
        &secret,
        "/v1/orgs/signstack/tenants",
        &json!({"key": "acme", "name": "Acme"}),
    )
    .await
    .expect(201);
    let events = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let provisioned = events
        .iter()
        .find(|e| e["action"] == "tenant.provisioned")
        .unwrap();
    assert_eq!(
        provisioned["actor"],
        json!({"kind": "org_key", "id": key["id"]})
    );
    assert!(events.iter().any(|e| e["action"] == "api_key.created"
        && e["target"] == json!({"type": "api_key", "id": key["id"]})));
    let listed = app.get("/v1/orgs/signstack/api-keys").await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], key["id"]);
    assert_eq!(
        time(&listed["items"][0]["lastUsedAt"]),
        app.now(),
        "the use was recorded"
    );

    // Rotation without a body: no grace, the old secret stops at once.
    let id = key["id"].as_str().unwrap();
    let rotated = app
        .send(app.request(
            Method::POST,
            &format!("/v1/orgs/signstack/api-keys/{id}/rotate"),
        ))
        .await
        .expect(201);
    let new_secret = secret_of(&rotated);
    assert_eq!(rotated["apiKey"]["rotatedFrom"], key["id"]);
    assert_eq!(rotated["apiKey"]["name"], "CI deploys");
    assert_eq!(app.verify(&secret).await["code"], "revoked");
    app.get_as(&new_secret, "/v1/orgs/signstack")
        .await
        .expect(200);

    let new_id = key_id_of(&rotated);
    let path = format!("/v1/orgs/signstack/api-keys/{new_id}");
    let revoked = app.delete(&path).await.expect(200);
    assert_eq!(time(&revoked["revokedAt"]), app.now());
    app.advance(Duration::minutes(1));
    assert_eq!(
        app.delete(&path).await.expect(200),
        revoked,
        "revoking twice changes nothing"
    );
    app.get_as(&new_secret, "/v1/orgs/signstack")
        .await
        .expect_problem(401, "unauthorized");
    app.post(&format!("{path}/rotate"), &json!({}))
        .await
        .expect_problem(409, "key_inactive");
}

#[tokio::test]
async fn namespace_keys_carry_their_role_scopes_resources_and_mode() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.post(
        "/v1/orgs/signstack/tenants",
        &json!({"key": "acme", "name": "Acme",
            "namespaces": [{"key": "acme-live"}, {"key": "acme-test", "mode": "test"}]}),
    )
    .await
    .expect(201);
    let ns = app
        .get("/v1/orgs/signstack/tenants/acme/namespaces/acme-live")
        .await
        .expect(200);
    let create = async |body: Value| app.post(ACME_LIVE, &body).await.expect(201);

    let member = create(json!({"name": "m", "role": "member"})).await;
    let key = &member["apiKey"];
    assert_eq!(
        (&key["kind"], &key["mode"], &key["role"]),
        (&json!("namespace"), &json!("live"), &json!("member"))
    );
    assert_eq!(key["tenantId"], ns["tenantId"]);
    assert_eq!(key["namespaceId"], ns["id"]);
    let scopes = key["scopes"].as_array().unwrap();
    assert!(scopes.contains(&json!("resources:write")));
    assert!(!scopes.contains(&json!("keys:write")));
    assert!(secret_of(&member).starts_with("tny_live_"));

    let listed = create(json!({"name": "l", "scopes": ["keys:read", "tenant:read"]})).await;
    assert_eq!(listed["apiKey"]["role"], Value::Null);
    assert_eq!(
        listed["apiKey"]["scopes"],
        json!(["tenant:read", "keys:read"])
    );
    let verdict = app.verify(&secret_of(&listed)).await;
    assert_eq!(verdict["scopes"], json!(["tenant:read", "keys:read"]));

    let default = create(json!({"name": "d"})).await;
    assert_eq!(default["apiKey"]["role"], "member", "member unless told");
    let nothing = create(json!({"name": "n", "scopes": []})).await;
    assert_eq!(nothing["apiKey"]["scopes"], json!([]));

    let restricted = create(json!({"name": "r", "resources": ["standard_nda"]})).await;
    assert_eq!(restricted["apiKey"]["resources"], json!(["standard_nda"]));

    let test_key = app
        .post(
            "/v1/orgs/signstack/tenants/acme/namespaces/acme-test/api-keys",
            &json!({"name": "t", "role": "admin"}),
        )
        .await
        .expect(201);
    assert_eq!(test_key["apiKey"]["mode"], "test");
    assert!(secret_of(&test_key).starts_with("tny_test_"));
    // Each namespace lists its own keys only.
    let live = app.get(ACME_LIVE).await.expect(200);
    assert_eq!(live["items"].as_array().unwrap().len(), 6);
    assert!(
        live["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["namespaceId"] == ns["id"])
    );
}

#[tokio::test]
async fn key_listings_are_paginated() {
    let app = app_with_acme().await;
    for i in 0..4 {
        app.post(ACME_LIVE, &json!({"name": format!("k{i}")}))
            .await
            .expect(201);
    }
    let page = app.get(&format!("{ACME_LIVE}?limit=2")).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["nextCursor"].is_string());
    let all = app.all_pages(&format!("{ACME_LIVE}?limit=2")).await;
    assert_eq!(all.len(), 5, "the first key and four more");
    app.get(&format!("{ACME_LIVE}?cursor=garbage"))
        .await
        .expect_problem(400, "invalid_cursor");
    app.get(&format!("{ACME_LIVE}?limit=0"))
        .await
        .expect_problem(400, "invalid_query");
}

/// The field errors of a `validation_failed` problem.
#[track_caller]
fn invalid_fields(reply: &Reply) -> Vec<(String, String)> {
    let problem = reply.expect_problem(400, "validation_failed");
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invalid_key_requests_are_refused_naming_what_is_wrong() {
    let app = app_with_acme().await;
    let count = async || {
        app.get(ACME_LIVE).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = count().await;

    let both = app
        .post(
            ACME_LIVE,
            &json!({"name": "x", "role": "admin", "scopes": ["keys:read"]}),
        )
        .await;
    assert_eq!(invalid_fields(&both)[0].0, "scopes");

    let unknown = app
        .post(
            ACME_LIVE,
            &json!({"name": "x", "scopes": ["keys:read", "keys:delete", "everything"]}),
        )
        .await;
    let errors = invalid_fields(&unknown);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, "scopes[1]");
    assert!(errors[0].1.contains("keys:delete"), "{errors:?}");
    assert_eq!(errors[1].0, "scopes[2]");
    assert!(errors[1].1.contains("everything"), "{errors:?}");

    let resources = app
        .post(
            ACME_LIVE,
            &json!({"name": "x", "resources": ["Not A Key", "standard_nda"]}),
        )
        .await;
    assert_eq!(invalid_fields(&resources)[0].0, "resources[0]");

    for expiry in ["next week", "2030-01-01"] {
        let reply = app
            .post(ACME_LIVE, &json!({"name": "x", "expiresAt": expiry}))
            .await;
        assert_eq!(invalid_fields(&reply)[0].0, "expiresAt", "{expiry}");
    }
    let past = (app.now() - Duration::seconds(1)).to_rfc3339();
    let reply = app
        .post(ACME_LIVE, &json!({"name": "x", "expiresAt": past}))
        .await;
    assert_eq!(
        invalid_fields(&reply),
        [("expiresAt".to_owned(), "must be in the future".to_owned())]
    );

    let role = app
        .post(ACME_LIVE, &json!({"name": "x", "role": "owner"}))
        .await
        .expect_problem(400, "malformed_json");
    assert_eq!(role["field"], "role");
    app.post(ACME_LIVE, &json!({"name": "x", "secret": "mine"}))
        .await
        .expect_problem(400, "malformed_json");
    app.post(
        "/v1/orgs/signstack/api-keys",
        &json!({"name": "x", "role": "admin"}),
    )
    .await
    .expect_problem(400, "malformed_json");
    assert_eq!(count().await, before, "nothing was created");

    let id = key_id_of(&app.post(ACME_LIVE, &json!({"name": "r"})).await.expect(201));
    let rotate = format!("{ACME_LIVE}/{id}/rotate");
    for grace in [json!(-1), json!(30 * 24 * 3600 + 1), json!(i64::MAX)] {
        let reply = app
            .post(&rotate, &json!({ "gracePeriodSeconds": grace }))
            .await;
        let errors = invalid_fields(&reply);
        assert_eq!(errors[0].0, "gracePeriodSeconds", "{grace}");
        assert!(errors[0].1.contains("2592000"), "{errors:?}");
    }
    app.post(&rotate, &json!({"gracePeriodSeconds": 1.5}))
        .await
        .expect_problem(400, "malformed_json");
    app.post(&rotate, &json!({"gracePeriodSeconds": 30 * 24 * 3600}))
        .await
        .expect(201);
    app.post(&rotate, &json!(null)).await.expect(201);
    app.post(&rotate, &json!([]))
        .await
        .expect_problem(400, "malformed_json");
    let text = app
        .send(
            app.request(Method::POST, &rotate)
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    text.expect_problem(415, "unsupported_media_type");
    let bare = app
        .send(app.request(Method::POST, &rotate).body("{}"))
        .await;
    bare.expect_problem(415, "unsupported_media_type");

    for path in [
        format!("{ACME_LIVE}/00000000-0000-0000-0000-000000000000"),
        format!("{ACME_LIVE}/not-a-uuid"),
    ] {
        let problem = app.delete(&path).await.expect_problem(404, "not_found");
        assert!(problem["detail"].as_str().unwrap().contains("API key"));
    }
    app.get("/v1/orgs/signstack/tenants/acme/namespaces/nowhere/api-keys")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn keys_are_not_issued_or_rotated_in_a_tenant_that_is_not_active() {
    let app = app_with_acme().await;
    let id = key_id_of(&app.post(ACME_LIVE, &json!({"name": "k"})).await.expect(201));
    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "billing"}),
    )
    .await
    .expect(200);
    let problem = app
        .post(ACME_LIVE, &json!({"name": "new"}))
        .await
        .expect_problem(409, "tenant_not_active");
    assert_eq!(problem["currentState"], "suspended");
    app.post(&format!("{ACME_LIVE}/{id}/rotate"), &json!({}))
        .await
        .expect_problem(409, "tenant_not_active");
    // Revoking is always allowed: it only takes access away.
    app.delete(&format!("{ACME_LIVE}/{id}")).await.expect(200);
}

#[tokio::test]
async fn a_rotated_key_keeps_working_until_its_grace_period_ends() {
    let app = app_with_acme().await;
    let old = app
        .post(
            ACME_LIVE,
            &json!({"name": "checkout", "scopes": ["tenant:read", "keys:read"]}),
        )
        .await
        .expect(201);
    let (old_secret, old_id) = (secret_of(&old), key_id_of(&old));
    let rotated = app
        .post(
            &format!("{ACME_LIVE}/{old_id}/rotate"),
            &json!({"gracePeriodSeconds": 3600}),
        )
        .await
        .expect(201);
    let new_secret = secret_of(&rotated);
    let new_key = &rotated["apiKey"];
    assert_eq!(new_key["rotatedFrom"], old_id.as_str());
    assert_eq!(new_key["name"], "checkout");
    assert_eq!(new_key["scopes"], old["apiKey"]["scopes"], "same access");
    let listed = app.all_pages(ACME_LIVE).await;
    let old_now = listed.iter().find(|k| k["id"] == old_id.as_str()).unwrap();
    assert_eq!(time(&old_now["expiresAt"]), app.now() + Duration::hours(1));

    let both_work = async || {
        for secret in [&old_secret, &new_secret] {
            assert_eq!(app.verify(secret).await["code"], "valid");
            app.get_as(secret, "/v1/namespace").await.expect(200);
        }
    };
    both_work().await;
    app.advance(Duration::seconds(3599));
    both_work().await;
    app.advance(Duration::seconds(1));
    assert_eq!(app.verify(&old_secret).await["code"], "expired");
    let problem = app
        .get_as(&old_secret, "/v1/namespace")
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(problem["reason"], "expired");
    assert_eq!(app.verify(&new_secret).await["code"], "valid");
    app.get_as(&new_secret, "/v1/namespace").await.expect(200);
}

#[tokio::test]
async fn a_rotation_without_grace_revokes_the_old_secret_at_once() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, admin_key) = app.tenant_with_key("signstack", "acme").await;
    let created = app
        .namespace_key("signstack", "acme", "acme-live", &["tenant:read"])
        .await;
    let (old, id) = (secret_of(&created), key_id_of(&created));
    assert_eq!(app.verify(&old).await["code"], "valid");
    app.get_as(&old, "/v1/namespace").await.expect(200);
    // From the namespace side this time, with no body: grace 0.
    let rotated = app
        .send(app.request_as(
            &admin_key,
            Method::POST,
            &format!("/v1/namespace/api-keys/{id}/rotate"),
        ))
        .await
        .expect(201);
    assert_eq!(app.verify(&old).await["code"], "revoked");
    let problem = app
        .get_as(&old, "/v1/namespace")
        .await
        .expect_problem(401, "unauthorized");
    assert_eq!(problem["reason"], "revoked");
    let new = secret_of(&rotated);
    assert_eq!(app.verify(&new).await["code"], "valid");
    app.get_as(&new, "/v1/namespace").await.expect(200);
}
