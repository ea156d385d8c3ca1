//! A tenant's custom domain over HTTP, verified against a real nameserver on
//! 127.0.0.1 (`adapters_dns::testing::Nameserver`) whose zone each test
//! changes, through the deployment's resolver (`HickoryDns`, no cache): each
//! answer's reason, verification and its event, failure after 7 days (the
//! background job's step, with the clock moved), re-verification, and
//! `GET /v1/public/tenant` answering for the domain only while it is verified
//! and its tenant active.

use std::sync::Arc;
use std::time::Duration;

use adapters_dns::testing::{Nameserver, ZONE};
use adapters_dns::{DnsConfig, HickoryDns};
use chrono::DateTime;
use reqwest::Method;
use reqwest::header::HOST;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp, secret_of};

const DOMAIN_PATH: &str = "/v1/orgs/signstack/tenants/acme/domain";

/// An app whose resolver asks only `ns`, with the base domain
/// `tenancy.example`, the org `signstack` (branding defaults) and its tenant
/// `acme` (its own company name).
async fn app_on(ns: &Nameserver) -> TestApp {
    let dns = HickoryDns::new(&DnsConfig {
        nameservers: vec![ns.addr],
        timeout: Duration::from_secs(5),
    })
    .expect("a resolver");
    let app = TestApp::builder()
        .base_domain("tenancy.example")
        .dns(Arc::new(dns))
        .start()
        .await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    app.patch(
        "/v1/orgs/signstack/settings/branding",
        &json!({"accentColor": "#FFCC00"}),
    )
    .await
    .expect(200);
    app.patch(
        "/v1/orgs/signstack/tenants/acme/settings/branding",
        &json!({"companyName": "Acme Corp"}),
    )
    .await
    .expect(200);
    app
}

async fn as_host(app: &TestApp, host: &str) -> Reply {
    let request = app
        .anonymous(Method::GET, "/v1/public/tenant")
        .header(HOST, host);
    app.send(request).await
}

async fn verify(app: &TestApp) -> Value {
    app.post(&format!("{DOMAIN_PATH}/verify"), &json!({}))
        .await
        .expect(200)
}

/// The `domain.*` events of the org, oldest first.
async fn domain_events(app: &TestApp) -> Vec<String> {
    app.all_pages("/v1/orgs/signstack/events")
        .await
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("domain."))
        .map(str::to_owned)
        .collect()
}

fn time(value: &Value) -> DateTime<chrono::Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .to_utc()
}

