//! The OpenAPI document: valid, complete, and in step with the router.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::app::{TOKEN, TestApp, key_id_of};

/// A well-formed id that names no key.
const NIL: &str = "00000000-0000-0000-0000-000000000000";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The API of the issue, written out by hand.
const ENDPOINTS: &[(&str, &str)] = &[
    ("post", "/v1/orgs"),
    ("get", "/v1/orgs"),
    ("get", "/v1/orgs/{org}"),
    ("patch", "/v1/orgs/{org}"),
    ("post", "/v1/orgs/{org}/tenants"),
    ("get", "/v1/orgs/{org}/tenants"),
    ("get", "/v1/tenants"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}"),
    ("delete", "/v1/orgs/{org}/tenants/{tenant}"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/suspend"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/reactivate"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/deactivate"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/restore"),
    ("put", "/v1/orgs/{org}/tenants/{tenant}/owner"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/namespaces"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/namespaces"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}"),
    ("get", "/v1/orgs/{org}/audit-events"),
    ("post", "/v1/orgs/{org}/api-keys"),
    ("get", "/v1/orgs/{org}/api-keys"),
    ("delete", "/v1/orgs/{org}/api-keys/{id}"),
    ("post", "/v1/orgs/{org}/api-keys/{id}/rotate"),
    (
        "post",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    ),
    (
        "get",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    ),
    (
        "delete",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}",
    ),
    (
        "post",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}/rotate",
    ),
    ("post", "/v1/orgs/{org}/library/listings"),
    ("get", "/v1/orgs/{org}/library/listings"),
    ("get", "/v1/orgs/{org}/library/listings/{listing}"),
    (
        "get",
        "/v1/orgs/{org}/library/listings/{listing}/versions/{version}",
    ),
    ("put", "/v1/orgs/{org}/library/listings/{listing}/grants"),
    ("get", "/v1/namespace/resources"),
    ("post", "/v1/namespace/resources"),
    ("get", "/v1/namespace/resources/{key}"),
    ("get", "/v1/namespace/resources/{key}/versions/{version}"),
    ("get", "/v1/namespace/library"),
    ("get", "/v1/namespace/library/{listing}"),
    ("post", "/v1/namespace/library/{listing}/try"),
    ("post", "/v1/namespace/library/{listing}/upgrade"),
    ("post", "/v1/namespace/library/{listing}/customize"),
    ("get", "/v1/namespace/installs"),
    ("get", "/v1/namespace/installs/{listing}/content"),
    ("get", "/v1/tenant"),
    ("put", "/v1/tenant/secrets/{name}"),
    ("get", "/v1/tenant/secrets/{name}"),
    ("delete", "/v1/tenant/secrets/{name}"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/secrets"),
    ("put", "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}"),
    ("delete", "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}"),
    ("get", "/v1/namespace"),
    ("get", "/v1/namespace/api-keys"),
    ("post", "/v1/namespace/api-keys"),
    ("delete", "/v1/namespace/api-keys/{id}"),
    ("post", "/v1/namespace/api-keys/{id}/rotate"),
    ("post", "/v1/keys/verify"),
    ("get", "/v1/regions"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

/// Endpoints anyone may call.
const PUBLIC: &[&str] = &[
    "/v1/keys/verify",
    "/v1/regions",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
];

async fn served_document(app: &TestApp) -> Value {
    let reply = app.send(app.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.expect(200)
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_the_same_as_the_library_gives() {
    let app = TestApp::start().await;
    let served = served_document(&app).await;
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(
        served,
        serde_json::to_value(adapters_http::openapi()).unwrap()
    );
    for scheme in ["adminToken", "orgKey", "namespaceKey"] {
        let declared = &served["components"]["securitySchemes"][scheme];
        assert_eq!(declared["type"], "http", "{scheme}");
        assert_eq!(declared["scheme"], "bearer", "{scheme}");
    }
    let codes = &served["components"]["schemas"]["ProblemCode"]["enum"];
    for code in [
        "validation_failed",
        "invalid_transition",
        "unavailable",
        "payload_too_large",
    ] {
        assert!(
            codes.as_array().unwrap().contains(&Value::from(code)),
            "{code}"
        );
    }
}

#[tokio::test]
async fn the_document_lists_exactly_the_endpoints_of_the_api() {
    let documented = operations(&serde_json::to_value(adapters_http::openapi()).unwrap());
    let expected: BTreeSet<_> = ENDPOINTS
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    assert!(
        extra.is_empty(),
        "documented but not in the list: {extra:?}"
    );
}

/// Fills `{org}`, `{tenant}` and `{ns}` with values that exist, and `{id}`
/// with `key_id`.
fn concrete(path: &str, key_id: &str) -> String {
    path.replace("{org}", "signstack")
        .replace("{tenant}", "acme")
        .replace("{ns}", "acme-live")
        .replace("{id}", key_id)
        .replace("{listing}", PROBE_LISTING)
        .replace("{key}", PROBE_RESOURCE)
        .replace("{version}", "1.0.0")
        .replace("{name}", PROBE_SECRET)
}

/// The secret `{name}` names, stored on tenant `acme` before each namespace
/// probe.
const PROBE_SECRET: &str = "probe-secret";

/// The listing and resource the library's `{listing}`, `{key}` and `{version}`
/// name: published, stored and installed by [`probe_library`].
const PROBE_LISTING: &str = "probe_listing";
const PROBE_RESOURCE: &str = "probe_resource";

/// Publishes `probe_listing` 1.0.0 to every namespace of `signstack`, stores
/// `probe_resource` 1.0.0 in `acme-live` and tries the listing there, so that
/// every library operation of a namespace key has something to act on.
async fn probe_library(app: &TestApp, namespace_key: &str) {
    app.post(
        "/v1/orgs/signstack/library/listings",
        &json!({
            "key": PROBE_LISTING, "title": "Probe", "resourceType": "blueprint",
            "version": "1.0.0", "content": {},
            "accessGrants": [{"orgId": app.org_id("signstack").await, "namespaceKeys": "*"}],
        }),
    )
    .await
    .expect(201);
    app.post_as(
        namespace_key,
        "/v1/namespace/resources",
        &json!({"key": PROBE_RESOURCE, "type": "blueprint", "version": "1.0.0", "content": {}}),
    )
    .await
    .expect(201);
    app.post_as(
        namespace_key,
        &format!("/v1/namespace/library/{PROBE_LISTING}/try"),
        &json!({}),
    )
    .await
    .expect(201);
}

/// A body that lets a key holding only the operation's scope succeed.
fn probe_body(method: &str, path: &str, scope: &str, call: usize) -> Option<Value> {
    match (method, path) {
        ("post", "/v1/namespace/resources") => Some(json!({
            "key": format!("probe_{call}"), "type": "blueprint", "version": "1.0.0", "content": {},
        })),
        ("post", p) if p.ends_with("/customize") => Some(json!({"key": format!("fork_{call}")})),
        ("post", p) if p.ends_with("/rotate") || p.ends_with("/try") || p.ends_with("/upgrade") => {
            Some(json!({}))
        }
        ("post", _) => Some(json!({"name": "probe", "scopes": [scope]})),
        ("put", p) if p.ends_with("/secrets/{name}") => Some(json!({"value": "probe-value"})),
        _ => None,
    }
}

/// The operation's security requirements, as (scheme, scopes) pairs.
fn requirements(op: &Value) -> Vec<(String, Vec<String>)> {
    op["security"]
        .as_array()
        .map(|all| {
            all.iter()
                .flat_map(|r| r.as_object().unwrap())
                .map(|(scheme, scopes)| {
                    let scopes = scopes.as_array().unwrap();
                    let scopes = scopes.iter().map(|s| s.as_str().unwrap().to_owned());
                    (scheme.clone(), scopes.collect())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Compares the router with the document, without a token: a documented
/// operation is routed (401 where the document asks for any token, an answer
/// other than 401/404/405 elsewhere); any other method on a documented path is
/// 405. A route the document forgets to protect, or a method it forgets to list,
/// fails here.
#[tokio::test]
async fn the_router_serves_every_documented_operation_and_guards_it_as_documented() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let doc = served_document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = app.anonymous(http_method, &concrete(path, NIL));
            if method != "get" && method != "delete" {
                request = request.header(CONTENT_TYPE, "application/json").body("{}");
            }
            let reply = app.send(request).await;
            let case = format!("{method} {path}");
            match item.get(method) {
                None => {
                    reply.expect_problem(405, "method_not_allowed");
                }
                Some(op) => {
                    let secured = !requirements(op).is_empty();
                    assert_eq!(secured, !PUBLIC.contains(&path.as_str()), "{case}");
                    if secured {
                        let problem = reply.expect_problem(401, "unauthorized");
                        assert_eq!(problem["reason"], "missing", "{case}");
                    } else {
                        let status = reply.status.as_u16();
                        assert!(![401, 404, 405].contains(&status), "{case}: {}", reply.text);
                    }
                }
            }
        }
    }
}

/// What the document says of who may call an operation.
#[derive(Debug, PartialEq)]
enum Declared {
    Platform,
    Org,
    Namespace(String),
}

fn declared(case: &str, op: &Value) -> Declared {
    let requirements = requirements(op);
    let schemes: Vec<&str> = requirements.iter().map(|(s, _)| s.as_str()).collect();
    match schemes.as_slice() {
        ["adminToken"] => Declared::Platform,
        ["adminToken", "orgKey"] => Declared::Org,
        ["namespaceKey"] => match requirements[0].1.as_slice() {
            [scope] => Declared::Namespace(scope.clone()),
            other => panic!("{case}: a namespace route names one scope, not {other:?}"),
        },
        other => panic!("{case}: unexpected security {other:?}"),
    }
}

/// Every operation but the public ones declares who may call it, and the router
/// enforces exactly that: a namespace key lacking the one scope an operation
/// names is refused naming that scope, a key holding only that scope gets
/// through, and the wrong kinds of principal are refused before anything runs.
#[tokio::test]
async fn every_operation_declares_who_may_call_it_and_is_guarded_as_declared() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    let (_, first_key) = app.tenant_with_key("signstack", "acme").await;
    let org_key = crate::app::secret_of(&app.org_key("signstack").await);
    probe_library(&app, &first_key).await;
    let doc = served_document(&app).await;
    let all_scopes: Vec<String> = doc["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .expect("the Scope schema lists the scopes")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all_scopes.len(), 15);
    let mut namespace_operations = 0;
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let case = format!("{method} {path}");
        if PUBLIC.contains(&path.as_str()) {
            assert!(requirements(op).is_empty(), "{case} is public");
            continue;
        }
        let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let call = async |bearer: &str, key_id: &str, body: Option<Value>| {
            let mut request = app.request_as(bearer, http_method.clone(), &concrete(&path, key_id));
            if let Some(body) = body {
                request = request.json(&body);
            }
            app.send(request).await
        };
        match declared(&case, op) {
            Declared::Platform => {
                for refused in [&org_key, &first_key] {
                    call(refused, NIL, None)
                        .await
                        .expect_problem(403, "forbidden");
                }
            }
            Declared::Org => {
                call(&first_key, NIL, None)
                    .await
                    .expect_problem(403, "forbidden");
            }
            Declared::Namespace(scope) => {
                namespace_operations += 1;
                for refused in [TOKEN, org_key.as_str()] {
                    call(refused, NIL, None)
                        .await
                        .expect_problem(403, "forbidden");
                }
                let others: Vec<&str> = all_scopes
                    .iter()
                    .filter(|s| **s != scope)
                    .map(String::as_str)
                    .collect();
                let lacking = app
                    .key_with_scopes("signstack", "acme", "acme-live", &others)
                    .await;
                let problem = call(&lacking, NIL, None)
                    .await
                    .expect_problem(403, "missing_scope");
                assert_eq!(problem["scope"], scope.as_str(), "{case}");
                assert!(
                    problem["detail"].as_str().unwrap().contains(&scope),
                    "{case}: {problem:#}"
                );

                let holder = app
                    .key_with_scopes("signstack", "acme", "acme-live", &[&scope])
                    .await;
                // `{id}` names a fresh key of the namespace, to revoke or rotate.
                let victim = app
                    .namespace_key("signstack", "acme", "acme-live", &[])
                    .await;
                let body = probe_body(&method, &path, &scope, namespace_operations);
                if path.contains("/secrets/") {
                    // `{name}` names a secret that exists (a probe may have
                    // deleted it).
                    let stored = app
                        .put(
                            &format!("/v1/orgs/signstack/tenants/acme/secrets/{PROBE_SECRET}"),
                            &json!({"value": "probe-value"}),
                        )
                        .await;
                    assert!(stored.status.is_success(), "{}", stored.text);
                }
                let reply = call(&holder, &key_id_of(&victim), body).await;
                assert!(
                    reply.status.is_success(),
                    "{case} with only {scope}: {}",
                    reply.text
                );
            }
        }
    }
    assert_eq!(
        namespace_operations, 20,
        "every namespace operation was walked"
    );
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let doc = serde_json::to_value(adapters_http::openapi()).unwrap();
    let mut seen = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let id = doc["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
            .to_owned();
        assert!(seen.insert(id.clone()), "{id} is used twice");
    }
}

#[tokio::test]
async fn every_reference_in_the_document_resolves() {
    let doc = serde_json::to_value(adapters_http::openapi()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20, "the document uses components");
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} resolves to nothing"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn every_operation_documents_the_problems_it_can_answer() {
    let doc = serde_json::to_value(adapters_http::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let responses = op["responses"].as_object().unwrap();
            let mut expected = Vec::new();
            if !PUBLIC.contains(&path.as_str()) {
                expected.extend(["401", "403", "503"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415"]);
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has no success response"
            );
        }
    }
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let doc = serde_json::to_value(adapters_http::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", doc, {".info.version" => "[version]"});
}

/// Collects every string of a JSON document.
fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k);
            strings(v, out);
        }),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Whether `token` looks like an API key: `{prefix}_{live|test|org}_{long body}`.
fn looks_like_a_key(token: &str) -> bool {
    let parts: Vec<&str> = token.split('_').collect();
    parts.len() >= 3 && ["live", "test", "org"].contains(&parts[1]) && parts[2].len() >= 10
}

#[tokio::test]
async fn the_document_shows_no_example_secret_or_hash() {
    let doc = serde_json::to_value(adapters_http::openapi()).unwrap();
    let mut all = Vec::new();
    strings(&doc, &mut all);
    for text in all {
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            assert!(!looks_like_a_key(token), "a key-like example: {token:?}");
            let hexish = token.len() >= 40 && token.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(!hexish, "a hash-like example: {token:?}");
        }
        let base64ish = text.len() >= 40
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b));
        assert!(!base64ish, "an encoded-hash-like example: {text:?}");
    }
    // Sanity: the checks do catch what they look for.
    assert!(looks_like_a_key("tny_live_3JfAbCdEfGhIjKl"));
    let key = &doc["components"]["schemas"]["ApiKey"]["properties"];
    for field in ["secret", "hash", "keyHash"] {
        assert!(key.get(field).is_none(), "ApiKey has {field}");
    }
    let issued = &doc["components"]["schemas"]["IssuedApiKey"]["properties"]["secret"];
    assert!(issued.is_object(), "the issued key has its secret");
    assert!(issued.get("example").is_none() && issued.get("examples").is_none());
}

