//! The OpenAPI document: valid, complete, and in step with the router. That the
//! router guards each operation as the document declares is tested in `openapi_guards`.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::TestApp;

pub(crate) const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

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
    ("get", "/v1/orgs/{org}/tenants/{tenant}/members"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/members"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/members/{member}"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/members/{member}"),
    ("delete", "/v1/orgs/{org}/tenants/{tenant}/members/{member}"),
    ("put", "/v1/orgs/{org}/tenants/{tenant}/domain"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/domain"),
    ("delete", "/v1/orgs/{org}/tenants/{tenant}/domain"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/domain/verify"),
    ("get", "/v1/orgs/{org}/settings/branding"),
    ("get", "/v1/public/tenant"),
    ("get", "/v1/orgs/{org}/settings/registration"),
    ("patch", "/v1/orgs/{org}/settings/registration"),
    ("post", "/v1/public/orgs/{org}/registrations"),
    ("post", "/v1/public/registrations/confirm"),
    ("get", "/v1/tenant/settings/general"),
    ("patch", "/v1/tenant/settings/general"),
    ("get", "/v1/tenant/settings/branding"),
    ("patch", "/v1/tenant/settings/branding"),
    ("get", "/v1/tenant/settings/security"),
    ("patch", "/v1/tenant/settings/security"),
    ("patch", "/v1/orgs/{org}/settings/branding"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/settings/general"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/settings/general"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/settings/branding"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/settings/branding"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/settings/security"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/settings/security"),
    (
        "get",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/settings/branding",
    ),
    (
        "patch",
        "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/settings/branding",
    ),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/export"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/namespaces"),
    ("post", "/v1/orgs/{org}/tenants/{tenant}/namespaces"),
    ("get", "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}"),
    ("patch", "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}"),
    ("get", "/v1/orgs/{org}/audit-events"),
    ("get", "/v1/orgs/{org}/audit-events/verify"),
    ("get", "/v1/orgs/{org}/audit-events/checkpoint"),
    ("get", "/v1/audit/signing-key"),
    ("get", "/v1/orgs/{org}/events"),
    ("post", "/v1/orgs/{org}/webhooks"),
    ("get", "/v1/orgs/{org}/webhooks"),
    ("get", "/v1/orgs/{org}/webhooks/{webhook}"),
    ("patch", "/v1/orgs/{org}/webhooks/{webhook}"),
    ("delete", "/v1/orgs/{org}/webhooks/{webhook}"),
    ("post", "/v1/orgs/{org}/webhooks/{webhook}/rotate-secret"),
    ("get", "/v1/orgs/{org}/webhooks/{webhook}/deliveries"),
    (
        "post",
        "/v1/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}/redeliver",
    ),
    ("post", "/v1/orgs/{org}/webhooks/{webhook}/recover"),
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
pub(crate) const PUBLIC: &[&str] = &[
    "/v1/keys/verify",
    "/v1/regions",
    "/v1/public/tenant",
    "/v1/public/orgs/{org}/registrations",
    "/v1/public/registrations/confirm",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
];

pub(crate) async fn served_document(app: &TestApp) -> Value {
    let reply = app.send(app.anonymous(Method::GET, "/openapi.json")).await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.expect(200)
}

pub(crate) fn operations(doc: &Value) -> BTreeSet<(String, String)> {
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
    let mut served = served_document(&app).await;
    assert_eq!(served["openapi"], "3.1.0");
    // But for the regions a registration may name: the deployment's own.
    let regions = served["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("AvailableRegion")
        .expect("the available regions");
    assert_eq!(regions["enum"], json!(["global"]), "{regions}");
    let mut library = serde_json::to_value(adapters_http::openapi()).unwrap();
    let shape = library["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("AvailableRegion")
        .expect("a region's shape");
    assert!(shape["pattern"].is_string(), "{shape}");
    assert_eq!(served, library);
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