#[tokio::test]
async fn each_answer_is_its_reason_and_only_the_token_verifies_the_domain_for_its_host() {
    let ns = Nameserver::start().await;
    let app = app_on(&ns).await;
    let host = format!("login.{ZONE}");
    let challenge = format!("_tenancy-challenge.{host}");

    let added = app
        .put(DOMAIN_PATH, &json!({"domain": host.to_uppercase()}))
        .await
        .expect(201);
    assert_eq!(added["domain"], host.as_str(), "stored lower-cased");
    assert_eq!(added["status"], "pending");
    assert_eq!(added["reason"], Value::Null, "not checked yet");
    assert_eq!(added["txtRecord"]["name"], challenge.as_str());
    let token = added["txtRecord"]["value"].as_str().expect("a token");
    assert!(
        token.starts_with("tenancy-verify=") && token.len() == 47,
        "{token}"
    );
    assert_eq!(added["cnameTarget"], "acme.tenancy.example");
    assert_eq!(
        time(&added["expiresAt"]) - time(&added["startedAt"]),
        chrono::Duration::days(7)
    );
    assert_eq!(app.get(DOMAIN_PATH).await.expect(200), added);
    as_host(&app, &host).await.expect_problem(404, "not_found");

    // Nothing published: the challenge name does not exist.
    let checked = verify(&app).await;
    assert_eq!(
        (&checked["status"], &checked["reason"]),
        (&json!("pending"), &json!("nxdomain"))
    );
    // The name exists, without a TXT record.
    ns.add_host(&challenge).await;
    let checked = verify(&app).await;
    assert_eq!(
        (&checked["status"], &checked["reason"]),
        (&json!("pending"), &json!("no_record"))
    );
    assert!(checked["lastCheckedAt"].is_string());
    // Another value than the token.
    ns.add_txt(
        &challenge,
        &["tenancy-verify=00000000000000000000000000000000"],
    )
    .await;
    let checked = verify(&app).await;
    assert_eq!(
        (&checked["status"], &checked["reason"]),
        (&json!("pending"), &json!("wrong_value"))
    );
    as_host(&app, &host).await.expect_problem(404, "not_found");
    assert!(
        !domain_events(&app)
            .await
            .contains(&"domain.verified".to_owned()),
        "no verification yet"
    );

    // The token beside the wrong value.
    ns.add_txt(&challenge, &[token]).await;
    let verified = verify(&app).await;
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["reason"], Value::Null);
    assert!(verified["verifiedAt"].is_string());
    assert_eq!(verified["nextCheckAt"], Value::Null);
    assert_eq!(verified["expiresAt"], Value::Null);
    let events = domain_events(&app).await;
    assert_eq!(events.first().map(String::as_str), Some("domain.added"));
    assert_eq!(events.last().map(String::as_str), Some("domain.verified"));

    let public = as_host(&app, &format!("LOGIN.{ZONE}:443"))
        .await
        .expect(200);
    assert_eq!(public["key"], "acme");
    assert_eq!(
        public["branding"],
        json!({"companyName": "Acme Corp", "accentColor": "#FFCC00"})
    );

    app.post(
        "/v1/orgs/signstack/tenants/acme/suspend",
        &json!({"reason": "billing"}),
    )
    .await
    .expect(200);
    let suspended = as_host(&app, &host).await.expect_problem(404, "not_found");
    let unknown = as_host(&app, &format!("nobody.{ZONE}"))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(
        (&suspended["detail"], &suspended["code"]),
        (&unknown["detail"], &unknown["code"]),
        "a suspended tenant's domain answers as an unknown host"
    );
    app.post(
        "/v1/orgs/signstack/tenants/acme/reactivate",
        &json!({"reason": "paid"}),
    )
    .await
    .expect(200);
    as_host(&app, &host).await.expect(200);

    assert_eq!(app.delete(DOMAIN_PATH).await.status, 204);
    as_host(&app, &host).await.expect_problem(404, "not_found");
    app.get(DOMAIN_PATH).await.expect_problem(404, "not_found");
    assert_eq!(
        domain_events(&app).await.last().map(String::as_str),
        Some("domain.removed")
    );
}

#[tokio::test]
async fn seven_days_without_the_record_fail_the_domain_and_reverification_restarts_it() {
    let ns = Nameserver::start().await;
    let app = app_on(&ns).await;
    let host = format!("shop.{ZONE}");
    let challenge = format!("_tenancy-challenge.{host}");
    let added = app
        .put(DOMAIN_PATH, &json!({"domain": host}))
        .await
        .expect(201);

    // The background job's steps: what is due, then each checked.
    let run_job = || async {
        for due in app.tenancy.due_custom_domains(100).await.expect("listed") {
            app.tenancy.check_due_domain(&due).await.expect("checked");
        }
    };
    run_job().await;
    let first = app.get(DOMAIN_PATH).await.expect(200);
    assert_eq!(first["reason"], "nxdomain", "checked at once");
    assert_eq!(
        time(&first["nextCheckAt"]) - time(&first["lastCheckedAt"]),
        chrono::Duration::minutes(1),
        "then after the first backoff"
    );
    run_job().await;
    assert_eq!(
        app.get(DOMAIN_PATH).await.expect(200)["lastCheckedAt"],
        first["lastCheckedAt"],
        "not due again yet"
    );

    app.advance(chrono::Duration::days(7) - chrono::Duration::minutes(1));
    run_job().await;
    let almost = app.get(DOMAIN_PATH).await.expect(200);
    assert_eq!(almost["status"], "pending", "still within its 7 days");
    assert_eq!(
        almost["nextCheckAt"], added["expiresAt"],
        "due at its deadline"
    );

    app.advance(chrono::Duration::minutes(1));
    run_job().await;
    let failed = app.get(DOMAIN_PATH).await.expect(200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["reason"], "nxdomain");
    assert_eq!(failed["nextCheckAt"], Value::Null, "never checked again");
    assert_eq!(failed["expiresAt"], Value::Null);
    assert_eq!(
        domain_events(&app).await,
        ["domain.added", "domain.failed"],
        "no event for checks that change nothing but the reason and the time"
    );
    app.advance(chrono::Duration::days(1));
    run_job().await;
    assert_eq!(
        app.get(DOMAIN_PATH).await.expect(200)["lastCheckedAt"],
        failed["lastCheckedAt"],
        "a failed domain is not due"
    );

    // Re-verification: pending again with a fresh window, checked at once.
    let restarted = verify(&app).await;
    assert_eq!(restarted["status"], "pending");
    assert_eq!(restarted["reason"], "nxdomain");
    assert_eq!(
        time(&restarted["expiresAt"]),
        app.now() + chrono::Duration::days(7)
    );
    assert_eq!(
        restarted["txtRecord"], added["txtRecord"],
        "the token stays"
    );
    assert_eq!(
        domain_events(&app).await,
        ["domain.added", "domain.failed", "domain.pending"]
    );
    ns.add_txt(
        &challenge,
        &[added["txtRecord"]["value"].as_str().expect("a token")],
    )
    .await;
    app.advance(chrono::Duration::minutes(1));
    run_job().await;
    assert_eq!(app.get(DOMAIN_PATH).await.expect(200)["status"], "verified");
    assert_eq!(
        app.tenancy
            .due_custom_domains(100)
            .await
            .expect("listed")
            .len(),
        0
    );
    assert_eq!(
        domain_events(&app).await.last().map(String::as_str),
        Some("domain.verified")
    );
    as_host(&app, &host).await.expect(200);
}

