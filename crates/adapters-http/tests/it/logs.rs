//! What the adapter logs: one line per request in its span, internal errors in
//! full, and never the admin token, an API key's secret or its hash.

use std::io;
use std::sync::{Arc, Mutex};

use adapters_memory::MemoryStore;
use domain::ports::{MockTenantStore, StoreError, TenantStore};
use serde_json::json;

use crate::app::{TOKEN, TestApp, ready};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

const INTERNAL: &str = "connection to db-7.internal refused";

/// Everything logged on this thread, at every level, while the guard lives.
struct Capture {
    captured: Captured,
    _guard: tracing::subscriber::DefaultGuard,
    _second: tracing::Dispatch,
}

impl Capture {
    fn start() -> Self {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer({
                let captured = captured.clone();
                move || captured.clone()
            })
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // With a single dispatcher registered, tracing decides whether a callsite
        // is enabled from the thread that reaches it first, and other tests reach
        // the request span first on threads without a subscriber. A second
        // (silent) dispatcher makes tracing ask every dispatcher, hence this
        // thread's too.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        Self {
            captured,
            _guard: guard,
            _second: second,
        }
    }

    fn text(&self) -> String {
        self.captured.text()
    }
}

// A current-thread runtime: the server's tasks run on this thread, where the
// capturing subscriber is the default.
#[tokio::test]
async fn logs_carry_the_request_and_internal_errors_but_never_the_token() {
    let capture = Capture::start();

    let store = Arc::new(MemoryStore::new());
    let mut tenants = MockTenantStore::new();
    let reads = store.clone();
    tenants
        .expect_get_tenant()
        .returning(move |scope, r| ready(reads.get_tenant(scope, r)));
    tenants
        .expect_provision()
        .returning(|_, _| Err(StoreError::Unavailable(INTERNAL.to_owned())));
    let app = TestApp::builder()
        .store(store)
        .tenants(Arc::new(tenants))
        .start()
        .await;
    app.org("signstack").await;
    let failed = app
        .send(
            app.request(reqwest::Method::POST, "/v1/orgs/signstack/tenants")
                .header("x-request-id", "req-logged-1")
                .json(
                    &json!({"key": "acme", "name": "Acme", "metadata": {"secret": "body-data-42"}}),
                ),
        )
        .await;
    failed.expect_problem(503, "unavailable");
    assert!(!failed.text.contains(INTERNAL));

    let logs = capture.text();
    let error_line = logs
        .lines()
        .find(|l| l.contains(INTERNAL))
        .unwrap_or_else(|| panic!("the internal error is logged:\n{logs}"));
    assert!(error_line.contains("ERROR"), "{error_line}");
    assert!(
        error_line.contains("req-logged-1"),
        "in the request's span: {error_line}"
    );
    assert!(
        error_line.contains("/v1/orgs/{org}/tenants"),
        "with the route: {error_line}"
    );
    assert!(
        logs.lines()
            .any(|l| l.contains("ERROR") && l.contains("status=503")),
        "5xx answers are logged at error:\n{logs}"
    );
    assert!(
        !logs.contains(TOKEN),
        "the token leaked into the logs:\n{logs}"
    );
    assert!(
        !logs.contains("body-data-42"),
        "a body leaked into the logs:\n{logs}"
    );
}

#[tokio::test]
async fn logs_never_carry_a_secret_or_its_hash() {
    let capture = Capture::start();
    let app = TestApp::start().await;
    let story = crate::api_key_secrets::a_key_and_everything_around_it(&app).await;
    let logs = capture.text();
    assert!(
        logs.contains("/v1/keys/verify") && logs.contains("/v1/namespace/api-keys"),
        "the calls were logged:\n{logs}"
    );
    for secret in [&story.first, &story.secret, &story.rotated] {
        assert!(!logs.contains(secret.as_str()), "a secret leaked:\n{logs}");
        for spelling in crate::api_key_secrets::hash_spellings(secret) {
            assert!(!logs.contains(&spelling), "a hash leaked:\n{logs}");
        }
    }
    assert!(!logs.contains(TOKEN), "the admin token leaked:\n{logs}");
}

#[tokio::test]
async fn secret_values_never_reach_the_logs() {
    let capture = Capture::start();
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.tenant("signstack", "acme").await;
    let value = "log-canary-secret-8841";
    let path = "/v1/orgs/signstack/tenants/acme/secrets/smtp";
    app.put(path, &json!({ "value": value })).await.expect(201);
    app.get(&format!("{path}?reveal=true")).await.expect(200);
    app.kms.set_available(false);
    app.advance(chrono::Duration::minutes(6));
    app.put(path, &json!({ "value": value }))
        .await
        .expect_problem(503, "unavailable");
    let logs = capture.text();
    assert!(logs.contains("KMS"), "the outage is logged: {logs}");
    assert!(!logs.contains(value), "{logs}");
}
