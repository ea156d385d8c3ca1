//! The tenant export (`GET /v1/orgs/{org}/tenants/{tenant}/export`): complete,
//! parseable, free of every secret, for every status a tenant can export in,
//! and refused like any other read where it must be. Its memory is measured
//! in its own test binary (`tests/export_memory.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adapters_memory::MemoryStore;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use domain::ports::{DataScope, SecretStore, StoreError, TenantStore};
use domain::{KeyHash, SecretName, TenantId};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{TestApp, key_id_of, ready, secret_of};
use crate::library::{LISTINGS, nda};

const EXPORT: &str = "/v1/orgs/signstack/tenants/acme/export";
const SECRET_VALUES: [&str; 2] = ["smtp-password-Zq81-export", "sso-client-secret-Vb77-export"];

/// What the rich tenant holds, to find in its export.
struct Acme {
    id: String,
    /// The plaintext of every key of the tenant, revoked ones included.
    key_secrets: Vec<String>,
    key_ids: Vec<String>,
    namespace_ids: Vec<String>,
    /// beta's id: nothing of it may be in acme's export.
    beta_id: String,
}

/// `signstack` with `acme` (two namespaces, four keys of which one is
/// revoked, a resource in two versions, an install, two secrets, a rename)
/// and `beta`, which has a secret and a resource of its own.
async fn rich_tenant(app: &TestApp) -> Acme {
    app.org("signstack").await;
    let org_id = app.org_id("signstack").await;
    let (acme, first_key) = app.tenant_with_key("signstack", "acme").await;
    let (beta, beta_key) = app.tenant_with_key("signstack", "beta").await;
    let staging = app
        .post(
            "/v1/orgs/signstack/tenants/acme/namespaces",
            &json!({"key": "acme-staging", "name": "Staging", "mode": "test"}),
        )
        .await
        .expect(201);
    let reader = app
        .namespace_key("signstack", "acme", "acme-live", &["tenant:read"])
        .await;
    let tester = app
        .namespace_key("signstack", "acme", "acme-staging", &["resources:read"])
        .await;
    let revoked = app
        .namespace_key("signstack", "acme", "acme-live", &["keys:read"])
        .await;
    app.delete(&format!(
        "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys/{}",
        key_id_of(&revoked)
    ))
    .await
    .expect(200);

    let resource = |version: &str| {
        json!({"key": "welcome", "type": "blueprint", "version": version,
               "content": {"greeting": format!("hello {version}")}})
    };
    for version in ["1.0.0", "1.1.0"] {
        app.post_as(&first_key, "/v1/namespace/resources", &resource(version))
            .await
            .expect(201);
    }
    app.post_as(&beta_key, "/v1/namespace/resources", &resource("9.9.9"))
        .await
        .expect(201);
    let everyone = json!([{"orgId": org_id, "namespaceKeys": "*"}]);
    app.post(LISTINGS, &nda("1.2.0", everyone))
        .await
        .expect(201);
    app.post_as(
        &first_key,
        "/v1/namespace/library/standard_nda/try",
        &json!({}),
    )
    .await
    .expect(201);

    let secrets = "/v1/orgs/signstack/tenants/acme/secrets";
    for (name, value) in ["smtp", "sso"].into_iter().zip(SECRET_VALUES) {
        app.put(&format!("{secrets}/{name}"), &json!({ "value": value }))
            .await
            .expect(201);
    }
    app.put(
        "/v1/orgs/signstack/tenants/beta/secrets/beta-only",
        &json!({ "value": "beta-secret-value-export" }),
    )
    .await
    .expect(201);
    app.patch(
        "/v1/orgs/signstack/tenants/acme",
        &json!({"name": "Acme Renamed"}),
    )
    .await
    .expect(200);
    for user in ["zoe", "ada"] {
        app.post(
            "/v1/orgs/signstack/tenants/acme/members",
            &json!({"userId": user, "email": format!("{user}@acme.example"), "role": "member"}),
        )
        .await
        .expect(201);
    }
    app.post(
        "/v1/orgs/signstack/tenants/beta/members",
        &json!({"userId": "beta-user", "email": "b@beta.example", "role": "admin"}),
    )
    .await
    .expect(201);
    for (tenant, domain) in [
        ("acme", "login.acme.example"),
        ("beta", "login.beta.example"),
    ] {
        app.put(
            &format!("/v1/orgs/signstack/tenants/{tenant}/domain"),
            &json!({ "domain": domain }),
        )
        .await
        .expect(201);
    }

    let namespaces = app
        .all_pages("/v1/orgs/signstack/tenants/acme/namespaces")
        .await;
    let first_key_id = app
        .all_pages("/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys")
        .await
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .find(|id| ![key_id_of(&reader), key_id_of(&revoked)].contains(id))
        .expect("the first key");
    assert_eq!(
        staging["id"].as_str(),
        namespaces[1]["id"].as_str(),
        "staging is the second namespace"
    );
    Acme {
        id: acme["id"].as_str().unwrap().to_owned(),
        key_secrets: vec![
            first_key,
            secret_of(&reader),
            secret_of(&tester),
            secret_of(&revoked),
        ],
        key_ids: vec![
            first_key_id,
            key_id_of(&reader),
            key_id_of(&tester),
            key_id_of(&revoked),
        ],
        namespace_ids: namespaces
            .iter()
            .map(|ns| ns["id"].as_str().unwrap().to_owned())
            .collect(),
        beta_id: beta["id"].as_str().unwrap().to_owned(),
    }
}

