//! Connecting, migrating, and the scoped transaction every store call runs in.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::StoreError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Connection, FromRow, PgConnection, PgPool, Postgres, Transaction};

use crate::error::{describe, translate};
use crate::lookups::Lookups;
use domain::ports::DataScope;

/// Every migration of `migrations/`, embedded at build time. Applied migrations
/// are checked against their checksums: an edited one is refused.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The role the server runs as, created by the first migration.
pub const RUNTIME_ROLE: &str = "tenancy_app";

/// Why the database could not be set up. Meant for the operator at startup.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the database URL is not valid: {0}")]
    Url(String),
    #[error("could not connect to the database: {0}")]
    Connect(String),
    #[error("could not apply the migrations: {0}")]
    Migrate(String),
    /// Row-level security would not hold for this role.
    #[error(
        "the server connects as `{role}`, which {problem}: row-level security would not \
         isolate tenants; connect as `{RUNTIME_ROLE}` (migrations run as the owner role)"
    )]
    UnsafeRole { role: String, problem: &'static str },
}

/// How to reach the database as the runtime role.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// A URL of the runtime role, `postgres://tenancy_app@host:5432/tenancy`.
    pub url: String,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// The most connections the verification lookup on a cache miss opens,
    /// on top of the pool's (see `lookups.rs`: they skip the pool's test of
    /// every returned connection, a round trip per call).
    pub lookup_connections: u32,
    /// How long one statement may run before the server cancels it. Set in each
    /// transaction, so it holds behind a transaction-mode pooler too.
    pub statement_timeout: Duration,
    /// How long one statement of the tenant inventory may run: shorter than
    /// `statement_timeout`, since its cost is the caller's to choose (search
    /// terms, filters). One that runs out answers `StoreError::QueryTooBroad`.
    pub inventory_timeout: Duration,
    /// How long one verification lookup on a cache miss may run: an index
    /// probe, so anything longer means the database is in trouble.
    pub lookup_timeout: Duration,
    /// How long a call waits for a free connection.
    pub acquire_timeout: Duration,
    /// A transaction-mode pooler (PgBouncer) sits in front: statements are not
    /// prepared by name and cached, since the next transaction may run on
    /// another server connection that never saw them (and a statement name one
    /// client used may already exist there). Run statements through
    /// [`Database::query`] and its siblings, which honour this.
    pub transaction_pooler: bool,
}

impl DatabaseConfig {
    /// `url` with the defaults: 10 connections and 10 more for lookups, 5 s
    /// per statement, 2 s per inventory statement, 1 s per lookup, 5 s to get
    /// a connection, no pooler.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            lookup_connections: 10,
            statement_timeout: Duration::from_secs(5),
            inventory_timeout: Duration::from_secs(2),
            lookup_timeout: Duration::from_secs(1),
            acquire_timeout: Duration::from_secs(5),
            transaction_pooler: false,
        }
    }
}

/// The runtime role's connection pool.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
    /// Whether statements are prepared by name once per connection and reused.
    prepared_statements: bool,
    /// `statement_timeout` as `set_config` takes it, e.g. `5000ms`.
    statement_timeout: String,
    /// `inventory_timeout`, the same way.
    inventory_timeout: String,
    /// The verification lookup's own connections.
    lookups: Arc<Lookups>,
}

