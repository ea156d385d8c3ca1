//! Which store the server runs on: PostgreSQL when `DATABASE_URL` is set, else
//! the in-memory one. Either way the tenant, key and settings ports go through the
//! verification cache and key uses are batched off the hot path.

use std::sync::Arc;
use std::time::Duration;

use adapters_cache::{CacheLimits, CachedStore, UsageBatcher};
use adapters_http::Readiness;
use adapters_postgres::{
    Database, DatabaseConfig, InvalidationListener, InvalidationSink, MIGRATOR, PgStore,
};
use domain::kms::Kms;
use domain::ports::{
    ApiKeyStore, AuditLog, CustomDomainStore, DataKeyStore, DeliveryStore, DnsResolver, EventLog,
    IdempotencyStore, LibraryStore, Mailer, MemberStore, NamespaceStore, OrgStore,
    RegistrationStore, SecretStore, SettingsStore, TenantStore, WebhookStore,
};
use domain::{KeyHash, Ports, TenantId};
use sqlx::Connection as _;

use crate::config::{DatabaseSettings, DatabaseUrl, QueryLimits};

/// How long `/readyz` waits for the database before calling it unreachable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// What to store data in, and how.
pub struct Storage {
    /// `None`: the in-memory store.
    pub database: Option<DatabaseSettings>,
    /// The owner URL, when `serve` migrates first.
    pub migrate_with: Option<DatabaseUrl>,
    pub cache: CacheLimits,
    /// What wraps the data keys (opened and checked before the store).
    pub kms: Arc<dyn Kms>,
    /// The inventory's and the key lookup's timeouts.
    pub query_limits: QueryLimits,
    /// Sends the registration emails.
    pub mailer: Arc<dyn Mailer>,
    /// Looks up the TXT records that verify custom domains.
    pub dns: Arc<dyn DnsResolver>,
}

impl Storage {
    /// Migrates first when asked, then opens the store.
    pub async fn open(self) -> Result<Store, String> {
        let Some(database) = self.database else {
            if self.migrate_with.is_some() {
                tracing::info!("no DATABASE_URL: not migrating, as the in-memory store needs none");
            }
            return Ok(in_memory(self.cache, self.kms, self.mailer, self.dns));
        };
        if let Some(owner) = &self.migrate_with {
            let applied = migrate(owner).await?;
            tracing::info!(
                "migrated {}: {} migration(s) applied",
                owner.shown(),
                applied.len()
            );
        }
        postgres(
            &database,
            &self.query_limits,
            self.cache,
            self.kms,
            self.mailer,
            self.dns,
        )
        .await
    }
}

/// The ports and what runs alongside them until shutdown.
pub struct Store {
    pub ports: Ports,
    pub usage: Arc<UsageBatcher>,
    /// `/readyz`'s probe; `None` for the in-memory store, always ready.
    pub readiness: Option<Arc<dyn Readiness>>,
    /// Where the webhook worker listens for committed events (PostgreSQL's
    /// `tenancy_outbox` channel, on a direct connection); `None` in memory,
    /// where the worker polls.
    pub outbox_listen: Option<String>,
    /// The PostgreSQL pool and the listener feeding the cache, if any.
    database: Option<(Database, InvalidationListener)>,
}

impl Store {
    /// Ends what the store runs: the listener, then the pool. Call after the
    /// last key uses are flushed.
    pub async fn close(self) {
        if let Some((database, listener)) = self.database {
            listener.stop();
            database.close().await;
        }
    }
}

/// Every port on `store`, with the verification cache in front of tenants and
/// keys, the system's clock, ids and randomness, and the configured KMS.
fn system_ports<S>(
    store: Arc<S>,
    cached: Arc<CachedStore<S>>,
    usage: Arc<UsageBatcher>,
    kms: Arc<dyn Kms>,
    mailer: Arc<dyn Mailer>,
    dns: Arc<dyn DnsResolver>,
) -> Ports
where
    S: OrgStore
        + TenantStore
        + NamespaceStore
        + ApiKeyStore
        + AuditLog
        + EventLog
        + WebhookStore
        + DeliveryStore
        + MemberStore
        + SettingsStore
        + CustomDomainStore
        + LibraryStore
        + DataKeyStore
        + SecretStore
        + IdempotencyStore
        + RegistrationStore
        + 'static,
{
    Ports {
        orgs: store.clone(),
        tenants: cached.clone(),
        namespaces: store.clone(),
        keys: cached.clone(),
        audit: store.clone(),
        events: store.clone(),
        webhooks: store.clone(),
        deliveries: store.clone(),
        members: store.clone(),
        settings: cached,
        custom_domains: store.clone(),
        library: store.clone(),
        data_keys: store.clone(),
        tenant_secrets: store.clone(),
        idempotency: store.clone(),
        registrations: store,
        mailer,
        clock: Arc::new(adapters_system::SystemClock),
        ids: Arc::new(adapters_system::UuidV7Ids),
        entropy: Arc::new(adapters_system::OsSecrets),
        key_usage: usage,
        kms,
        dns,
    }
}