#[tokio::test]
async fn the_docs_page_is_html_that_embeds_the_document() {
    let app = TestApp::start().await;
    let reply = app.send(app.anonymous(Method::GET, "/docs")).await;
    assert_eq!(reply.status.as_u16(), 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        reply.text.contains("<html"),
        "{}",
        &reply.text[..200.min(reply.text.len())]
    );
    assert!(reply.text.contains("/v1/orgs/{org}/tenants"));
}

#[tokio::test]
async fn health_probes_answer_without_a_token() {
    let app = TestApp::start().await;
    let health = app.send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!(health.expect(200), serde_json::json!({"status": "ok"}));
    let ready = app.send(app.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(ready.expect(200), serde_json::json!({"status": "ready"}));
}

/// A probe whose answer the test switches.
struct Switch(std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl adapters_http::Readiness for Switch {
    async fn ready(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn readyz_follows_the_readiness_probe_both_ways() {
    let probe = std::sync::Arc::new(Switch(std::sync::atomic::AtomicBool::new(false)));
    let app = TestApp::builder().readiness(probe.clone()).start().await;

    let down = app.send(app.anonymous(Method::GET, "/readyz")).await;
    let problem = down.expect(503);
    assert_eq!(problem["code"], "not_ready", "{problem}");
    assert_eq!(problem["status"], 503, "{problem}");
    assert!(
        down.header("content-type")
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    // Liveness does not depend on the probe.
    let health = app.send(app.anonymous(Method::GET, "/healthz")).await;
    assert_eq!(health.expect(200), serde_json::json!({"status": "ok"}));

    probe.0.store(true, std::sync::atomic::Ordering::SeqCst);
    let up = app.send(app.anonymous(Method::GET, "/readyz")).await;
    assert_eq!(up.expect(200), serde_json::json!({"status": "ready"}));
}