#[tokio::test]
async fn bad_names_a_second_domain_anothers_name_and_the_base_domain_are_refused_and_change_nothing()
 {
    let ns = Nameserver::start().await;
    let app = app_on(&ns).await;
    app.tenant("signstack", "globex").await;
    for bad in [
        json!({"domain": "localhost"}),
        json!({"domain": "10.0.0.1"}),
        json!({"domain": "*.acme.example"}),
        json!({"domain": "-acme.example"}),
        json!({"domain": "acme_corp.example"}),
        json!({"domain": format!("{}.example", "a".repeat(64))}),
        json!({"domain": ""}),
    ] {
        let problem = app
            .put(DOMAIN_PATH, &bad)
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "domain", "{bad}");
    }
    app.put(DOMAIN_PATH, &json!({"domain": 7}))
        .await
        .expect_problem(400, "malformed_json");
    app.put(DOMAIN_PATH, &json!({"domain": "a.example", "extra": 1}))
        .await
        .expect_problem(400, "malformed_json");
    for reserved in [
        "tenancy.example",
        "acme.tenancy.example",
        "x.y.tenancy.example",
    ] {
        let problem = app
            .put(DOMAIN_PATH, &json!({"domain": reserved}))
            .await
            .expect_problem(422, "domain_unusable");
        assert_eq!(problem["errors"][0]["field"], "domain");
    }
    let long = format!(
        "{}.{}.{}.{}.example",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60),
        "d".repeat(50)
    );
    app.put(DOMAIN_PATH, &json!({"domain": long}))
        .await
        .expect_problem(422, "domain_unusable");
    app.get(DOMAIN_PATH).await.expect_problem(404, "not_found");
    assert!(domain_events(&app).await.is_empty(), "nothing changed");

    let added = app
        .put(DOMAIN_PATH, &json!({"domain": "login.acme.example"}))
        .await
        .expect(201);
    let again = app
        .put(DOMAIN_PATH, &json!({"domain": "Login.Acme.Example."}))
        .await
        .expect(200);
    assert_eq!(again, added, "the same name again is the domain as it is");
    app.put(DOMAIN_PATH, &json!({"domain": "www.acme.example"}))
        .await
        .expect_problem(409, "domain_exists");
    app.put(
        "/v1/orgs/signstack/tenants/globex/domain",
        &json!({"domain": "login.acme.example"}),
    )
    .await
    .expect_problem(409, "domain_taken");
    assert_eq!(app.get(DOMAIN_PATH).await.expect(200), added);
    app.get("/v1/orgs/signstack/tenants/globex/domain")
        .await
        .expect_problem(404, "not_found");
    assert_eq!(domain_events(&app).await, ["domain.added"]);

    // Another org's key sees nothing of it.
    app.org("tigris").await;
    let key = secret_of(&app.org_key("tigris").await);
    app.get_as(&key, DOMAIN_PATH)
        .await
        .expect_problem(404, "not_found");
}
