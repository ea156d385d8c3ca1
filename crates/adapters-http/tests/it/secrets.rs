//! Tenant secrets over HTTP: namespace keys and the org side, masking, reveal
//! with its scope and audit record, validation, and what a KMS outage does.

use domain::ports::{DataKeyStore, DataScope, SecretStore};
use domain::{SecretName, TenantId};
use reqwest::Method;
use serde_json::json;

use crate::app::TestApp;

const VALUE: &str = "smtp-pass-Zq81-very-secret";

async fn tenant_id(app: &TestApp, tenant: &serde_json::Value) -> TenantId {
    let _ = app;
    TenantId::from_uuid(tenant["id"].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn a_namespace_key_stores_reads_masked_and_deletes_its_tenants_secret() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (tenant, _) = app.tenant_with_key("signstack", "acme").await;
    let writer = app
        .key_with_scopes(
            "signstack",
            "acme",
            "acme-live",
            &["secrets:read", "secrets:reveal"],
        )
        .await;
    let reader = app
        .key_with_scopes("signstack", "acme", "acme-live", &["secrets:read"])
        .await;
    let path = "/v1/tenant/secrets/smtp-password";

    let created = app
        .put_as(&writer, path, &json!({ "value": VALUE }))
        .await
        .expect(201);
    assert_eq!(created["name"], "smtp-password");
    assert_eq!(created["masked"], "****");
    assert!(created.get("value").is_none(), "{created}");
    assert!(!created.to_string().contains(VALUE));

    let read = app.get_as(&reader, path).await.expect(200);
    assert_eq!(read["masked"], "****");
    assert!(read.get("value").is_none());

    // Reveal needs secrets:reveal.
    app.get_as(&reader, &format!("{path}?reveal=true"))
        .await
        .expect_problem(403, "missing_scope");
    let revealed = app
        .get_as(&writer, &format!("{path}?reveal=true"))
        .await
        .expect(200);
    assert_eq!(revealed["value"], VALUE);

    // The store holds no plaintext.
    let stored = app
        .store
        .get_secret(
            &DataScope::Platform,
            tenant_id(&app, &tenant).await,
            &SecretName::parse("smtp-password").unwrap(),
        )
        .await
        .unwrap()
        .expect("stored");
    assert!(
        !stored
            .sealed
            .windows(VALUE.len())
            .any(|w| w == VALUE.as_bytes())
    );

    // Writing needs secrets:reveal.
    app.put_as(&reader, path, &json!({ "value": "other" }))
        .await
        .expect_problem(403, "missing_scope");
    let replaced = app
        .put_as(&writer, path, &json!({ "value": "short" }))
        .await
        .expect(200);
    assert_eq!(replaced["masked"], "****");
    assert_eq!(replaced["version"], 2);

    let deleted = app
        .send(app.request_as(&writer, Method::DELETE, path))
        .await;
    assert_eq!(deleted.status, 204);
    app.get_as(&reader, path)
        .await
        .expect_problem(404, "not_found");

    // Every write and the reveal are in the audit trail, without the value.
    let audit = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let actions: Vec<_> = audit
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("secret."))
        .collect();
    assert_eq!(
        actions,
        [
            "secret.written",
            "secret.revealed",
            "secret.written",
            "secret.deleted"
        ]
    );
    let trail = serde_json::to_string(&audit).unwrap();
    assert!(!trail.contains(VALUE) && !trail.contains("short\""));
}

