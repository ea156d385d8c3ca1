//! Request limits (issue 12, finding 5): a handler that runs too long is stopped
//! with `503 timed_out`, and a server at its in-flight limit answers
//! `503 overloaded` with `Retry-After` at once instead of queueing.
//!
//! The slow handler is `/readyz` with a readiness probe that waits until the
//! test lets it go. Before the fix (`axum::serve`, no limits layer) the three
//! failed: `the server answers within 30 s: Elapsed(())`; `left: (200,
//! Some("application/json")) right: (503, Some("application/problem+json"))`
//! (nothing bounded the requests in flight); and `the connection was still
//! open after 30s of trickled headers`.

use std::sync::Arc;
use std::time::Duration;

use adapters_http::{ConnectionLimits, Readiness, RequestLimits};
use reqwest::Method;
use tokio::sync::{Notify, Semaphore};

use crate::app::{Reply, TestApp};

/// A guard against a hang, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(30);

/// A probe that says when it is asked, then waits until released.
struct Held {
    asked: Notify,
    release: Semaphore,
}

impl Held {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            asked: Notify::new(),
            release: Semaphore::new(0),
        })
    }
}

#[async_trait::async_trait]
impl Readiness for Held {
    async fn ready(&self) -> bool {
        self.asked.notify_one();
        let _released = self.release.acquire().await;
        true
    }
}

async fn within(app: &TestApp, method: Method, path: &str) -> Reply {
    tokio::time::timeout(PATIENCE, app.send(app.anonymous(method, path)))
        .await
        .expect("the server answers within 30 s")
}

#[tokio::test]
async fn a_request_running_past_the_request_timeout_is_stopped_with_503_timed_out() {
    let probe = Held::new();
    let app = TestApp::builder()
        .readiness(probe.clone())
        .limits(RequestLimits {
            timeout: Duration::from_millis(200),
            ..RequestLimits::default()
        })
        .start()
        .await;

    let reply = within(&app, Method::GET, "/readyz").await;
    let problem = reply.expect_problem(503, "timed_out");
    assert_eq!(reply.header("retry-after"), Some("1"), "{problem}");
    assert!(problem["requestId"].is_string(), "{problem}");

    // Fast requests are untouched by the timeout.
    within(&app, Method::GET, "/healthz").await.expect(200);
}

#[tokio::test]
async fn a_server_at_its_in_flight_limit_answers_503_overloaded_with_retry_after() {
    let probe = Held::new();
    let app = TestApp::builder()
        .readiness(probe.clone())
        .limits(RequestLimits {
            max_in_flight: 1,
            ..RequestLimits::default()
        })
        .start()
        .await;

    let asked = probe.asked.notified();
    let first = tokio::spawn({
        let request = app.anonymous(Method::GET, "/readyz");
        async move { request.send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::timeout(PATIENCE, asked)
        .await
        .expect("the first request reaches the probe");

    let reply = within(&app, Method::GET, "/healthz").await;
    reply.expect_problem(503, "overloaded");
    assert_eq!(reply.header("retry-after"), Some("1"));

    probe.release.add_permits(1);
    let first = tokio::time::timeout(PATIENCE, first)
        .await
        .expect("the first request finishes")
        .unwrap()
        .expect("the first request is answered");
    assert_eq!(first, 200);
    // The slot is free again.
    within(&app, Method::GET, "/healthz").await.expect(200);
}

/// Sends a request's header one line at a time, a line every 200 ms, never
/// ending it; returns once the server has closed the connection, or panics
/// after `PATIENCE` with it still open. Blocking: run it off the runtime.
fn trickle_until_closed(address: &str) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buffer = [0_u8; 1024];
    let mut line: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: tenancy\r\n";
    loop {
        assert!(
            started.elapsed() < PATIENCE,
            "the connection was still open after {PATIENCE:?} of trickled headers"
        );
        if stream.write_all(line).is_err() {
            return;
        }
        line = b"X-Trickle: 1\r\n";
        match stream.read(&mut buffer) {
            // Closed by the server.
            Ok(0) => return,
            // A response (such as 408) before closing is fine too; keep reading.
            Ok(_) => {}
            // Nothing yet: the connection is still open.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // Reset by the server.
            Err(_) => return,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_after_the_header_read_timeout() {
    let app = TestApp::builder()
        .connections(ConnectionLimits {
            header_read_timeout: Duration::from_millis(500),
            ..ConnectionLimits::default()
        })
        .start()
        .await;
    let address = app.url("").trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || trickle_until_closed(&address))
        .await
        .unwrap();
    // Others are served as before.
    within(&app, Method::GET, "/healthz").await.expect(200);
}
