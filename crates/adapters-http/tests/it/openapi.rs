//! The OpenAPI document: valid, complete, and in step with the router.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::app::TestApp;

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
    ("get", "/v1/regions"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

/// Endpoints anyone may call.
const PUBLIC: &[&str] = &[
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
    assert_eq!(
        served["components"]["securitySchemes"]["adminToken"]["scheme"],
        "bearer"
    );
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

/// Fills `{org}`, `{tenant}` and `{ns}` with values that exist.
fn concrete(path: &str) -> String {
    path.replace("{org}", "signstack")
        .replace("{tenant}", "acme")
        .replace("{ns}", "acme-live")
}

/// Compares the router with the document, without a token: a documented
/// operation is routed (401 where the document asks for the admin token, an
/// answer other than 401/404/405 elsewhere); any other method on a documented path
/// is 405. A route the document forgets to protect, or a method it forgets to
/// list, fails here.
#[tokio::test]
async fn the_router_serves_every_documented_operation_and_guards_it_as_documented() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let doc = served_document(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = app.anonymous(http_method, &concrete(path));
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
                    let secured = op["security"]
                        .as_array()
                        .is_some_and(|s| s.iter().any(|r| r.get("adminToken").is_some()));
                    assert_eq!(secured, !PUBLIC.contains(&path.as_str()), "{case}");
                    if secured {
                        reply.expect_problem(401, "unauthorized");
                    } else {
                        assert_eq!(reply.status.as_u16(), 200, "{case}: {}", reply.text);
                    }
                }
            }
        }
    }
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
                expected.extend(["401", "503"]);
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
