//! Servers under test run as child processes, so the load generator never
//! shares their runtime; both are started, found and stopped the same way.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use adapters_postgres::testing::TestDatabase;

use crate::seed::ADMIN_TOKEN;

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
}

impl Server {
    /// Starts `command` and waits for its `listening on <addr>` line on stderr.
    pub fn start(mut command: Command) -> Result<Self, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {command:?}: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (found, address) = mpsc::channel();
        // Keep draining stderr for the whole run so the child never blocks on it.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let (Some(tx), Ok(addr)) = (found.take(), rest.trim().parse()) {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => Ok(Self { child, address }),
            Err(_) => {
                let _ = child.kill();
                Err("the server did not report its address within 30 s".into())
            }
        }
    }

    /// Resident memory of the server process, in KiB (Linux), if readable.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keyring for this run, made by `tenancy kms init`: on PostgreSQL the
/// server needs a durable KMS for the tenants' data keys, and both instances
/// must unwrap what the other wrapped, so they share it. Removed on drop.
pub(crate) struct Keyring(PathBuf);

impl Keyring {
    pub(crate) fn create(tenancy: &Path) -> Result<Self, String> {
        let path =
            std::env::temp_dir().join(format!("tenancy-bench-keyring-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let output = Command::new(tenancy)
            .args(["kms", "init", "--keyring"])
            .arg(&path)
            .env_remove("TENANCY_CONFIG")
            .output()
            .map_err(|e| format!("could not run `tenancy kms init`: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`tenancy kms init` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Self(path))
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `tenancy serve` on the runtime role of `database`, with `keyring`: the
/// command, for a scenario to add settings to before it starts it.
pub(crate) fn serve_command(tenancy: &Path, database: &TestDatabase, keyring: &Keyring) -> Command {
    let mut command = Command::new(tenancy);
    command
        .arg("serve")
        .env("TENANCY_LISTEN", "127.0.0.1:0")
        .env("TENANCY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("TENANCY_LOG", "warn,tenancy=info")
        .env("DATABASE_URL", database.runtime_url())
        .env("TENANCY_KEYRING", &keyring.0)
        .env_remove("TENANCY_DATABASE_OWNER_URL")
        .env_remove("TENANCY_LISTEN_DATABASE_URL")
        .env_remove("TENANCY_KMS")
        .env_remove("TENANCY_CONFIG");
    command
}