#[tokio::test]
async fn the_org_side_lists_reads_and_reveals_a_tenants_secrets() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app.tenant("signstack", "beta").await;
    let base = "/v1/orgs/signstack/tenants/acme/secrets";
    for name in ["webhook.signing", "SSO_CLIENT_SECRET", "smtp"] {
        app.put(
            &format!("{base}/{name}"),
            &json!({ "value": format!("{name}-value-0123") }),
        )
        .await
        .expect(201);
    }
    let listed = app.get(base).await.expect(200);
    let names: Vec<_> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["SSO_CLIENT_SECRET", "smtp", "webhook.signing"]);
    assert!(!listed.to_string().contains("-value-0123\""));
    let page = app.get(&format!("{base}?limit=2")).await.expect(200);
    let next = page["nextCursor"].as_str().unwrap();
    let rest = app
        .get(&format!("{base}?limit=2&cursor={next}"))
        .await
        .expect(200);
    assert_eq!(rest["items"][0]["name"], "webhook.signing");

    let revealed = app
        .get(&format!("{base}/smtp?reveal=true"))
        .await
        .expect(200);
    assert_eq!(revealed["value"], "smtp-value-0123");
    // Another tenant has none of them; an org key of another org sees nothing.
    app.get("/v1/orgs/signstack/tenants/beta/secrets/smtp")
        .await
        .expect_problem(404, "not_found");
    app.org("other").await;
    let other = crate::app::secret_of(&app.org_key("other").await);
    app.get_as(&other, &format!("{base}/smtp"))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn bad_names_values_and_bodies_are_clear_400s_that_store_nothing() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let base = "/v1/orgs/signstack/tenants/acme/secrets";
    let bad = app
        .put(&format!("{base}/-bad"), &json!({ "value": "x" }))
        .await;
    let problem = bad.expect_problem(400, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "name");
    app.put(&format!("{base}/ok"), &json!({ "value": "" }))
        .await
        .expect_problem(400, "validation_failed");
    let huge = "x".repeat(64 * 1024 + 1);
    app.put(&format!("{base}/ok"), &json!({ "value": huge }))
        .await
        .expect_problem(400, "validation_failed");
    app.put(&format!("{base}/ok"), &json!({ "value": 5 }))
        .await
        .expect_problem(400, "malformed_json");
    app.get(&format!("{base}/ok?reveal=maybe"))
        .await
        .expect_problem(400, "invalid_query");
    assert_eq!(app.get(base).await.expect(200)["items"], json!([]));
}

#[tokio::test]
async fn a_kms_outage_is_a_503_and_stores_nothing() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let before = app.visible_state().await;

    app.kms.set_available(false);
    let refused = app
        .post(
            "/v1/orgs/signstack/tenants",
            &json!({"key": "beta", "name": "Beta"}),
        )
        .await;
    let problem = refused.expect_problem(503, "unavailable");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("key management")
    );
    // Unwrapped keys are cached for five minutes: past that, writing a secret
    // needs the KMS again.
    app.advance(chrono::Duration::minutes(6));
    let secret = app
        .put(
            "/v1/orgs/signstack/tenants/acme/secrets/smtp",
            &json!({ "value": VALUE }),
        )
        .await;
    secret.expect_problem(503, "unavailable");
    assert!(!secret.text.contains(VALUE));

    // Back (listing a tenant's audit events opens them with its key too).
    app.kms.set_available(true);
    assert_eq!(app.visible_state().await, before, "nothing was stored");
    app.put(
        "/v1/orgs/signstack/tenants/acme/secrets/smtp",
        &json!({ "value": VALUE }),
    )
    .await
    .expect(201);
    app.tenant("signstack", "beta").await;
}

#[tokio::test]
async fn deleting_a_tenant_destroys_its_data_key_and_keeps_the_audit_trail() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let tenant = app.tenant("signstack", "acme").await;
    let id = tenant_id(&app, &tenant).await;
    app.put(
        "/v1/orgs/signstack/tenants/acme/secrets/smtp",
        &json!({ "value": VALUE }),
    )
    .await
    .expect(201);
    assert!(
        app.store
            .data_key(&DataScope::Platform, id)
            .await
            .unwrap()
            .is_some()
    );
    app.post(
        "/v1/orgs/signstack/tenants/acme/deactivate",
        &json!({"reason": "offboarding"}),
    )
    .await
    .expect(200);
    app.delete("/v1/orgs/signstack/tenants/acme?confirm=acme")
        .await
        .expect(200);
    assert_eq!(
        app.store.data_key(&DataScope::Platform, id).await.unwrap(),
        None
    );
    app.get("/v1/orgs/signstack/tenants/acme/secrets/smtp")
        .await
        .expect_problem(404, "not_found");
    let actions: Vec<_> = app
        .all_pages("/v1/orgs/signstack/audit-events")
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(actions.contains(&"secret.written".to_owned()));
    assert!(actions.contains(&"tenant.deleted".to_owned()));
}
