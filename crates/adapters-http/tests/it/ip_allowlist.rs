//! A tenant's `ipAllowlist` (security settings) holds its API keys to the
//! listed networks: a request from elsewhere is `403 ip_not_allowed` and
//! `POST /v1/keys/verify` says so, from the very next request after the
//! setting changes. The client address is the socket's peer (the tests call
//! from 127.0.0.1), or what `X-Forwarded-For` says when the peer is a trusted
//! proxy, never otherwise; `X-Forwarded-Host` likewise.

use reqwest::Method;
use reqwest::header::HOST;
use serde_json::{Value, json};

use crate::app::{Reply, TestApp};

const SECURITY: &str = "/v1/orgs/signstack/tenants/acme/settings/security";
const NAMESPACES: &str = "/v1/namespace/resources";

async fn app_with_key(app: TestApp) -> (TestApp, String) {
    app.org("signstack").await;
    let (_, secret) = app.tenant_with_key("signstack", "acme").await;
    (app, secret)
}

async fn allow(app: &TestApp, list: Value) {
    app.patch(SECURITY, &json!({ "ipAllowlist": list }))
        .await
        .expect(200);
}

/// A namespace-key request, optionally through a proxy saying who the client is.
async fn use_key(app: &TestApp, secret: &str, forwarded_for: Option<&str>) -> Reply {
    let mut request = app.request_as(secret, Method::GET, NAMESPACES);
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    app.send(request).await
}

async fn verdict(app: &TestApp, body: Value) -> Value {
    app.send(app.anonymous(Method::POST, "/v1/keys/verify").json(&body))
        .await
        .expect(200)
}

#[tokio::test]
async fn a_key_is_refused_outside_the_list_and_accepted_inside_from_the_next_request() {
    let (app, secret) = app_with_key(TestApp::start().await).await;
    use_key(&app, &secret, None).await.expect(200);

    allow(&app, json!(["203.0.113.0/24"])).await;
    let refused = use_key(&app, &secret, None)
        .await
        .expect_problem(403, "ip_not_allowed");
    assert!(
        !refused.to_string().contains("127.0.0.1"),
        "the refusal does not echo addresses: {refused}"
    );
    assert_eq!(
        verdict(&app, json!({"key": secret})).await["code"],
        "ip_not_allowed"
    );
    let verdict_inside =
        verdict(&app, json!({"key": secret, "clientAddress": "203.0.113.7"})).await;
    assert_eq!(verdict_inside["code"], "valid", "{verdict_inside}");
    assert_eq!(verdict_inside["valid"], true);
    let outside = verdict(
        &app,
        json!({"key": secret, "clientAddress": "198.51.100.1"}),
    )
    .await;
    assert_eq!(outside["code"], "ip_not_allowed");
    assert_eq!(outside["valid"], false);
    assert_eq!(outside["scopes"], json!([]), "a refused key grants nothing");

    // Loopback, as IPv4: the tests' own address.
    allow(&app, json!(["203.0.113.0/24", "127.0.0.0/8"])).await;
    use_key(&app, &secret, None).await.expect(200);
    assert_eq!(verdict(&app, json!({"key": secret})).await["code"], "valid");

    allow(&app, json!(["::1"])).await;
    use_key(&app, &secret, None)
        .await
        .expect_problem(403, "ip_not_allowed");

    // Removing the list, or emptying it, restricts nothing again.
    app.patch(SECURITY, &json!({ "ipAllowlist": null }))
        .await
        .expect(200);
    use_key(&app, &secret, None).await.expect(200);
    allow(&app, json!(["203.0.113.0/24"])).await;
    use_key(&app, &secret, None).await.expect(403);
    allow(&app, json!([])).await;
    use_key(&app, &secret, None).await.expect(200);
}

#[tokio::test]
async fn the_list_holds_only_its_own_tenants_keys_and_never_the_admin() {
    let (app, secret) = app_with_key(TestApp::start().await).await;
    let (_, other) = app.tenant_with_key("signstack", "globex").await;
    allow(&app, json!(["203.0.113.0/24"])).await;
    use_key(&app, &secret, None).await.expect(403);
    use_key(&app, &other, None).await.expect(200);
    // The admin token is no tenant key: the list does not concern it, so the
    // operator can always lift a list that locks a tenant out.
    app.patch(SECURITY, &json!({ "ipAllowlist": null }))
        .await
        .expect(200);
    use_key(&app, &secret, None).await.expect(200);
}

#[tokio::test]
async fn a_bad_client_address_is_a_400_naming_the_field() {
    let (app, secret) = app_with_key(TestApp::start().await).await;
    for bad in [json!("203.0.113"), json!("10.0.0.0/8"), json!(7), json!("")] {
        let problem = app
            .send(
                app.anonymous(Method::POST, "/v1/keys/verify")
                    .json(&json!({"key": secret, "clientAddress": bad})),
            )
            .await
            .expect(400);
        assert!(
            problem.to_string().contains("clientAddress"),
            "{bad}: {problem}"
        );
    }
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let list = json!(["203.0.113.0/24"]);
    // No trusted proxy: whatever the client forwards, it is 127.0.0.1.
    let (direct, secret) = app_with_key(TestApp::start().await).await;
    allow(&direct, list.clone()).await;
    use_key(&direct, &secret, Some("203.0.113.7"))
        .await
        .expect_problem(403, "ip_not_allowed");

    // Behind a trusted proxy (the tests' loopback): the address it appended.
    let proxied = TestApp::builder()
        .trusted_proxies("127.0.0.0/8")
        .start()
        .await;
    let (proxied, secret) = app_with_key(proxied).await;
    allow(&proxied, list).await;
    use_key(&proxied, &secret, Some("203.0.113.7"))
        .await
        .expect(200);
    // A client forging the leftmost entry gains nothing: the proxy's is read.
    use_key(&proxied, &secret, Some("203.0.113.7, 198.51.100.1"))
        .await
        .expect_problem(403, "ip_not_allowed");
    // Nothing forwarded: the proxy itself is the client.
    use_key(&proxied, &secret, None).await.expect(403);
    // The verify endpoint reads the same address when none is given.
    let request = proxied
        .anonymous(Method::POST, "/v1/keys/verify")
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"key": secret}));
    assert_eq!(proxied.send(request).await.expect(200)["code"], "valid");
}

#[tokio::test]
async fn forwarded_host_counts_only_from_a_trusted_proxy() {
    async fn lookup(app: &TestApp) -> Reply {
        let request = app
            .anonymous(Method::GET, "/v1/public/tenant")
            .header(HOST, "proxy.internal")
            .header("x-forwarded-host", "acme.tenancy.example");
        app.send(request).await
    }
    let direct = TestApp::builder()
        .base_domain("tenancy.example")
        .start()
        .await;
    direct.org("signstack").await;
    direct.tenant("signstack", "acme").await;
    lookup(&direct).await.expect_problem(404, "not_found");

    let proxied = TestApp::builder()
        .base_domain("tenancy.example")
        .trusted_proxies("127.0.0.1")
        .start()
        .await;
    proxied.org("signstack").await;
    proxied.tenant("signstack", "acme").await;
    assert_eq!(lookup(&proxied).await.expect(200)["key"], "acme");
}
