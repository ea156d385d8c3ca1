//! Settings over HTTP: each group read with its `ETag` and changed by JSON
//! merge-patch (`null` removes), every bad value refused by field with
//! nothing changed, a stale `If-Match` refused with 412, a namespace's
//! effective branding over its tenant's over its org's, audited by field
//! name with an event, and nothing for another org's key.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, IF_MATCH};
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, secret_of};

const TENANT: &str = "/v1/orgs/signstack/tenants/acme";

async fn app_with_tenant() -> TestApp {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app
}

async fn patch_if(app: &TestApp, path: &str, etag: &str, body: &Value) -> Reply {
    let request = app
        .request(Method::PATCH, path)
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .header(IF_MATCH, etag)
        .body(body.to_string());
    app.send(request).await
}

#[tokio::test]
async fn each_group_reads_with_its_etag_and_changes_by_merge_patch() {
    let app = app_with_tenant().await;
    let general = format!("{TENANT}/settings/general");
    let empty = app.get(&general).await;
    assert_eq!(empty.header("etag"), Some("\"0\""));
    assert_eq!(empty.expect(200), json!({}));
    let changed = app
        .patch(
            &general,
            &json!({"defaultLanguage": "en-us", "timezone": "Europe/Berlin", "currency": "EUR",
                    "dateFormat": "DD.MM.YYYY"}),
        )
        .await;
    assert_eq!(changed.header("etag"), Some("\"1\""));
    assert_eq!(
        changed.expect(200),
        json!({"defaultLanguage": "en-US", "timezone": "Europe/Berlin", "currency": "EUR",
               "dateFormat": "DD.MM.YYYY"})
    );
    let removed = app
        .patch(&general, &json!({"timezone": null}))
        .await
        .expect(200);
    assert!(removed.get("timezone").is_none(), "{removed}");
    assert_eq!(app.get(&general).await.expect(200), removed);

    let security = format!("{TENANT}/settings/security");
    let secured = app
        .patch(
            &security,
            &json!({"requireMfa": true, "ipAllowlist": ["203.0.113.0/24", "2001:db8::/32"],
                    "allowedAuthMethods": ["sso", "passkey"], "sessionTimeoutMinutes": 60}),
        )
        .await
        .expect(200);
    assert_eq!(
        secured["ipAllowlist"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );
    let branding = format!("{TENANT}/settings/branding");
    let branded = app
        .patch(
            &branding,
            &json!({"primaryColor": "#1a2b3c", "senderEmail": "hi@acme.example"}),
        )
        .await
        .expect(200);
    assert_eq!(branded["primaryColor"], "#1A2B3C");
}

#[tokio::test]
async fn every_bad_value_is_refused_by_its_field_and_changes_nothing() {
    let app = app_with_tenant().await;
    let cases = [
        (
            "general",
            json!({"defaultLanguage": "not a tag"}),
            "defaultLanguage",
        ),
        ("general", json!({"timezone": "Mars/Olympus"}), "timezone"),
        ("general", json!({"currency": "eur"}), "currency"),
        ("general", json!({"dateFormat": "YY"}), "dateFormat"),
        ("branding", json!({"primaryColor": "red"}), "primaryColor"),
        (
            "branding",
            json!({"logoUrl": "http://acme.example/logo.png"}),
            "logoUrl",
        ),
        ("branding", json!({"senderEmail": "nope"}), "senderEmail"),
        (
            "security",
            json!({"ipAllowlist": ["10.0.0.0/33"]}),
            "ipAllowlist",
        ),
        (
            "security",
            json!({"sessionTimeoutMinutes": 1}),
            "sessionTimeoutMinutes",
        ),
        (
            "security",
            json!({"allowedAuthMethods": []}),
            "allowedAuthMethods",
        ),
        ("branding", json!({"nickname": "x"}), "nickname"),
    ];
    for (group, patch, field) in cases {
        let path = format!("{TENANT}/settings/{group}");
        let problem = app
            .patch(&path, &patch)
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{patch}");
        let unchanged = app.get(&path).await;
        assert_eq!(
            unchanged.header("etag"),
            Some("\"0\""),
            "{patch} changed nothing"
        );
    }
    app.patch(&format!("{TENANT}/settings/general"), &json!([1]))
        .await
        .expect_problem(400, "malformed_json");
    app.get("/v1/orgs/signstack/tenants/nobody/settings/general")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412_and_a_current_one_applies() {
    let app = app_with_tenant().await;
    let path = format!("{TENANT}/settings/branding");
    app.patch(&path, &json!({"companyName": "Acme"}))
        .await
        .expect(200);
    let problem = patch_if(&app, &path, "\"0\"", &json!({"companyName": "Stale"}))
        .await
        .expect_problem(412, "precondition_failed");
    assert_eq!(problem["currentVersion"], "\"1\"");
    assert_eq!(app.get(&path).await.expect(200)["companyName"], "Acme");
    let applied = patch_if(&app, &path, "\"1\"", &json!({"companyName": "Fresh"})).await;
    assert_eq!(applied.header("etag"), Some("\"2\""));
    assert_eq!(applied.expect(200)["companyName"], "Fresh");
    patch_if(&app, &path, "yesterday", &json!({}))
        .await
        .expect_problem(400, "invalid_header");
}

#[tokio::test]
async fn two_namespaces_show_their_own_effective_branding_and_an_override_removed_falls_back() {
    let app = app_with_tenant().await;
    app.post(
        &format!("{TENANT}/namespaces"),
        &json!({"key": "acme-staging", "name": "Staging"}),
    )
    .await
    .expect(201);
    app.patch(
        "/v1/orgs/signstack/settings/branding",
        &json!({"accentColor": "#FFCC00", "companyName": "SignStack"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{TENANT}/settings/branding"),
        &json!({"companyName": "Acme", "primaryColor": "#112233"}),
    )
    .await
    .expect(200);
    let live = format!("{TENANT}/namespaces/acme-live/settings/branding");
    let staging = format!("{TENANT}/namespaces/acme-staging/settings/branding");
    let overridden = app
        .patch(
            &live,
            &json!({"companyName": "Acme Live", "senderName": "Acme Robot"}),
        )
        .await
        .expect(200);
    assert_eq!(
        overridden["override"],
        json!({"companyName": "Acme Live", "senderName": "Acme Robot"})
    );
    assert_eq!(
        overridden["effective"],
        json!({"companyName": "Acme Live", "senderName": "Acme Robot",
               "primaryColor": "#112233", "accentColor": "#FFCC00"})
    );
    let plain = app.get(&staging).await.expect(200);
    assert_eq!(plain["override"], json!({}));
    assert_eq!(
        plain["effective"],
        json!({"companyName": "Acme", "primaryColor": "#112233", "accentColor": "#FFCC00"})
    );
    let fallen_back = app
        .patch(&live, &json!({"companyName": null}))
        .await
        .expect(200);
    assert_eq!(fallen_back["effective"]["companyName"], "Acme");
    assert_eq!(fallen_back["effective"]["senderName"], "Acme Robot");
}

#[tokio::test]
async fn changes_are_audited_by_field_name_with_an_event_and_hidden_from_another_org() {
    let app = app_with_tenant().await;
    app.patch(
        &format!("{TENANT}/settings/branding"),
        &json!({"senderEmail": "hello@acme.example"}),
    )
    .await
    .expect(200);
    let events = app.all_pages("/v1/orgs/signstack/events").await;
    assert!(events.iter().any(|e| e["type"] == "settings.updated"));
    let trail = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let last = trail.last().unwrap();
    assert_eq!(last["action"], "settings.updated");
    assert_eq!(
        last["changes"],
        json!([{"field": "senderEmail", "from": null, "to": null}])
    );
    assert!(
        !last.to_string().contains("hello@acme.example"),
        "no value in the audit"
    );
    app.assert_tenant_records_sealed().await;

    app.org("tigris").await;
    let theirs = secret_of(&app.org_key("tigris").await);
    app.get_as(&theirs, &format!("{TENANT}/settings/branding"))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_namespace_key_reads_and_changes_its_own_tenants_settings_by_scope_only() {
    let app = app_with_tenant().await;
    app.tenant("signstack", "globex").await;
    let reader = app
        .key_with_scopes("signstack", "acme", "acme-live", &["settings:read"])
        .await;
    let writer = app
        .key_with_scopes(
            "signstack",
            "acme",
            "acme-live",
            &["settings:read", "settings:write"],
        )
        .await;
    let theirs = app
        .key_with_scopes(
            "signstack",
            "globex",
            "globex-live",
            &["settings:read", "settings:write"],
        )
        .await;
    let own = "/v1/tenant/settings/general";
    let patch = |key: &str, body: &Value| {
        let request = app
            .request_as(key, Method::PATCH, own)
            .header(CONTENT_TYPE, "application/merge-patch+json")
            .body(body.to_string());
        app.send(request)
    };
    patch(&reader, &json!({"currency": "USD"}))
        .await
        .expect_problem(403, "missing_scope");
    let written = patch(&writer, &json!({"currency": "USD"})).await;
    assert_eq!(written.header("etag"), Some("\"1\""));
    assert_eq!(
        app.get_as(&reader, own).await.expect(200),
        json!({"currency": "USD"})
    );
    assert_eq!(
        app.get(&format!("{TENANT}/settings/general"))
            .await
            .expect(200),
        json!({"currency": "USD"}),
        "the same document the org sees"
    );
    assert_eq!(
        app.get_as(&theirs, own).await.expect(200),
        json!({}),
        "another tenant's key sees its own tenant's only"
    );
    patch(&theirs, &json!({"currency": "JPY"}))
        .await
        .expect(200);
    assert_eq!(
        app.get_as(&reader, own).await.expect(200)["currency"],
        "USD"
    );
}
