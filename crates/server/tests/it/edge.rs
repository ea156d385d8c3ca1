//! The binary's edge (issue 12, findings 5 and 10): the header-read timeout,
//! the admin token's minimum length and the admin token file.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use crate::{PATIENCE, Server, get_orgs, refused};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// Before the fix (`axum::serve`, no timer): `the connection was still open
/// after 60s of trickled headers`.
#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_after_the_header_read_timeout() {
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("TENANCY_HEADER_READ_TIMEOUT_MS", "500"),
        ],
        &[],
    );
    let address = server.address();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("the server accepts");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let started = Instant::now();
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
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    })
    .await
    .unwrap();
    // Others are served as before.
    assert_eq!(get_orgs(&server.url("/v1/orgs"), TOKEN).await, 200);
}

/// Before the fix: `left: None right: Some(2)`: the server started.
#[test]
fn an_admin_token_shorter_than_32_characters_stops_the_server_with_exit_code_2() {
    let (status, stderr) = refused(&[("TENANCY_ADMIN_TOKEN", "dev-admin-token")], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid TENANCY_ADMIN_TOKEN: must be at least 32 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("dev-admin-token"), "{stderr}");
}

/// A fresh directory under the temporary one, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("tenancy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Before the fix: clap refused the unknown `--admin-token-file`.
#[tokio::test]
async fn admin_token_file_receives_the_generated_token_privately_and_is_never_overwritten() {
    let dir = TempDir::new("admin-token-file");
    let path = dir.0.join("admin-token");
    let shown = path.to_str().unwrap();

    let mut server = Server::start(&[], &["serve", "--admin-token-file", shown]);
    let url = server.url("/v1/orgs");
    let token = std::fs::read_to_string(&path).expect("the token file exists");
    let token = token.trim_end();
    assert!(token.len() >= 43, "{token:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(get_orgs(&url, token).await, 200);
    server.terminate();
    assert!(server.wait().success());
    for line in server.stdout.all().iter().chain(&server.stderr.all()) {
        assert!(!line.contains(token), "the token was shown: {line}");
    }

    // A second start refuses to overwrite it, and leaves it as it was.
    let (status, stderr) = refused(&[], &["serve", "--admin-token-file", shown]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim_end(), token);

    // Through a symbolic link neither.
    #[cfg(unix)]
    {
        let link = dir.0.join("link");
        std::os::unix::fs::symlink(dir.0.join("target"), &link).unwrap();
        let (status, stderr) = refused(
            &[],
            &["serve", "--admin-token-file", link.to_str().unwrap()],
        );
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(!dir.0.join("target").exists());
    }

    // With a configured token, the file makes no sense.
    let other = dir.0.join("other");
    let (status, stderr) = refused(
        &[("TENANCY_ADMIN_TOKEN", TOKEN)],
        &["serve", "--admin-token-file", other.to_str().unwrap()],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(!other.exists());
}

/// Issue 12, finding 8: a control character in text that reaches SQL is a
/// `400` naming the parameter or field, not a `503` from PostgreSQL (which
/// cannot store a NUL in text). Before the fix: `q=ac%00me: left: 503 right:
/// 400`, and the same for the metadata filter, the cursor and the metadata
/// value of a new tenant.
#[tokio::test]
async fn control_characters_in_text_bound_for_postgres_are_refused_with_400() {
    use adapters_postgres::testing::TestDatabase;
    use base64::Engine as _;
    use serde_json::{Value, json};

    let db = TestDatabase::new().await;
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("DATABASE_URL", db.runtime_url()),
        ],
        &[],
    );
    server.stderr.wait_for("using the PostgreSQL store");
    let client = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.bearer_auth(TOKEN).send().await.expect("an answer");
        let status = response.status().as_u16();
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        (status, body)
    };
    let (status, body) = send(
        client
            .post(server.url("/v1/orgs"))
            .json(&json!({"key": "signstack", "name": "Signstack"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v1|name|{}|ac\u{0}me", uuid_text()));
    // The raw cursor is clean base64: its decoded text holds the NUL.
    for (query, field) in [
        ("q=ac%00me".to_owned(), Some("q")),
        ("metadata.tier=go%00ld".to_owned(), Some("metadata.tier")),
        ("cursor=ab%00c".to_owned(), Some("cursor")),
        (format!("sort=name&cursor={cursor}"), None),
        ("plan=pro%01".to_owned(), Some("plan")),
    ] {
        for path in ["/v1/tenants", "/v1/orgs/signstack/tenants"] {
            let (status, body) = send(client.get(server.url(&format!("{path}?{query}")))).await;
            assert_eq!(status, 400, "{path}?{query}: {body}");
            match field {
                Some(field) => {
                    let named = body["errors"]
                        .as_array()
                        .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
                    assert!(named, "{path}?{query}: {body}");
                }
                None => assert_eq!(body["code"], "invalid_cursor", "{body}"),
            }
        }
    }

    for (tenant, field) in [
        (
            json!({"key": "acme", "name": "Acme", "metadata": {"tier": "go\u{0}ld"}}),
            "metadata.tier",
        ),
        (json!({"key": "acme", "name": "Ac\u{0}me"}), "name"),
    ] {
        let (status, body) = send(
            client
                .post(server.url("/v1/orgs/signstack/tenants"))
                .json(&tenant),
        )
        .await;
        assert_eq!(status, 400, "{tenant}: {body}");
        assert_eq!(body["code"], "validation_failed", "{body}");
        let named = body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
        assert!(named, "{tenant}: {body}");
    }
    // Nothing was stored, and nothing failed on the way.
    let (status, body) = send(client.get(server.url("/v1/orgs/signstack/tenants"))).await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{body}"
    );
    let log = server.stderr.all().join("\n");
    assert!(!log.contains("ERROR"), "{log}");
}

/// Any well-formed id: the cursor only has to decode.
fn uuid_text() -> &'static str {
    "0190a0a0-0000-7000-8000-000000000000"
}
