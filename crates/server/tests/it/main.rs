//! Runs the real `tenancy` binary on port 0 and talks to it over HTTP and
//! signals, the way an operator would.

mod crash;
mod domains;
mod edge;
mod export;
mod instances;
mod postgres;
mod readme;
mod registration;
mod schemathesis;
mod webhooks;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A guard against hangs, not a timing assertion: a healthy server answers
/// within milliseconds.
const PATIENCE: Duration = Duration::from_secs(60);

/// Every variable the server reads, cleared so the developer's own environment
/// cannot change what a test sees.
const SERVER_VARIABLES: &[&str] = &[
    "TENANCY_CONFIG",
    "TENANCY_LISTEN",
    "TENANCY_ADMIN_TOKEN",
    "TENANCY_REGIONS",
    "TENANCY_BASE_DOMAIN",
    "TENANCY_RETENTION_DAYS",
    "TENANCY_LOG_FORMAT",
    "TENANCY_LOG",
    "RUST_LOG",
    "DATABASE_URL",
    "TENANCY_DATABASE_OWNER_URL",
    "TENANCY_MIGRATE",
    "TENANCY_DB_POOL_SIZE",
    "TENANCY_DB_STATEMENT_TIMEOUT_MS",
    "TENANCY_DB_POOLER",
    "TENANCY_LISTEN_DATABASE_URL",
    "TENANCY_KMS",
    "TENANCY_KEYRING",
    "TENANCY_KEYRING_JSON",
    "TENANCY_AWS_KMS_KEY_ID",
    "TENANCY_AWS_REGION",
    "TENANCY_AWS_KMS_ENDPOINT",
    "TENANCY_HEADER_READ_TIMEOUT_MS",
    "TENANCY_REQUEST_TIMEOUT_MS",
    "TENANCY_MAX_CONNECTIONS",
    "TENANCY_MAX_IN_FLIGHT",
    "TENANCY_WEBHOOK_ALLOW_PRIVATE",
    "TENANCY_PUBLIC_URL",
    "TENANCY_MAIL_FROM",
    "TENANCY_SMTP_URL",
    "TENANCY_REGISTRATION_RATE",
    "TENANCY_DNS_NAMESERVERS",
    "TENANCY_DNS_TIMEOUT_MS",
    "TENANCY_DOMAIN_CHALLENGE_PREFIX",
    "TENANCY_DOMAIN_CHECK_INTERVAL_MS",
];

/// A keyring for servers on a database (which refuse to start without a
/// durable KMS). Its one master key is fixed and public: tests only.
const TEST_KEYRING: &str = r#"{"format":"tenancy-keyring","format_version":1,
"kek_id":"local:7e57000000000000","current":1,
"keys":[{"version":1,"key":"dGVzdHMtb25seS10ZXN0cy1vbmx5LXRlc3RzLW9ubHk="}]}"#;

/// The output of one stream of the child, line by line, as it arrives.
struct Lines {
    seen: Arc<Mutex<Vec<String>>>,
    arrivals: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    fn follow(stream: impl Read + Send + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (send, arrivals) = mpsc::channel();
        let store = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                store.lock().unwrap().push(line.clone());
                // The test may have stopped listening; the line is kept anyway.
                let _ = send.send(line);
            }
        });
        Self {
            seen,
            arrivals,
            reader: Some(reader),
        }
    }

    /// The first line containing `needle`, waiting for it if it has not come yet.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self.all().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            // Arrivals only wake us up; `seen` is the record.
            let left = deadline.saturating_duration_since(Instant::now());
            match self.arrivals.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {PATIENCE:?}: {:?}",
                        self.all()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if let Some(line) = self.all().into_iter().find(|l| l.contains(needle)) {
                        return line;
                    }
                    panic!(
                        "the stream closed without a line with {needle:?}: {:?}",
                        self.all()
                    )
                }
            }
        }
    }

    /// Every line so far; after the process exited and [`Lines::finish`], all of them.
    fn all(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn finish(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
    }
}

/// The `tenancy` binary, started with a clean environment plus the given variables.
struct Server {
    child: Child,
    stdout: Lines,
    stderr: Lines,
}