impl Database {
    /// Connects (one connection at once, so a wrong URL fails here) and checks
    /// that the role is safe to run as: not a superuser, no BYPASSRLS, owner
    /// of no table with row-level security, and member of no role that is
    /// any of these.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, SetupError> {
        let mut options: PgConnectOptions = config
            .url
            .parse()
            .map_err(|e: sqlx::Error| SetupError::Url(e.to_string()))?;
        if config.transaction_pooler {
            options = options.statement_cache_capacity(0);
        }
        // No ping before every acquire: it is a round trip on every store call
        // (the verification miss path included). A connection that died is
        // found on use instead; that call fails once and the pool replaces it.
        let lookups = Arc::new(Lookups::new(
            options.clone(),
            config.lookup_connections,
            config.acquire_timeout,
            config.lookup_timeout,
            config.transaction_pooler,
        ));
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| SetupError::Connect(describe(e)))?;
        check_runtime_role(&pool).await?;
        Ok(Self {
            pool,
            prepared_statements: !config.transaction_pooler,
            statement_timeout: millis(config.statement_timeout),
            inventory_timeout: millis(config.inventory_timeout),
            lookups,
        })
    }

    /// Begins the transaction of one store call, with `scope` set for its
    /// row-level security and the statement timeout, both transaction-local
    /// (`set_config(..., true)`): they end with the transaction, so nothing
    /// carries over to the next user of the connection, pooler or not.
    pub async fn scoped_transaction(
        &self,
        scope: &DataScope,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.scoped_transaction_with(scope, &[]).await
    }

    /// As [`Database::scoped_transaction`], also setting each of `planner`
    /// (server settings such as `plan_cache_mode`, with their values) for this
    /// transaction only, in the same round trip. Set after the statement
    /// timeout, so a `statement_timeout` here overrides it.
    pub(crate) async fn scoped_transaction_with(
        &self,
        scope: &DataScope,
        planner: &[(&'static str, &str)],
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        const SCOPE: &str = "SELECT set_config('app.scope', $1, true), \
                    set_config('app.current_org_id', $2, true), \
                    set_config('app.current_tenant_id', $3, true), \
                    set_config('statement_timeout', $4, true)";
        let settings = crate::scope::settings(scope);
        let mut tx = self.pool.begin().await.map_err(translate)?;
        let sql = if planner.is_empty() {
            std::borrow::Cow::Borrowed(SCOPE)
        } else {
            let mut sql = SCOPE.to_owned();
            for i in 0..planner.len() {
                sql.push_str(&format!(
                    ", set_config(${}, ${}, true)",
                    5 + 2 * i,
                    6 + 2 * i
                ));
            }
            std::borrow::Cow::Owned(sql)
        };
        let mut statement = self
            .query(&sql)
            .bind(settings.scope)
            .bind(&settings.org_id)
            .bind(&settings.tenant_id)
            .bind(&self.statement_timeout);
        for (name, value) in planner {
            statement = statement.bind(*name).bind(*value);
        }
        statement.execute(&mut *tx).await.map_err(translate)?;
        Ok(tx)
    }

    /// A statement for one of this database's transactions, prepared and
    /// cached per connection unless a transaction-mode pooler sits in front.
    pub fn query<'q>(&self, sql: &'q str) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.prepared_statements)
    }

    /// As [`Database::query`], decoding each row into `O`.
    pub fn query_as<'q, O>(&self, sql: &'q str) -> QueryAs<'q, Postgres, O, PgArguments>
    where
        O: for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_as(sql).persistent(self.prepared_statements)
    }

    /// As [`Database::query`], decoding the first column of each row into `O`.
    pub fn query_scalar<'q, O>(&self, sql: &'q str) -> QueryScalar<'q, Postgres, O, PgArguments>
    where
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.prepared_statements)
    }

    /// The inventory's statement timeout, as `set_config` takes it.
    pub(crate) fn inventory_timeout(&self) -> &str {
        &self.inventory_timeout
    }

    /// The pool itself, for what runs outside any scope (health checks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The verification lookup's connections (outside any scoped transaction).
    pub(crate) fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// Closes every connection, waiting for those in use in the pool (a
    /// lookup's connection still in use is closed when its call ends).
    pub async fn close(&self) {
        self.lookups.close().await;
        self.pool.close().await;
    }
}

/// A duration as PostgreSQL's time settings take it, in whole milliseconds.
fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

async fn check_runtime_role(pool: &PgPool) -> Result<(), SetupError> {
    let broken = |e: sqlx::Error| SetupError::Connect(describe(e));
    // In a transaction, like every other statement: behind a transaction-mode
    // pooler that keeps the statement's parts on one server connection.
    let mut tx = pool.begin().await.map_err(broken)?;
    // A role that may `SET ROLE` to a superuser, to a role with BYPASSRLS or
    // to a table's owner (a member, directly or through other roles, which is
    // what `pg_has_role(..., 'MEMBER')` follows) is as unsafe as being one:
    // one statement away from stepping around the policies.
    let (role, superuser, bypass, owns_tables, member): (String, bool, bool, bool, bool) =
        sqlx::query_as(
            "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, \
                    EXISTS (SELECT FROM pg_class c WHERE c.relowner = r.oid AND c.relrowsecurity), \
                    EXISTS (SELECT FROM pg_roles m \
                            WHERE m.oid <> r.oid AND pg_has_role(r.oid, m.oid, 'MEMBER') \
                              AND (m.rolsuper OR m.rolbypassrls OR EXISTS ( \
                                   SELECT FROM pg_class c \
                                   WHERE c.relowner = m.oid AND c.relrowsecurity))) \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .map_err(broken)?;
    tx.commit().await.map_err(broken)?;
    let problem = if superuser {
        "is a superuser (superusers always bypass row-level security)"
    } else if bypass {
        "has BYPASSRLS"
    } else if owns_tables {
        "owns tables (an owner can switch their row-level security off)"
    } else if member {
        "is a member of a superuser role, a role with BYPASSRLS or a role that owns tables \
         (it could SET ROLE to it)"
    } else {
        return Ok(());
    };
    Err(SetupError::UnsafeRole { role, problem })
}

/// Applies every migration not yet applied, as the owner role whose URL this
/// is, on one connection. Safe to run from several servers at once (sqlx takes
/// an advisory lock) and a no-op when everything is applied.
pub async fn migrate(owner_url: &str) -> Result<(), SetupError> {
    let options: PgConnectOptions = owner_url
        .parse()
        .map_err(|e: sqlx::Error| SetupError::Url(e.to_string()))?;
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| SetupError::Connect(describe(e)))?;
    MIGRATOR
        .run(&mut conn)
        .await
        .map_err(|e| SetupError::Migrate(e.to_string()))?;
    conn.close()
        .await
        .map_err(|e| SetupError::Connect(describe(e)))
}
