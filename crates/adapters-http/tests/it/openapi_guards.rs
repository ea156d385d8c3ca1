//! The router guards every operation as the OpenAPI document declares: who may
//! call it (the admin token, an org key, or a namespace key with one scope) and
//! that it answers at all. The probes fill every path with objects that exist.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::app::{TOKEN, TestApp, key_id_of};
use crate::openapi::{METHODS, PUBLIC, operations, served_document};

/// A well-formed id that names no key.
const NIL: &str = "00000000-0000-0000-0000-000000000000";

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
        // A merge-patch that changes nothing.
        ("patch", _) => Some(json!({})),
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
                    } else if path == "/v1/public/tenant" {
                        // Routed: no host names a tenant here, and it says so.
                        let problem = reply.expect_problem(404, "not_found");
                        assert!(
                            problem["detail"].as_str().unwrap().contains("tenant"),
                            "{case}: {problem}"
                        );
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
        namespace_operations, 26,
        "every namespace operation was walked"
    );
}
