//! `GET /v1/public/tenant`: the tenant a `Host` names by its subdomain, with
//! its branding over its org's defaults, for anyone; unknown hosts and tenants
//! that are not active are `404` alike, from the very next request.

use reqwest::Method;
use reqwest::header::HOST;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp};

async fn as_host(app: &TestApp, host: &str) -> Reply {
    let request = app
        .anonymous(Method::GET, "/v1/public/tenant")
        .header(HOST, host);
    app.send(request).await
}

#[tokio::test]
async fn a_subdomain_answers_its_active_tenants_branding_and_nothing_else_does() {
    let app = TestApp::builder()
        .base_domain("tenancy.example")
        .start()
        .await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app.tenant("signstack", "globex").await;
    app.patch(
        "/v1/orgs/signstack/settings/branding",
        &json!({"accentColor": "#FFCC00", "companyName": "SignStack"}),
    )
    .await
    .expect(200);
    app.patch(
        "/v1/orgs/signstack/tenants/acme/settings/branding",
        &json!({"companyName": "Acme Corp", "logoUrl": "https://acme.example/logo.png"}),
    )
    .await
    .expect(200);

    let acme = as_host(&app, "ACME.tenancy.example:443").await.expect(200);
    assert_eq!(acme["key"], "acme");
    assert_eq!(
        acme["branding"],
        json!({"companyName": "Acme Corp", "logoUrl": "https://acme.example/logo.png",
               "accentColor": "#FFCC00"})
    );
    let globex = as_host(&app, "globex.tenancy.example").await.expect(200);
    assert_eq!(
        globex["branding"],
        json!({"companyName": "SignStack", "accentColor": "#FFCC00"}),
        "the org's defaults"
    );

    let unknown = as_host(&app, "nobody.tenancy.example").await;
    let missing = unknown.expect_problem(404, "not_found");
    for host in [
        "tenancy.example",
        "acme.elsewhere.example",
        "deep.acme.tenancy.example",
    ] {
        as_host(&app, host).await.expect_problem(404, "not_found");
    }
    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "billing"}),
    )
    .await
    .expect(200);
    let suspended = as_host(&app, "acme.tenancy.example")
        .await
        .expect_problem(404, "not_found");
    let same = |p: &Value| (p["status"].clone(), p["code"].clone(), p["detail"].clone());
    assert_eq!(
        same(&suspended),
        same(&missing),
        "a suspended tenant answers as an unknown one"
    );
}

#[tokio::test]
async fn without_a_base_domain_no_host_names_a_tenant() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    as_host(&app, "acme.tenancy.example")
        .await
        .expect_problem(404, "not_found");
}
