//! Provisioning: defaults, idempotency, conflicts and concurrency.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;

use crate::app::TestApp;

fn full_spec() -> serde_json::Value {
    json!({
        "key": "acme",
        "name": "Acme Corp",
        "plan": "pro",
        "owner": {"userId": "user_1", "email": "ops@acme.example"},
        "metadata": {"tier": "gold", "crm": "sf-42"},
        "namespaces": [
            {"key": "acme-prod", "name": "Production"},
            {"key": "acme-test", "mode": "test"}
        ]
    })
}

#[tokio::test]
async fn provisioning_answers_the_tenant_and_its_namespaces() {
    let app = TestApp::builder()
        .base_domain("tenancy.example")
        .start()
        .await;
    let org = app.org("signstack").await;
    let reply = app.post("/v1/orgs/signstack/tenants", &full_spec()).await;
    let body = reply.expect(201);
    let tenant = &body["tenant"];
    assert_eq!(
        reply.header("location"),
        Some(
            format!(
                "/v1/orgs/{}/tenants/{}",
                org["id"].as_str().unwrap(),
                tenant["id"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(tenant["orgId"], org["id"]);
    assert_eq!(tenant["subdomain"], "acme.tenancy.example");
    assert_eq!(tenant["region"], "global", "the default region");
    assert!(tenant.get("version").is_none() && tenant.get("specDigest").is_none());
    let namespaces = body["namespaces"].as_array().unwrap();
    assert_eq!(namespaces.len(), 2);
    assert_eq!(namespaces[1]["mode"], "test");
    assert_eq!(namespaces[0]["mode"], "live", "live unless asked");
    assert_eq!(namespaces[0]["tenantId"], tenant["id"]);
    // The first namespace's admin key, with its secret shown this once.
    let key = &body["apiKey"];
    assert_eq!(key["kind"], "namespace");
    assert_eq!(key["role"], "admin");
    assert_eq!(key["mode"], "live");
    assert_eq!(key["tenantId"], tenant["id"]);
    assert_eq!(key["namespaceId"], namespaces[0]["id"]);
    let secret = body["secret"].as_str().expect("the secret");
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));
    assert_eq!(app.verify(secret).await["code"], "valid");

    insta::assert_json_snapshot!("provisioned_tenant", body, {
        ".tenant.id" => "[id]",
        ".tenant.orgId" => "[id]",
        ".tenant.createdAt" => "[time]",
        ".tenant.updatedAt" => "[time]",
        ".tenant.statusChangedAt" => "[time]",
        ".namespaces[].id" => "[id]",
        ".namespaces[].orgId" => "[id]",
        ".namespaces[].tenantId" => "[id]",
        ".namespaces[].createdAt" => "[time]",
        ".namespaces[].updatedAt" => "[time]",
        ".apiKey.id" => "[id]",
        ".apiKey.tenantId" => "[id]",
        ".apiKey.namespaceId" => "[id]",
        ".apiKey.createdAt" => "[time]",
        ".apiKey.prefix" => "[prefix]",
        ".secret" => "[secret]",
    });
}

#[tokio::test]
async fn a_minimal_spec_gets_one_live_namespace_and_no_subdomain_without_a_base_domain() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let body = app
        .post(
            "/v1/orgs/signstack/tenants",
            &json!({"key": "acme", "name": "Acme"}),
        )
        .await
        .expect(201);
    assert_eq!(body["tenant"]["subdomain"], serde_json::Value::Null);
    assert_eq!(body["tenant"]["owner"], serde_json::Value::Null);
    assert_eq!(body["tenant"]["plan"], "free");
    assert_eq!(body["namespaces"][0]["key"], "acme-live");
}

#[tokio::test]
async fn replaying_a_provisioning_answers_200_with_the_same_tenant_and_no_key() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let mut first = app
        .post("/v1/orgs/signstack/tenants", &full_spec())
        .await
        .expect(201);
    let replay = app
        .post("/v1/orgs/signstack/tenants", &full_spec())
        .await
        .expect(200);
    let object = first.as_object_mut().unwrap();
    let secret = object
        .remove("secret")
        .expect("the first response has the secret");
    object.remove("apiKey").expect("and the key");
    assert_eq!(replay, first, "the same body without the key: same ids");
    assert!(!replay.to_string().contains(secret.as_str().unwrap()));
    // No second key was minted either.
    let keys = app
        .get("/v1/orgs/signstack/tenants/acme/namespaces/acme-prod/api-keys")
        .await
        .expect(200);
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
    // Spelling out a default is the same spec as leaving it out.
    let explicit = app
        .post(
            "/v1/orgs/signstack/tenants",
            &json!({"key": "plain", "name": "Plain"}),
        )
        .await
        .expect(201);
    let with_defaults = app
        .post(
            "/v1/orgs/signstack/tenants",
            &json!({"key": "plain", "name": "Plain", "plan": "free", "region": "global"}),
        )
        .await
        .expect(200);
    assert_eq!(with_defaults["tenant"]["id"], explicit["tenant"]["id"]);
}