/// An export read whole: its lines parsed, and its bytes.
struct Exported {
    lines: Vec<Value>,
    text: String,
}

impl Exported {
    fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["type"] == kind).collect()
    }

    fn ids_of(&self, kind: &str) -> Vec<String> {
        self.of_type(kind)
            .iter()
            .map(|l| l["id"].as_str().expect("an id").to_owned())
            .collect()
    }
}

async fn export_as(app: &TestApp, bearer: &str, path: &str) -> Exported {
    let reply = app.send(app.request_as(bearer, Method::GET, path)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    assert!(reply.text.ends_with('\n'), "every line ends with a newline");
    let lines = reply
        .text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("a line is not JSON ({e}): {line}"))
        })
        .collect();
    Exported {
        lines,
        text: reply.text,
    }
}

/// Checks the frame every export has: the tenant first, `end` last with
/// counts equal to the lines of each type, types in their documented order.
fn assert_complete(export: &Exported, tenant_id: &str) {
    let first = &export.lines[0];
    assert_eq!(first["type"], "tenant", "{first}");
    assert_eq!(first["id"], tenant_id);
    let last = export.lines.last().unwrap();
    assert_eq!(last["type"], "end", "{last}");
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    for line in &export.lines[..export.lines.len() - 1] {
        *counted
            .entry(line["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let order = [
        "tenant",
        "namespace",
        "api_key",
        "resource",
        "install",
        "secret",
        "member",
        "custom_domain",
        "audit_event",
    ];
    for kind in order {
        assert_eq!(
            last["counts"][kind].as_u64(),
            Some(counted.get(kind).copied().unwrap_or(0)),
            "{kind} count in {last}"
        );
    }
    let positions: Vec<usize> = export.lines[..export.lines.len() - 1]
        .iter()
        .map(|l| {
            order
                .iter()
                .position(|k| l["type"] == *k)
                .expect("a known type")
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] <= w[1]),
        "types in order: {positions:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every spelling of `bytes` an export could leak them in.
fn spellings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex(bytes),
        hex(bytes).to_uppercase(),
        STANDARD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ]
}

#[tokio::test]
async fn an_export_holds_every_record_of_the_tenant_and_nothing_of_another() {
    let app = TestApp::start().await;
    let acme = rich_tenant(&app).await;
    let export = export_as(&app, crate::app::TOKEN, EXPORT).await;
    assert_complete(&export, &acme.id);

    assert_eq!(export.lines[0]["name"], "Acme Renamed");
    assert_eq!(export.ids_of("namespace"), acme.namespace_ids);
    let mut keys = export.ids_of("api_key");
    keys.sort();
    let mut expected = acme.key_ids.clone();
    expected.sort();
    assert_eq!(keys, expected, "every key of every namespace");
    let revoked = export
        .of_type("api_key")
        .into_iter()
        .find(|k| k["id"] == acme.key_ids[3].as_str())
        .unwrap();
    assert!(revoked["revokedAt"].is_string(), "{revoked}");

    let resources = export.of_type("resource");
    let versions: Vec<(&str, &str, &Value)> = resources
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap(),
                r["version"].as_str().unwrap(),
                &r["content"],
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("welcome", "1.0.0", &json!({"greeting": "hello 1.0.0"})),
            ("welcome", "1.1.0", &json!({"greeting": "hello 1.1.0"})),
        ],
        "every version, oldest first, with content"
    );
    assert_eq!(resources[0]["namespaceId"], acme.namespace_ids[0].as_str());
    assert_eq!(resources[0]["resourceType"], "blueprint");
    let installs = export.of_type("install");
    assert_eq!(installs.len(), 1);
    assert_eq!(installs[0]["listingKey"], "standard_nda");
    assert_eq!(installs[0]["namespaceId"], acme.namespace_ids[0].as_str());

    let secrets = export.of_type("secret");
    let names: Vec<&str> = secrets
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["smtp", "sso"]);
    for secret in &secrets {
        assert!(secret.get("value").is_none(), "{secret}");
    }
    let members: Vec<&str> = export
        .of_type("member")
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        ["ada", "zoe"],
        "every member, in user id order, none of beta's"
    );
    let domains = export.of_type("custom_domain");
    assert_eq!(domains.len(), 1, "its own domain, not beta's");
    assert_eq!(domains[0]["domain"], "login.acme.example");
    assert_eq!(domains[0]["status"], "pending");
    assert!(
        domains[0]["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("tenancy-verify=")),
        "{}",
        domains[0]
    );

    let events = export.of_type("audit_event");
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "tenant.provisioned",
        "namespace.created",
        "api_key.created",
        "api_key.revoked",
        "resource.created",
        "listing.installed",
        "secret.written",
        "tenant.updated",
        "tenant.exported",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert_eq!(actions.last(), Some(&"tenant.exported"), "recorded first");
    assert!(events.iter().all(|e| e["tenantId"] == acme.id.as_str()));
    let renamed = events
        .iter()
        .find(|e| e["action"] == "tenant.updated")
        .unwrap();
    assert_eq!(renamed["redacted"], false, "details opened: {renamed}");
    assert_eq!(renamed["changes"][0]["to"], "Acme Renamed");

    assert!(!export.text.contains(&acme.beta_id), "nothing of beta");
    assert!(!export.text.contains("9.9.9") && !export.text.contains("beta-only"));
}

