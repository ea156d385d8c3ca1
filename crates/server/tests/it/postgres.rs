//! The server on PostgreSQL: `tenancy migrate`, `tenancy serve` with
//! `DATABASE_URL`, and several instances on one database. Each test gets a
//! database of its own (`TestDatabase`) on the server of `TEST_DATABASE_URL`,
//! which `cargo xtask test` provides.

use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Server, refused};

mod audit_checkpoints;
mod export;
mod ip_allowlist;
mod kms_retire;
mod kms_rotate;

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// How long another instance may take to see a change, at most. A guard
/// against hangs, well under the cache's own 60 s expiry, not a timing
/// assertion.
const PROPAGATION: Duration = Duration::from_secs(10);

/// `tenancy serve` on the runtime role of `db`.
fn serve_on(db: &TestDatabase) -> Server {
    Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("DATABASE_URL", db.runtime_url()),
        ],
        &[],
    )
}

/// `tenancy migrate` with `db`'s owner; its exit code and standard output.
fn migrate(db: &TestDatabase) -> (Option<i32>, Vec<String>, String) {
    let mut run = Server::start(
        &[("TENANCY_DATABASE_OWNER_URL", db.owner_url())],
        &["migrate"],
    );
    let status = run.wait();
    (status.code(), run.stdout.all(), run.stderr.all().join("\n"))
}