#[tokio::test]
async fn the_same_key_with_another_spec_is_a_conflict() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let first = app
        .post("/v1/orgs/signstack/tenants", &full_spec())
        .await
        .expect(201);
    let mut other = full_spec();
    other["name"] = json!("Acme Corporation");
    let before = app.visible_state().await;
    let problem = app
        .post("/v1/orgs/signstack/tenants", &other)
        .await
        .expect_problem(409, "conflict");
    assert_eq!(problem["tenantId"], first["tenant"]["id"]);
    assert_eq!(app.visible_state().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_provisionings_create_exactly_one_tenant() {
    let app = Arc::new(TestApp::start().await);
    app.org("signstack").await;
    let requests = (0..50).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            let reply = app.post("/v1/orgs/signstack/tenants", &full_spec()).await;
            (reply.status.as_u16(), reply.json())
        })
    });
    let mut statuses = Vec::new();
    let mut ids = HashSet::new();
    let mut secrets = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        let (status, body) = request.await.expect("the request task");
        statuses.push(status);
        ids.insert(
            body["tenant"]["id"]
                .as_str()
                .expect("a tenant id")
                .to_owned(),
        );
        if let Some(secret) = body.get("secret") {
            assert_eq!(status, 201, "only the creation shows a secret");
            secrets.push(secret.clone());
        }
    }
    assert_eq!(secrets.len(), 1, "one first key, shown once");
    assert_eq!(ids.len(), 1, "everyone sees the same tenant");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        49,
        "{statuses:?}"
    );
    let inventory = app.all_pages("/v1/tenants").await;
    assert_eq!(inventory.len(), 1);
    let provisioned: Vec<_> = app
        .all_pages("/v1/orgs/signstack/audit-events")
        .await
        .into_iter()
        .filter(|e| e["action"] == "tenant.provisioned")
        .collect();
    assert_eq!(provisioned.len(), 1, "one audit record");
}

#[tokio::test]
async fn provisioning_in_an_unknown_org_is_not_found() {
    let app = TestApp::start().await;
    app.post(
        "/v1/orgs/nowhere/tenants",
        &json!({"key": "acme", "name": "Acme"}),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn duplicate_namespace_keys_in_one_request_are_refused() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let body = json!({"key": "acme", "name": "Acme",
        "namespaces": [{"key": "acme-one"}, {"key": "acme-one", "mode": "test"}]});
    app.post("/v1/orgs/signstack/tenants", &body)
        .await
        .expect_problem(400, "duplicate_namespace");
    assert!(app.all_pages("/v1/tenants").await.is_empty());
}

#[tokio::test]
async fn patching_a_tenant_merges_metadata_and_audits_the_change() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.post("/v1/orgs/signstack/tenants", &full_spec())
        .await
        .expect(201);
    let path = "/v1/orgs/signstack/tenants/acme";
    let patched = app
        .patch(
            path,
            &json!({"name": "Acme Inc", "plan": "enterprise", "metadata": {"tier": null, "region": "emea"}}),
        )
        .await
        .expect(200);
    assert_eq!(patched["name"], "Acme Inc");
    assert_eq!(patched["plan"], "enterprise");
    assert_eq!(
        patched["metadata"],
        json!({"crm": "sf-42", "region": "emea"})
    );
    let events = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let update = events.last().unwrap();
    assert_eq!(update["action"], "tenant.updated");
    let fields: Vec<_> = update["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].clone())
        .collect();
    assert_eq!(fields, [json!("name"), json!("plan"), json!("metadata")]);
    assert_eq!(
        update["changes"][0],
        json!({"field": "name", "from": "Acme Corp", "to": "Acme Inc"})
    );

    // Plain JSON is accepted for clients that cannot send merge-patch.
    let plain = app
        .send(
            app.request(reqwest::Method::PATCH, path)
                .json(&json!({"name": "Acme Again"})),
        )
        .await
        .expect(200);
    assert_eq!(plain["name"], "Acme Again");
}

#[tokio::test]
async fn a_patch_that_breaks_the_metadata_limits_is_refused() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let path = "/v1/orgs/signstack/tenants/acme";
    let before = app.get(path).await.expect(200);
    let too_many: serde_json::Map<_, _> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    app.patch(path, &json!({"metadata": too_many}))
        .await
        .expect_problem(400, "invalid_metadata");
    let bad = app
        .patch(path, &json!({"name": null, "metadata": null}))
        .await
        .expect_problem(400, "validation_failed");
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2, "{bad:#}");
    assert_eq!(app.get(path).await.expect(200), before);
}
