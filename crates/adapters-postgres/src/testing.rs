//! A fresh, migrated database for every test (STYLE.md: "Each Postgres test
//! gets its own database"), for this crate's tests and the contract suite.
//!
//! The server comes from `TEST_DATABASE_URL`, else `DATABASE_URL`: the URL of a
//! role that may create databases and roles (a superuser of a throwaway server
//! is simplest). `cargo xtask db up` starts such a server under `target/`, and
//! `cargo xtask test` starts it and sets `TEST_DATABASE_URL` by itself.
//!
//! Migrating a database takes far longer than copying one, so the migrations
//! run once into a template database named after a digest of the migrations;
//! it stays on the server for later runs and other test binaries, and a change
//! of migrations makes a new one. Each test then gets `CREATE DATABASE ...
//! TEMPLATE` of it, dropped again when its [`TestDatabase`] is dropped (a test
//! process that is killed leaves its databases behind: `cargo xtask db reset`
//! clears a throwaway server).
//!
//! The runtime role connects without a password, which the throwaway server's
//! trust authentication allows; against a server that wants one, set
//! `TEST_DATABASE_APP_PASSWORD`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use url::Url;

use crate::{Database, DatabaseConfig, MIGRATOR, RUNTIME_ROLE, migrate};

/// Where the tests find their server, in order.
pub const SERVER_URL_VARIABLES: [&str; 2] = ["TEST_DATABASE_URL", "DATABASE_URL"];

/// The runtime role's password, when the server asks for one.
pub const APP_PASSWORD_VARIABLE: &str = "TEST_DATABASE_APP_PASSWORD";

/// Serialises template creation across test processes (any constant will do,
/// as long as nothing else on the server uses it).
const TEMPLATE_LOCK: i64 = 0x7465_6e61_6e63_7901;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One test's own database. Dropping it drops the database.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    server: Url,
    owner_url: String,
    runtime_url: String,
}

impl TestDatabase {
    /// A new database with every migration applied.
    ///
    /// # Panics
    /// When no server is configured or it cannot be reached: a test without
    /// its database cannot run, and the message says how to get one.
    pub async fn new() -> Self {
        let server = server_url();
        let template = TEMPLATE
            .get_or_try_init(|| ensure_template(&server))
            .await
            .unwrap_or_else(|e| panic!("could not prepare the template database: {e}"));
        Self::create(server, Some(template)).await
    }

    /// A new database without any migration, to test the migrations themselves.
    ///
    /// # Panics
    /// As [`TestDatabase::new`].
    pub async fn empty() -> Self {
        Self::create(server_url(), None).await
    }

    async fn create(server: Url, template: Option<&str>) -> Self {
        let name = unique_name();
        let statement = match template {
            Some(template) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote(&name),
                quote(template)
            ),
            None => format!("CREATE DATABASE {}", quote(&name)),
        };
        execute_on_server(&server, &[&statement])
            .await
            .unwrap_or_else(|e| panic!("could not create test database {name}: {e}"));
        let owner_url = database_url(&server, &name);
        let mut runtime = Url::parse(&owner_url).expect("built from a valid URL");
        runtime
            .set_username(RUNTIME_ROLE)
            .and_then(|()| {
                runtime.set_password(std::env::var(APP_PASSWORD_VARIABLE).ok().as_deref())
            })
            .expect("the server URL names a host");
        Self {
            name,
            server,
            owner_url,
            runtime_url: runtime.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of this database as the server's (owner) role from the environment.
    pub fn owner_url(&self) -> &str {
        &self.owner_url
    }

    /// The URL of this database as the runtime role `tenancy_app`.
    pub fn runtime_url(&self) -> &str {
        &self.runtime_url
    }

    /// The server's host and port, for whatever needs to reach it directly (a
    /// pooler put in front, say).
    pub fn host_and_port(&self) -> (String, u16) {
        let host = self.server.host_str().unwrap_or("localhost").to_owned();
        (host, self.server.port().unwrap_or(5432))
    }

    /// A small pool of owner connections, for seeding and inspecting. The owner
    /// is subject to row-level security too (FORCE), unless it is a superuser:
    /// set `app.scope` to `platform` to see everything either way.
    pub async fn owner_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.owner_url)
            .await
            .unwrap_or_else(|e| panic!("could not connect to {} as the owner: {e}", self.name))
    }

    /// The runtime role's [`Database`], as the server would open it.
    pub async fn runtime(&self) -> Database {
        let config = DatabaseConfig {
            max_connections: 4,
            statement_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(30),
            ..DatabaseConfig::new(&self.runtime_url)
        };
        Database::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("could not connect to {} as {RUNTIME_ROLE}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: a
        // thread with a runtime of its own does the asynchronous work. FORCE
        // ends the connections the test left open.
        let server = self.server.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&self.name));
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(execute_on_server(&server, &[&statement]))
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("note: test database {} was not dropped: {e}", self.name);
        }
    }
}