impl Server {
    fn start(vars: &[(&str, &str)], args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenancy"));
        for name in SERVER_VARIABLES {
            command.env_remove(name);
        }
        let names = |name: &str| vars.iter().any(|(n, _)| *n == name);
        if names("DATABASE_URL") && !names("TENANCY_KEYRING") && !names("TENANCY_KEYRING_JSON") {
            command.env("TENANCY_KEYRING_JSON", TEST_KEYRING);
        }
        command
            .env("TENANCY_LISTEN", "127.0.0.1:0")
            .envs(vars.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the tenancy binary starts");
        let stdout = Lines::follow(child.stdout.take().unwrap());
        let stderr = Lines::follow(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// The address from the `listening on` log line, which must carry the real
    /// port even though the server was asked for port 0.
    fn address(&self) -> SocketAddr {
        let line = self.stderr.wait_for("listening on ");
        let (_, rest) = line.split_once("listening on ").unwrap();
        let address: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        let address: SocketAddr = address
            .parse()
            .unwrap_or_else(|_| panic!("no address in {line:?}"));
        assert_ne!(address.port(), 0, "{line}");
        address
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address())
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to end and for all its output.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {PATIENCE:?}: {:?}",
                self.stderr.all()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.stdout.finish();
        self.stderr.finish();
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already gone after a successful test; this is for failing ones.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a server that is expected to refuse to start.
fn refused(vars: &[(&str, &str)], args: &[&str]) -> (ExitStatus, String) {
    let mut server = Server::start(vars, args);
    let status = server.wait();
    (status, server.stderr.all().join("\n"))
}

async fn get_orgs(url: &str, token: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers")
        .status()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_server_says_it_keeps_data_in_memory_only() {
    let server = Server::start(
        &[("TENANCY_ADMIN_TOKEN", "test-admin-token-0123456789abcdef")],
        &[],
    );
    let url = server.url("/v1/orgs");
    let warning = server.stderr.wait_for("in-memory store");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("will not survive a restart"), "{warning}");
    assert_eq!(
        get_orgs(&url, "test-admin-token-0123456789abcdef").await,
        200
    );
    assert!(server.stdout.all().is_empty(), "{:?}", server.stdout.all());
}

#[tokio::test]
async fn without_an_admin_token_one_is_generated_printed_once_and_kept_out_of_the_log() {
    let mut server = Server::start(&[], &[]);
    let url = server.url("/v1/orgs");
    let line = server.stdout.wait_for("admin token");
    let (_, token) = line.rsplit_once(": ").unwrap();
    assert!(token.len() >= 43, "{line}");

    assert_eq!(get_orgs(&url, token).await, 200);
    assert_eq!(get_orgs(&url, "not-the-admin-token").await, 401);

    server.terminate();
    assert!(server.wait().success());
    let stdout = server.stdout.all();
    assert_eq!(
        stdout.iter().filter(|l| l.contains(token)).count(),
        1,
        "{stdout:?}"
    );
    let log = server.stderr.all();
    assert!(log.iter().any(|l| l.contains("listening on")), "{log:?}");
    assert!(!log.iter().any(|l| l.contains(token)), "{log:?}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start(
        &[("TENANCY_ADMIN_TOKEN", "test-admin-token-0123456789abcdef")],
        &[],
    );
    let url = server.url("/v1/orgs");
    assert_eq!(
        get_orgs(&url, "test-admin-token-0123456789abcdef").await,
        200
    );
    server.terminate();
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "{:?}", server.stderr.all());
    assert!(
        server.stderr.all().iter().any(|l| l.contains("SIGTERM")),
        "{:?}",
        server.stderr.all()
    );
}

#[test]
fn a_database_url_that_is_not_postgres_exits_with_code_2_without_its_password() {
    let (status, stderr) = refused(&[("DATABASE_URL", "mysql://app:s3cret@db/tenancy")], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn migrate_without_an_owner_url_exits_with_code_2_naming_it() {
    let (status, stderr) = refused(&[], &["migrate"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TENANCY_DATABASE_OWNER_URL"), "{stderr}");
}

#[test]
fn an_invalid_setting_exits_with_code_2_naming_it() {
    let (status, stderr) = refused(&[("TENANCY_RETENTION_DAYS", "abc")], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TENANCY_RETENTION_DAYS"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_config_file_exits_with_code_2() {
    let (status, stderr) = refused(&[], &["--config", "/nonexistent/tenancy.toml"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/tenancy.toml"), "{stderr}");
}

#[tokio::test]
async fn a_toml_config_file_is_read() {
    let file = TempFile::new(
        "tenancy.toml",
        r#"
        admin_token = "token-from-the-file-0123456789abcdef"
        retention_days = 7

        [[regions]]
        code = "eu-west"
        name = "Europe West"
        "#,
    );
    for args in [
        vec!["--config", file.path().to_str().unwrap()],
        vec!["serve", "--config", file.path().to_str().unwrap()],
    ] {
        let server = Server::start(&[], &args);
        let url = server.url("/v1/orgs");
        assert_eq!(
            get_orgs(&url, "token-from-the-file-0123456789abcdef").await,
            200
        );
        assert!(server.stdout.all().is_empty(), "{:?}", server.stdout.all());
    }

    let server = Server::start(&[("TENANCY_CONFIG", file.path().to_str().unwrap())], &[]);
    let url = server.url("/v1/orgs");
    assert_eq!(
        get_orgs(&url, "token-from-the-file-0123456789abcdef").await,
        200
    );
}

#[test]
fn a_bad_value_in_the_config_file_names_the_key_and_the_file() {
    let file = TempFile::new("bad-tenancy.toml", "retention_days = 0\n");
    let (status, stderr) = refused(&[], &["--config", file.path().to_str().unwrap()]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`retention_days`"), "{stderr}");
    assert!(stderr.contains(file.path().to_str().unwrap()), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let mut server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", "test-admin-token-0123456789abcdef"),
            ("TENANCY_LOG_FORMAT", "json"),
        ],
        &[],
    );
    let url = server.url("/v1/orgs");
    assert_eq!(
        get_orgs(&url, "test-admin-token-0123456789abcdef").await,
        200
    );
    server.terminate();
    assert!(server.wait().success());
    let log = server.stderr.all();
    assert!(log.len() >= 2, "{log:?}");
    for line in &log {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
}

/// Runs `tenancy` with `args` to completion, with a clean environment.
fn run_tenancy(args: &[&str]) -> (ExitStatus, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenancy"));
    for name in SERVER_VARIABLES {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the tenancy binary runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_in_memory_server_uses_an_ephemeral_keyring_and_says_so() {
    let server = Server::start(
        &[("TENANCY_ADMIN_TOKEN", "test-admin-token-0123456789abcdef")],
        &[],
    );
    let warning = server.stderr.wait_for("ephemeral keyring");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("TENANCY_KEYRING"), "{warning}");
}

#[test]
fn a_database_without_a_keyring_exits_with_code_2_naming_tenancy_keyring() {
    let (status, stderr) = refused(
        &[
            ("DATABASE_URL", "postgres://app@127.0.0.1:1/tenancy"),
            ("TENANCY_KEYRING_JSON", ""),
        ],
        &[],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid TENANCY_KEYRING"), "{stderr}");
    assert!(stderr.contains("tenancy kms init"), "{stderr}");
}

#[tokio::test]
async fn kms_init_creates_a_private_keyring_once_and_the_server_uses_it() {
    let dir = std::env::temp_dir().join(format!("tenancy-kms-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keyring.json");
    let shown = path.to_str().unwrap();

    let (status, stdout, stderr) = run_tenancy(&["kms", "init", "--keyring", shown]);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("created keyring"), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&path).unwrap();
    let (status, _, stderr) = run_tenancy(&["kms", "init", "--keyring", shown]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let (status, _, stderr) = run_tenancy(&["kms", "init"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--keyring"), "{stderr}");

    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", "test-admin-token-0123456789abcdef"),
            ("TENANCY_KEYRING", shown),
        ],
        &[],
    );
    let ready = server.stderr.wait_for("KMS ready");
    assert!(ready.contains("local keyring"), "{ready}");
    let text = String::from_utf8(before).unwrap();
    let key = text
        .split("\"key\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ready.contains(key), "the log shows no master key");
}

#[test]
fn an_unreadable_keyring_file_exits_with_code_2_naming_tenancy_keyring() {
    let (status, stderr) = refused(&[("TENANCY_KEYRING", "/nonexistent/keyring.json")], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TENANCY_KEYRING"), "{stderr}");
}