#[tokio::test]
async fn an_export_holds_no_secret_value_no_key_and_no_key_hash() {
    let app = TestApp::start().await;
    let acme = rich_tenant(&app).await;
    let export = export_as(&app, crate::app::TOKEN, EXPORT).await;
    assert_complete(&export, &acme.id);

    for value in SECRET_VALUES {
        assert!(!export.text.contains(value), "secret value {value}");
    }
    for key in &acme.key_secrets {
        assert!(!export.text.contains(key.as_str()), "a key secret");
        // The part after the shown prefix, on its own.
        assert!(!export.text.contains(&key[12..]), "the rest of a key");
        for spelling in spellings(KeyHash::of(key).as_bytes()) {
            assert!(!export.text.contains(&spelling), "a key hash");
        }
    }
    // Nor the sealed form of a secret value.
    let tenant = TenantId::from_uuid(Uuid::parse_str(&acme.id).unwrap());
    for name in ["smtp", "sso"] {
        let stored = app
            .store
            .get_secret(
                &DataScope::Platform,
                tenant,
                &SecretName::parse(name).unwrap(),
            )
            .await
            .unwrap()
            .expect("stored");
        for spelling in spellings(&stored.sealed) {
            assert!(!export.text.contains(&spelling), "a sealed value");
        }
    }
}

#[tokio::test]
async fn suspended_and_deactivated_tenants_export_completely_and_deleted_ones_are_not_found() {
    let app = TestApp::start().await;
    let acme = rich_tenant(&app).await;
    let tenant = "/v1/orgs/signstack/tenants/acme";
    let reason = json!({"reason": "export test"});

    app.post(&format!("{tenant}/suspend"), &reason)
        .await
        .expect(200);
    let suspended = export_as(&app, crate::app::TOKEN, EXPORT).await;
    assert_complete(&suspended, &acme.id);
    assert_eq!(suspended.lines[0]["status"], "suspended");
    assert_eq!(suspended.of_type("secret").len(), 2);
    assert_eq!(suspended.of_type("resource").len(), 2);

    app.post(&format!("{tenant}/deactivate"), &reason)
        .await
        .expect(200);
    let deactivated = export_as(&app, crate::app::TOKEN, EXPORT).await;
    assert_complete(&deactivated, &acme.id);
    assert_eq!(deactivated.lines[0]["status"], "deactivated");
    assert_eq!(deactivated.ids_of("namespace"), acme.namespace_ids);
    assert_eq!(deactivated.of_type("api_key").len(), 4);
    assert!(
        deactivated
            .of_type("api_key")
            .iter()
            .all(|k| k["revokedAt"].is_string()),
        "a deactivated tenant's keys are revoked"
    );
    assert_eq!(deactivated.of_type("install").len(), 1);
    assert_eq!(deactivated.of_type("secret").len(), 2);

    app.send(
        app.request(Method::DELETE, tenant)
            .query(&[("confirm", "acme")]),
    )
    .await
    .expect(200);
    app.get(EXPORT).await.expect_problem(404, "not_found");
}

