//! The same isolation behind PgBouncer in transaction pooling mode (docs/security.md:
//! "no tenant context ever leaks from one transaction to the next"). With one
//! server connection in the pool, every client's transactions take turns on the
//! same backend (checked through `pg_backend_pid()`).

use std::collections::BTreeSet;
use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{DataScope, Database, DatabaseConfig, RUNTIME_ROLE};

use crate::fixtures::{TABLES, World, seed, visible_ids};

/// A PgBouncer process in front of one test database; killed when dropped,
/// panics included.
struct PgBouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl PgBouncer {
    const DATABASE: &'static str = "tenancy";

    async fn start(test: &TestDatabase) -> Self {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let binary = pgbouncer_binary();
        let dir = std::env::temp_dir().join(format!(
            "tenancy-pgbouncer-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let (host, server_port) = test.host_and_port();
        let users = dir.join("userlist.txt");
        fs::write(&users, format!("\"{RUNTIME_ROLE}\" \"\"\n")).unwrap();
        let ini = dir.join("pgbouncer.ini");
        fs::write(
            &ini,
            format!(
                "[databases]\n\
                 {db} = host={host} port={server_port} dbname={name}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 pool_mode = transaction\n\
                 default_pool_size = 1\n\
                 min_pool_size = 0\n\
                 reserve_pool_size = 0\n\
                 max_client_conn = 20\n\
                 ignore_startup_parameters = extra_float_digits\n",
                db = Self::DATABASE,
                name = test.name(),
                users = users.display(),
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.join("pgbouncer.log")).unwrap();
        let mut command = Command::new(&binary);
        // PgBouncer refuses to run as root; it drops to another user itself.
        if let Some(user) = unprivileged_user_when_root() {
            command.arg("-u").arg(user);
        }
        let child = command
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        let mut bouncer = Self { child, dir, port };
        bouncer.wait_until_listening().await;
        bouncer
    }

    /// Polls until PgBouncer accepts connections or exits (bounded: it is
    /// started on an unused port, so it either listens soon or fails).
    async fn wait_until_listening(&mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("pgbouncer exited ({status}):\n{}", self.log());
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pgbouncer did not listen on {}:\n{}", self.port, self.log());
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    /// One client connection through PgBouncer, as the runtime role.
    async fn client(&self) -> Database {
        let url = format!(
            "postgres://{RUNTIME_ROLE}@127.0.0.1:{}/{}",
            self.port,
            Self::DATABASE
        );
        Database::connect(&DatabaseConfig {
            max_connections: 1,
            transaction_pooler: true,
            ..DatabaseConfig::new(url)
        })
        .await
        .unwrap_or_else(|e| panic!("could not connect through pgbouncer: {e}\n{}", self.log()))
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `pgbouncer` on the PATH or in the usual system directories (Debian installs
/// it in an `sbin`, which is not on every user's PATH).
fn pgbouncer_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "pgbouncer is not installed, and the PgBouncer isolation tests need it: \
                 `.ci/run` installs it (Debian package `pgbouncer`); \
                 on another system install PgBouncer with its package manager"
            )
        })
}

/// When the tests run as root, the user PgBouncer should switch to.
fn unprivileged_user_when_root() -> Option<&'static str> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let has_postgres = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Some(if has_postgres { "postgres" } else { "nobody" })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// What one transaction saw, and on which server connection.
struct Seen {
    backend: i32,
    rows: Vec<(&'static str, BTreeSet<uuid::Uuid>)>,
}

/// Runs one transaction through `client`: in `scope` when given, else with no
/// scope set at all.
async fn transaction(client: &Database, scope: Option<DataScope>) -> Seen {
    let mut tx = match scope {
        Some(scope) => client.scoped_transaction(&scope).await.unwrap(),
        None => client.pool().begin().await.unwrap(),
    };
    let backend: i32 = client
        .query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let mut rows = Vec::new();
    for table in TABLES {
        rows.push((table, visible_ids(&mut tx, table).await));
    }
    tx.commit().await.unwrap();
    Seen { backend, rows }
}

fn expect(
    world: &World,
    which: impl Fn(&World, &str) -> BTreeSet<uuid::Uuid>,
) -> Vec<(&'static str, BTreeSet<uuid::Uuid>)> {
    TABLES.iter().map(|t| (*t, which(world, t))).collect()
}

#[tokio::test]
async fn no_scope_outlives_its_transaction_behind_pgbouncer_in_transaction_mode() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let bouncer = PgBouncer::start(&test).await;
    let (client_a, client_b, client_none) = (
        bouncer.client().await,
        bouncer.client().await,
        bouncer.client().await,
    );
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let only_a = expect(&world, |w, t| w.ids_of_tenant(&a, t));
    let only_b = expect(&world, |w, t| w.ids_of_tenant(&b, t));
    let nothing = expect(&world, |_, _| BTreeSet::new());

    let first = transaction(&client_a, Some(a.scope())).await;
    assert_eq!(first.rows, only_a);
    let backend = first.backend;
    for round in 0..3 {
        // Right after tenant A's transaction, on the same backend: nothing.
        let after_a = transaction(&client_none, None).await;
        assert_eq!(
            after_a.backend, backend,
            "round {round}: one shared backend"
        );
        assert_eq!(after_a.rows, nothing, "round {round}: after tenant A");

        let seen_b = transaction(&client_b, Some(b.scope())).await;
        assert_eq!(seen_b.backend, backend);
        assert_eq!(seen_b.rows, only_b, "round {round}: tenant B");

        let after_b = transaction(&client_none, None).await;
        assert_eq!(after_b.rows, nothing, "round {round}: after tenant B");

        let seen_a = transaction(&client_a, Some(a.scope())).await;
        assert_eq!(seen_a.backend, backend);
        assert_eq!(seen_a.rows, only_a, "round {round}: tenant A");
    }

    // A transaction that ends in an error leaves nothing behind either.
    let mut failed = client_a.scoped_transaction(&a.scope()).await.unwrap();
    assert!(
        client_a
            .query("SELECT 1/0")
            .execute(&mut *failed)
            .await
            .is_err()
    );
    failed.rollback().await.unwrap();
    let after_failure = transaction(&client_none, None).await;
    assert_eq!(after_failure.backend, backend);
    assert_eq!(
        after_failure.rows, nothing,
        "after a failed transaction of tenant A"
    );
}

/// The counter-test: the setup above does expose a leak when there is one.
/// A session-level setting (`set_config(..., false)`) stays on the backend and
/// the next client inherits it; the store never sets one.
#[tokio::test]
async fn a_session_level_setting_would_leak_to_the_next_client_so_scopes_are_set_per_transaction() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let bouncer = PgBouncer::start(&test).await;
    let (careless, next) = (bouncer.client().await, bouncer.client().await);

    sqlx::raw_sql("SELECT set_config('app.scope', 'platform', false)")
        .execute(careless.pool())
        .await
        .unwrap();
    let inherited = transaction(&next, None).await;
    assert_eq!(inherited.rows, expect(&world, |w, t| w.all_ids(t)));
}