/// Talks to one server as the platform admin.
struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn of(server: &Server) -> Self {
        Self {
            base: server.url(""),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(TOKEN),
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(TOKEN)
                .json(&body),
        )
        .await
    }

    async fn get_as(&self, bearer: &str, path: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(bearer),
        )
        .await
    }

    async fn post_as(&self, bearer: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(bearer)
                .json(&body),
        )
        .await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .put(format!("{}{path}", self.base))
                .bearer_auth(TOKEN)
                .json(&body),
        )
        .await
    }

    /// `POST /v1/keys/verify`'s verdict code for `key`.
    async fn verify(&self, key: &str) -> String {
        let (status, body) = self
            .send(
                self.client
                    .post(format!("{}/v1/keys/verify", self.base))
                    .json(&json!({ "key": key })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["code"].as_str().expect("a verdict code").to_owned()
    }
}

/// Creates the quickstart's org and provisions `tenant` in it; answers the
/// first namespace's secret.
async fn provision(api: &Api, tenant: &str) -> String {
    let (status, body) = api
        .post(
            "/v1/orgs/signstack/tenants",
            json!({"key": tenant, "name": "Acme Corp", "metadata": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tenant"]["status"], "active", "{body}");
    body["secret"].as_str().expect("a secret").to_owned()
}

async fn create_org(api: &Api) {
    let (status, body) = api
        .post("/v1/orgs", json!({"key": "signstack", "name": "SignStack"}))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn migrate_applies_every_migration_once_then_has_nothing_to_do() {
    let db = TestDatabase::empty().await;

    let (code, stdout, stderr) = migrate(&db);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.iter().any(|l| l.starts_with("applied 0001 ")),
        "{stdout:?}"
    );
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .expect("the migrations directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    let applied = format!("applied {migrations} migration(s)");
    assert!(
        stdout.iter().any(|l| l.contains(&applied)),
        "{applied}: {stdout:?}"
    );

    let (code, stdout, stderr) = migrate(&db);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stdout.iter().any(|l| l.starts_with("applied ")),
        "{stdout:?}"
    );
    assert!(
        stdout.iter().any(|l| l.contains("up to date")),
        "{stdout:?}"
    );
}

#[tokio::test]
async fn serve_migrates_first_when_given_the_owner_url() {
    let db = TestDatabase::empty().await;
    let mut server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("DATABASE_URL", db.runtime_url()),
            ("TENANCY_DATABASE_OWNER_URL", db.owner_url()),
        ],
        &[],
    );
    let api = Api::of(&server);
    create_org(&api).await;
    server.terminate();
    assert!(server.wait().success(), "{:?}", server.stderr.all());
    let log = server.stderr.all();
    assert!(log.iter().any(|l| l.contains("migrated")), "{log:?}");
}

#[tokio::test]
async fn the_quickstart_runs_on_postgres_and_its_data_survives_a_restart() {
    let db = TestDatabase::new().await;
    let mut server = serve_on(&db);
    let api = Api::of(&server);
    let line = server.stderr.wait_for("using the PostgreSQL store");
    assert!(line.contains(&format!("/{}", db.name())), "{line}");
    assert!(
        !server.stderr.all().iter().any(|l| l.contains("in-memory")),
        "{:?}",
        server.stderr.all()
    );

    let (status, body) = api.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": "ready"}));

    create_org(&api).await;
    let secret = provision(&api, "acme").await;
    let (status, body) = api
        .post(
            "/v1/orgs/signstack/tenants/acme/suspend",
            json!({"reason": "billing failure"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "suspended", "{body}");
    assert_eq!(api.verify(&secret).await, "tenant_suspended");
    let (status, body) = api
        .post(
            "/v1/orgs/signstack/tenants/acme/reactivate",
            json!({"reason": "payment received"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active", "{body}");

    for query in ["status=active&q=acme", "metadata.tier=gold"] {
        let (status, body) = api.get(&format!("/v1/tenants?{query}")).await;
        assert_eq!(status, 200, "{body}");
        let keys: Vec<&Value> = body["items"].as_array().unwrap().iter().collect();
        assert_eq!(keys.len(), 1, "{query}: {body}");
        assert_eq!(keys[0]["key"], "acme", "{query}: {body}");
    }
    let (status, body) = api.get("/v1/tenants?status=suspended").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([]), "{body}");
    assert_eq!(api.verify(&secret).await, "valid");

    server.terminate();
    assert!(server.wait().success(), "{:?}", server.stderr.all());

    let server = serve_on(&db);
    let api = Api::of(&server);
    let (status, body) = api.get("/v1/orgs/signstack/tenants/acme").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active", "{body}");
    assert_eq!(body["metadata"]["tier"], "gold", "{body}");
    assert_eq!(api.verify(&secret).await, "valid");
}

/// `Idempotency-Key` on PostgreSQL: the first response, secret included, comes
/// back byte for byte to a retry, also from a restarted server (the response
/// is stored sealed with the org's data key); another body is `422`.
#[tokio::test]
async fn an_idempotent_provisioning_replays_byte_for_byte_across_a_restart() {
    let db = TestDatabase::new().await;
    let mut server = serve_on(&db);
    let api = Api::of(&server);
    create_org(&api).await;
    let send = |api: &Api, name: &str| {
        api.client
            .post(format!("{}/v1/orgs/signstack/tenants", api.base))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", "0b6f5c7e-2f0b-4d7a-9a43-6f0c1d2e3f40")
            .json(&json!({"key": "globex", "name": name}))
            .send()
    };
    let first = send(&api, "Globex").await.expect("the server answers");
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.text().await.unwrap();
    let secret = serde_json::from_str::<Value>(&first).unwrap()["secret"]
        .as_str()
        .expect("a secret")
        .to_owned();

    server.terminate();
    assert!(server.wait().success(), "{:?}", server.stderr.all());
    let server = serve_on(&db);
    let api = Api::of(&server);
    let again = send(&api, "Globex").await.expect("the server answers");
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(again.text().await.unwrap(), first);
    assert_eq!(api.verify(&secret).await, "valid");

    let reused = send(&api, "Globex Renamed")
        .await
        .expect("the server answers");
    assert_eq!(reused.status(), 422);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_key_reused", "{problem}");
    let (_, tenants) = api.get("/v1/tenants").await;
    assert_eq!(
        tenants["items"].as_array().map(Vec::len),
        Some(1),
        "{tenants}"
    );
}

/// The library's seed walkthrough through the server on PostgreSQL: a pin stays
/// where it was tried, a fork never changes, and both survive a restart.
#[tokio::test]
async fn the_library_walkthrough_runs_on_postgres() {
    let db = TestDatabase::new().await;
    let mut server = serve_on(&db);
    let api = Api::of(&server);
    create_org(&api).await;
    let acme = provision(&api, "acme").await;
    let globex = provision(&api, "globex").await;
    let (_, org) = api.get("/v1/orgs/signstack").await;
    let listing = |version: &str| {
        json!({
            "key": "standard_nda", "title": "Standard NDA", "resourceType": "blueprint",
            "version": version, "content": {"version": version},
            "accessGrants": [{"orgId": org["id"], "namespaceKeys": "*"}],
        })
    };
    let (status, body) = api
        .post("/v1/orgs/signstack/library/listings", listing("1.2.0"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post_as(&acme, "/v1/namespace/library/standard_nda/try", json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post_as(
            &globex,
            "/v1/namespace/library/standard_nda/customize",
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["provenance"]["version"], "1.2.0", "{body}");
    let (status, body) = api
        .post("/v1/orgs/signstack/library/listings", listing("1.3.0"))
        .await;
    assert_eq!(status, 201, "{body}");

    server.terminate();
    assert!(server.wait().success(), "{:?}", server.stderr.all());
    let server = serve_on(&db);
    let api = Api::of(&server);
    let (status, body) = api
        .get_as(&acme, "/v1/namespace/installs/standard_nda/content")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content"]["version"], "1.2.0", "the pin stays: {body}");
    let (status, body) = api
        .get_as(&globex, "/v1/namespace/resources/standard_nda")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["content"]["version"], "1.2.0",
        "the fork stays: {body}"
    );
    let (status, body) = api
        .get_as(&acme, "/v1/namespace/resources/standard_nda")
        .await;
    assert_eq!(status, 404, "the fork is globex's alone: {body}");
    let (status, body) = api
        .post_as(
            &acme,
            "/v1/namespace/library/standard_nda/upgrade",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("1.2.0"), Some("1.3.0"))
    );
}

#[tokio::test]
async fn a_superuser_database_url_is_refused_with_a_clear_message() {
    let db = TestDatabase::new().await;
    // The test server's own role, which may create databases: a superuser.
    let (status, stderr) = refused(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("DATABASE_URL", db.owner_url()),
        ],
        &[],
    );
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("row-level security"), "{stderr}");
    assert!(stderr.contains("tenancy_app"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[tokio::test]
async fn a_suspension_through_one_instance_reaches_the_cache_of_another() {
    let db = TestDatabase::new().await;
    let a = serve_on(&db);
    let b = serve_on(&db);
    let (a, b) = (Api::of(&a), Api::of(&b));

    create_org(&a).await;
    let secret = provision(&a, "acme").await;
    // Cached by B from now on.
    assert_eq!(b.verify(&secret).await, "valid");
    assert_eq!(b.verify(&secret).await, "valid");

    let (status, body) = a
        .post(
            "/v1/orgs/signstack/tenants/acme/suspend",
            json!({"reason": "billing failure"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let deadline = Instant::now() + PROPAGATION;
    loop {
        let code = b.verify(&secret).await;
        if code == "tenant_suspended" {
            break;
        }
        assert_eq!(code, "valid");
        assert!(
            Instant::now() < deadline,
            "instance B still accepts the key of a tenant suspended through A"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `/readyz`'s answer, polled until it is `expected` (a guard against hangs,
/// not a timing assertion).
async fn readyz_turns(api: &Api, expected: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = api.get("/readyz").await;
        if status == expected {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still answers {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readyz_follows_the_database_and_recovers_on_its_own() {
    use sqlx::Connection as _;

    let db = TestDatabase::new().await;
    let server = serve_on(&db);
    let api = Api::of(&server);
    assert_eq!(readyz_turns(&api, 200).await, json!({"status": "ready"}));

    // The database goes away for the server: no new connection is accepted and
    // every open one is cut. Done from the server's maintenance database, as a
    // database cannot refuse connections from inside itself.
    let server_url = adapters_postgres::testing::SERVER_URL_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .expect("TestDatabase found a server");
    let mut admin = sqlx::PgConnection::connect(&server_url).await.unwrap();
    let name = db.name();
    sqlx::query(&format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .execute(&mut admin)
        .await
        .unwrap();
    let problem = readyz_turns(&api, 503).await;
    assert_eq!(problem["code"], "not_ready", "{problem}");

    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(readyz_turns(&api, 200).await, json!({"status": "ready"}));
    let (status, body) = api.get("/v1/orgs").await;
    assert_eq!(status, 200, "{body}");
    admin.close().await.unwrap();
}