#[tokio::test]
async fn org_keys_export_their_own_tenants_and_every_other_caller_is_refused() {
    let app = TestApp::start().await;
    let acme = rich_tenant(&app).await;
    let org_key = secret_of(&app.org_key("signstack").await);
    let by_org_key = export_as(&app, &org_key, EXPORT).await;
    assert_complete(&by_org_key, &acme.id);
    // The export is audited with who asked.
    let trail = app
        .all_pages("/v1/orgs/signstack/audit-events?tenant=acme")
        .await;
    let exported: Vec<&Value> = trail
        .iter()
        .filter(|e| e["action"] == "tenant.exported")
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["actor"]["kind"], "org_key");
    assert_eq!(exported[0]["target"]["id"], acme.id.as_str());

    app.org("tigris").await;
    let other_org_key = secret_of(&app.org_key("tigris").await);
    let before = app.visible_state().await;
    app.get_as(&other_org_key, EXPORT)
        .await
        .expect_problem(404, "not_found");
    app.get_as(&acme.key_secrets[0], EXPORT)
        .await
        .expect_problem(403, "forbidden");
    app.send(app.anonymous(Method::GET, EXPORT))
        .await
        .expect_problem(401, "unauthorized");
    app.get("/v1/orgs/signstack/tenants/nobody/export")
        .await
        .expect_problem(404, "not_found");
    app.get("/v1/orgs/nobody/tenants/acme/export")
        .await
        .expect_problem(404, "not_found");
    assert_eq!(
        app.visible_state().await,
        before,
        "a refused export records nothing"
    );
}

/// Tenant port on `store` whose reads fail once `reads_left` is used up.
fn tenants_failing_after(
    store: Arc<MemoryStore>,
    reads_left: Arc<AtomicUsize>,
) -> domain::ports::MockTenantStore {
    let mut mock = domain::ports::MockTenantStore::new();
    let reads = store.clone();
    mock.expect_get_tenant().returning(move |scope, r| {
        let left = reads_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::Unavailable("the store went away".into()));
        }
        reads_left.store(left - 1, Ordering::SeqCst);
        ready(reads.get_tenant(scope, r))
    });
    mock.expect_provision()
        .returning(move |scope, p| ready(store.provision(scope, p)));
    mock
}

#[tokio::test]
async fn an_export_that_fails_after_its_first_byte_is_cut_without_its_end_line() {
    let store = Arc::new(MemoryStore::new());
    let reads_left = Arc::new(AtomicUsize::new(usize::MAX));
    let app = TestApp::builder()
        .store(store.clone())
        .tenants(Arc::new(tenants_failing_after(store, reads_left.clone())))
        .start()
        .await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    // Two reads of the tenant: one before the first byte, one before the
    // `end` line. With both, the export is complete.
    reads_left.store(2, Ordering::SeqCst);
    let whole = app.get(EXPORT).await;
    assert_eq!(whole.status, 200);
    assert!(whole.text.contains(r#"{"type":"end""#), "{}", whole.text);

    // With the second failing, the status is sent (or about to be) and can
    // no longer change: the body is cut, without its `end` line.
    reads_left.store(1, Ordering::SeqCst);
    let cut = match app.request(Method::GET, EXPORT).send().await {
        // The cut came before hyper flushed anything.
        Err(e) => format!("{e:?}"),
        Ok(response) => {
            assert_eq!(response.status(), 200);
            match response.text().await {
                Err(e) => format!("{e:?}"),
                Ok(text) => panic!("a whole body for a cut export: {text}"),
            }
        }
    };
    assert!(
        cut.contains("IncompleteMessage") || cut.contains("Body") || cut.contains("Decode"),
        "{cut}"
    );
}
