//! The API against its own OpenAPI document, by schemathesis (PyPI; `cargo
//! xtask setup` installs it): for the operations listed here, no request the
//! document calls valid is refused, no request it calls invalid is accepted,
//! no answer is a server error, and every answer (status, content type, body)
//! is one the document describes. The run is seeded, so it asks the same
//! requests every time.
//!
//! The operations are the ones whose documents state their rules exactly so
//! far (the tenant's settings, branding, members, owner and custom domain,
//! the public lookup, and self-service registration: issue #15); the rest
//! of the API joins as its schemas catch up.

use std::process::Command;

use serde_json::{Value, json};

use crate::{Server, TempFile};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The operations under test, by path.
const OPERATIONS: &str = concat!(
    "^/v1/orgs/\\{org\\}/settings/(branding|registration)$",
    "|^/v1/orgs/\\{org\\}/tenants/\\{tenant\\}/settings/",
    "|^/v1/orgs/\\{org\\}/tenants/\\{tenant\\}/namespaces/\\{ns\\}/settings/",
    "|^/v1/orgs/\\{org\\}/tenants/\\{tenant\\}/(members|owner|domain)",
    "|^/v1/tenant/settings/",
    "|^/v1/public/tenant$",
    "|^/v1/public/orgs/\\{org\\}/registrations$",
    "|^/v1/public/registrations/confirm$",
);

/// The checks: every one that judges the API by its document alone.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,negative_data_rejection,\
                      positive_data_acceptance";

async fn send(request: reqwest::RequestBuilder) -> Value {
    let reply = request.send().await.expect("the server answers");
    let status = reply.status();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::test]
async fn the_documented_operations_hold_to_their_document() {
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("TENANCY_BASE_DOMAIN", "tenancy.example"),
            ("TENANCY_PUBLIC_URL", "https://signup.tenancy.example"),
            ("TENANCY_MAIL_FROM", "Tenancy <signup@tenancy.example>"),
            // The fuzzer is one client address: no budget may refuse it.
            ("TENANCY_REGISTRATION_RATE", "1000000/second"),
        ],
        &[],
    );
    let base = server.url("");
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
    };
    send(post(
        "/v1/orgs",
        json!({"key": "signstack", "name": "SignStack"}),
    ))
    .await;
    let tenant = send(post(
        "/v1/orgs/signstack/tenants",
        json!({"key": "acme", "name": "Acme"}),
    ))
    .await;
    let key = tenant["secret"].as_str().expect("the first key").to_owned();
    for user in ["user_1", "user_2"] {
        send(post(
            "/v1/orgs/signstack/tenants/acme/members",
            json!({"userId": user, "email": format!("{user}@acme.example"), "role": "member"}),
        ))
        .await;
    }
    // Registration open, so that requests reach its rules.
    let open = client
        .patch(format!("{base}/v1/orgs/signstack/settings/registration"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"enabled": true}).to_string());
    send(open).await;
    // A real cursor for the member listing: a random one is refused, rightly.
    let page = send(
        client
            .get(format!(
                "{base}/v1/orgs/signstack/tenants/acme/members?limit=1"
            ))
            .bearer_auth(TOKEN),
    )
    .await;
    let cursor = page["nextCursor"].as_str().expect("a next page").to_owned();

    let config = TempFile::new(
        "schemathesis.toml",
        &format!(
            r#"
[parameters]
"path.org" = "signstack"
"path.tenant" = "acme"
"path.ns" = "acme-live"
"path.member" = "user_1"
"query.cursor" = "{cursor}"
"header.Host" = "acme.tenancy.example"

[[operations]]
include-path-regex = "^/v1/tenant/"
headers = {{ Authorization = "Bearer {key}" }}
"#
        ),
    );
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
            "--config-file",
        ])
        .arg(config.path())
        .args(["run", &format!("{base}/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--include-path-regex", OPERATIONS])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "40", "--seed", "1507", "--workers", "2"])
        .args(["--no-color", "--warnings", "off"])
        .output()
        .expect("python3 runs (`cargo xtask setup` installs schemathesis)");
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("Tested:"),
        "schemathesis tested nothing: {shown}"
    );
}