fn server_url() -> Url {
    let Some(raw) = SERVER_URL_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    else {
        panic!(
            "no PostgreSQL server for the Postgres tests: neither TEST_DATABASE_URL nor \
             DATABASE_URL is set.\n\
             Run `cargo xtask test` (it starts a throwaway server and sets the variable), or \
             `cargo xtask db up` and then `export TEST_DATABASE_URL=$(cargo xtask db url)`, or \
             point TEST_DATABASE_URL at a server where the role may create databases and roles."
        )
    };
    Url::parse(&raw).unwrap_or_else(|e| panic!("TEST_DATABASE_URL/DATABASE_URL is not a URL: {e}"))
}

/// Makes sure the template of the current migrations exists. It is built under
/// another name and renamed when complete, so a test process that dies halfway
/// leaves nothing that looks finished.
async fn ensure_template(server: &Url) -> Result<String, String> {
    let name = template_name();
    let mut conn = PgConnection::connect(server.as_str())
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let built = build_template_unless_present(&mut conn, server, &name).await;
    // Closing the connection would release the lock anyway; this says so.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    built.map(|()| name)
}

async fn build_template_unless_present(
    conn: &mut PgConnection,
    server: &Url,
    name: &str,
) -> Result<(), String> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    if exists {
        return Ok(());
    }
    let building = format!("{name}_building");
    for statement in [
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&building)),
        format!("CREATE DATABASE {}", quote(&building)),
    ] {
        sqlx::query(&statement)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    migrate(&database_url(server, &building))
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!(
        "ALTER DATABASE {} RENAME TO {}",
        quote(&building),
        quote(name)
    ))
    .execute(&mut *conn)
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// `tenancy_template_` and the first 8 bytes of a digest of every migration's
/// version and checksum.
fn template_name() -> String {
    let mut digest = Sha256::new();
    for migration in MIGRATOR.iter() {
        digest.update(migration.version.to_be_bytes());
        digest.update(&migration.checksum);
    }
    let hex: String = digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("tenancy_template_{hex}")
}

/// Unique on the server: the process id, a counter, and the time (a later
/// process may reuse the id of one that left a database behind).
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("tenancy_test_{}_{n}_{nanos:x}", std::process::id())
}

fn database_url(server: &Url, database: &str) -> String {
    let mut url = server.clone();
    url.set_path(&format!("/{database}"));
    url.into()
}

/// Quotes a name generated here (letters, digits, `_`) as an SQL identifier.
fn quote(name: &str) -> String {
    debug_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    format!("\"{name}\"")
}

async fn execute_on_server(server: &Url, statements: &[&str]) -> Result<(), String> {
    let mut conn = PgConnection::connect(server.as_str())
        .await
        .map_err(|e| e.to_string())?;
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    }
    conn.close().await.map_err(|e| e.to_string())
}