/// The in-memory store. Its data lives as long as the process.
pub fn in_memory(
    cache: CacheLimits,
    kms: Arc<dyn Kms>,
    mailer: Arc<dyn Mailer>,
    dns: Arc<dyn DnsResolver>,
) -> Store {
    tracing::warn!(
        "using the in-memory store: data lives only in this process and will not survive \
         a restart"
    );
    let store = Arc::new(adapters_memory::MemoryStore::new());
    let cached = Arc::new(CachedStore::new(
        store.clone(),
        cache,
        Arc::new(adapters_system::SystemClock),
    ));
    let usage = UsageBatcher::new(cached.clone());
    let ports = system_ports(store, cached, usage.clone(), kms, mailer, dns);
    Store {
        ports,
        usage,
        readiness: None,
        outbox_listen: None,
        database: None,
    }
}

/// The PostgreSQL store: connects as the runtime role (refused when it could
/// bypass row-level security), and listens for other instances' changes so
/// that their suspensions and revocations reach this instance's cache.
pub async fn postgres(
    settings: &DatabaseSettings,
    limits: &QueryLimits,
    cache: CacheLimits,
    kms: Arc<dyn Kms>,
    mailer: Arc<dyn Mailer>,
    dns: Arc<dyn DnsResolver>,
) -> Result<Store, String> {
    let config = DatabaseConfig {
        max_connections: settings.pool_size,
        // As many again for the verification lookup on a cache miss.
        lookup_connections: settings.pool_size,
        statement_timeout: settings.statement_timeout,
        inventory_timeout: limits.inventory_timeout,
        lookup_timeout: limits.lookup_timeout,
        transaction_pooler: settings.pooler,
        ..DatabaseConfig::new(settings.url.expose())
    };
    let database = Database::connect(&config).await.map_err(|e| {
        format!(
            "could not use the database of DATABASE_URL ({}): {e}",
            settings.url.shown()
        )
    })?;
    let store = Arc::new(PgStore::new(database.clone()));
    let cached = Arc::new(CachedStore::new(
        store.clone(),
        cache,
        Arc::new(adapters_system::SystemClock),
    ));
    let listener = InvalidationListener::spawn(
        settings.listen_url.expose(),
        Arc::new(CacheInvalidation(cached.clone())),
    )
    .await
    .map_err(|e| {
        format!(
            "could not listen for other instances' changes on {} (TENANCY_LISTEN_DATABASE_URL, \
             else DATABASE_URL): {e}",
            settings.listen_url.shown()
        )
    })?;
    tracing::info!(
        "using the PostgreSQL store at {} (pool of {} connections{}); listening for \
         invalidations on {}",
        settings.url.shown(),
        settings.pool_size,
        if settings.pooler {
            ", through a transaction-mode pooler"
        } else {
            ""
        },
        settings.listen_url.shown(),
    );
    let usage = UsageBatcher::new(cached.clone());
    let ports = system_ports(store, cached, usage.clone(), kms, mailer, dns);
    Ok(Store {
        ports,
        usage,
        readiness: Some(Arc::new(DatabaseReadiness(database.clone()))),
        outbox_listen: Some(settings.listen_url.expose().to_owned()),
        database: Some((database, listener)),
    })
}

/// Applies the migrations not yet applied, as the owner role; answers the ones
/// this run applied (version and description), in order.
pub async fn migrate(owner: &DatabaseUrl) -> Result<Vec<(i64, String)>, String> {
    let failed = |e: String| format!("could not migrate {}: {e}", owner.shown());
    let before = applied_versions(owner).await.map_err(failed)?;
    adapters_postgres::migrate(owner.expose())
        .await
        .map_err(|e| failed(e.to_string()))?;
    let after = applied_versions(owner).await.map_err(failed)?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .filter(|m| after.contains(&m.version) && !before.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect())
}

/// The versions recorded as applied; none on a database never migrated.
async fn applied_versions(owner: &DatabaseUrl) -> Result<Vec<i64>, String> {
    let mut conn = sqlx::PgConnection::connect(owner.expose())
        .await
        .map_err(|e| e.to_string())?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let versions = if exists {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    conn.close().await.map_err(|e| e.to_string())?;
    Ok(versions)
}

/// `/readyz`: ready while `SELECT 1` runs through the pool within
/// [`READINESS_TIMEOUT`]. The pool replaces broken connections by itself, so
/// the server turns ready again once the database is back.
struct DatabaseReadiness(Database);

#[async_trait::async_trait]
impl Readiness for DatabaseReadiness {
    async fn ready(&self) -> bool {
        let probe = self.0.query("SELECT 1").execute(self.0.pool());
        match tokio::time::timeout(READINESS_TIMEOUT, probe).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database did not answer");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: the database did not answer in time");
                false
            }
        }
    }
}

/// Applies other instances' invalidations to this instance's cache.
struct CacheInvalidation(Arc<CachedStore<PgStore>>);

impl InvalidationSink for CacheInvalidation {
    fn invalidate_key(&self, hash: &KeyHash) {
        self.0.invalidate_key(hash);
    }

    fn invalidate_tenant(&self, tenant: TenantId) {
        self.0.invalidate_tenant(tenant);
    }

    fn clear(&self) {
        self.0.clear();
    }
}
