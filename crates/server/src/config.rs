//! The server's configuration: built-in defaults, then an optional TOML file, then
//! the environment, each layer overriding the one before (figment). Every value is
//! validated here, once, so the rest of the binary only ever sees valid settings,
//! and every refusal names the setting the operator has to fix: the environment
//! variable, or the key and file it came from.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use domain::{KeyPrefix, Name, Region, RegionCode, Regions};
use figment::providers::{Data, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use rand::TryRngCore as _;
use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// The environment variables Tenancy reads, highest precedence last, and the
/// configuration key (as in the TOML file) each one sets. `RUST_LOG` is the
/// fallback for `TENANCY_LOG`, so it comes before it.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("RUST_LOG", "log"),
    ("TENANCY_LISTEN", "listen"),
    ("TENANCY_ADMIN_TOKEN", "admin_token"),
    ("TENANCY_REGIONS", "regions"),
    ("TENANCY_BASE_DOMAIN", "base_domain"),
    ("TENANCY_RETENTION_DAYS", "retention_days"),
    ("TENANCY_KEY_PREFIX", "key_prefix"),
    ("TENANCY_VERIFY_CACHE_KEYS", "verify_cache_keys"),
    (
        "TENANCY_MAX_RESOURCES_PER_TENANT",
        "max_resources_per_tenant",
    ),
    ("TENANCY_LOG_FORMAT", "log_format"),
    ("TENANCY_LOG", "log"),
    ("DATABASE_URL", "database_url"),
    ("TENANCY_DATABASE_OWNER_URL", "database_owner_url"),
    ("TENANCY_MIGRATE", "migrate"),
    ("TENANCY_DB_POOL_SIZE", "db_pool_size"),
    ("TENANCY_DB_STATEMENT_TIMEOUT_MS", "db_statement_timeout_ms"),
    ("TENANCY_DB_POOLER", "db_pooler"),
    ("TENANCY_LISTEN_DATABASE_URL", "listen_database_url"),
    ("TENANCY_KMS", "kms"),
    ("TENANCY_KEYRING", "keyring"),
    ("TENANCY_KEYRING_JSON", "keyring_json"),
    ("TENANCY_AWS_KMS_KEY_ID", "aws_kms_key_id"),
    ("TENANCY_AWS_REGION", "aws_region"),
    ("TENANCY_AWS_KMS_ENDPOINT", "aws_kms_endpoint"),
    // The HTTP server's limits.
    ("TENANCY_HEADER_READ_TIMEOUT_MS", "header_read_timeout_ms"),
    ("TENANCY_REQUEST_TIMEOUT_MS", "request_timeout_ms"),
    ("TENANCY_MAX_CONNECTIONS", "max_connections"),
    ("TENANCY_MAX_IN_FLIGHT", "max_in_flight"),
    // What one caller can make the store do (`QueryLimits`).
    ("TENANCY_INVENTORY_TIMEOUT_MS", "inventory_timeout_ms"),
    (
        "TENANCY_INVENTORY_QUERIES_PER_CALLER",
        "inventory_queries_per_caller",
    ),
    ("TENANCY_DB_LOOKUP_TIMEOUT_MS", "db_lookup_timeout_ms"),
    ("TENANCY_VERIFY_UNKNOWN_KEYS", "verify_unknown_keys"),
    ("TENANCY_VERIFY_UNKNOWN_TTL_MS", "verify_unknown_ttl_ms"),
];

/// Longest retention accepted; far beyond any real policy, and it keeps date
/// arithmetic clear of overflow.
const MAX_RETENTION_DAYS: i128 = 36_500;

/// Largest verification cache accepted: about a few GiB of memory at most.
const MAX_CACHE_KEYS: i128 = 10_000_000;

/// Largest resource quota accepted.
const MAX_RESOURCES: i128 = 100_000_000;

/// Largest connection pool accepted.
const MAX_POOL_SIZE: i128 = 1_000;

/// Longest statement timeout accepted: one hour, in milliseconds.
const MAX_STATEMENT_TIMEOUT_MS: i128 = 3_600_000;

/// Longest header-read or request timeout accepted: one hour, in milliseconds.
const MAX_HTTP_TIMEOUT_MS: i128 = 3_600_000;

/// Most connections, or requests in flight, accepted.
const MAX_HTTP_CONCURRENCY: i128 = 1_000_000;

/// Shortest admin token accepted: a guessable token is the whole platform.
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;

/// Everything `tenancy serve` needs, validated.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: generate one at start and print it once.
    pub admin_token: Option<AdminToken>,
    pub regions: Regions,
    pub base_domain: Option<String>,
    pub retention: chrono::Duration,
    /// The first part of every API key minted and accepted (`tny`).
    pub key_prefix: KeyPrefix,
    /// Most API keys the verification cache holds.
    pub verify_cache_keys: u64,
    /// Most resources one tenant may hold (forks included).
    pub max_resources_per_tenant: u64,
    pub log: LogSettings,
    /// `None`: the in-memory store.
    pub database: Option<DatabaseSettings>,
    /// The owner role's URL, used only to run migrations.
    pub owner_url: Option<DatabaseUrl>,
    /// Whether `serve` migrates (with `owner_url`) before connecting.
    pub migrate: bool,
    /// Which KMS wraps the data keys.
    pub kms: KmsSettings,
    /// The HTTP server's timeouts and limits.
    pub http_limits: HttpLimits,
    /// What one caller can make the store do.
    pub query_limits: QueryLimits,
}

/// The HTTP server's timeouts and limits (docs/security.md): what keeps a
/// client from holding connections or the server's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// `TENANCY_HEADER_READ_TIMEOUT_MS` and `TENANCY_MAX_CONNECTIONS`.
    pub connections: adapters_http::ConnectionLimits,
    /// `TENANCY_REQUEST_TIMEOUT_MS` and `TENANCY_MAX_IN_FLIGHT`.
    pub requests: adapters_http::RequestLimits,
}

/// Bounds on the work one caller can make the store do: the tenant
/// inventory (a caller chooses what it reads) and the verification of keys
/// the store does not know (anyone can send those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// How long one inventory statement may run before it is stopped and
    /// answered `422 search_too_broad` (`TENANCY_INVENTORY_TIMEOUT_MS`).
    pub inventory_timeout: std::time::Duration,
    /// Inventory queries one caller (the admin token, each key) may have
    /// running at once; more answer `429` (`TENANCY_INVENTORY_QUERIES_PER_CALLER`).
    pub inventory_queries_per_caller: u32,
    /// How long one verification lookup on a cache miss may run before it
    /// answers `503` (`TENANCY_DB_LOOKUP_TIMEOUT_MS`).
    pub lookup_timeout: std::time::Duration,
    /// Most unknown keys the verification cache remembers
    /// (`TENANCY_VERIFY_UNKNOWN_KEYS`).
    pub unknown_keys: u64,
    /// How long an unknown key is answered as unknown without asking the
    /// store again; 0 remembers none (`TENANCY_VERIFY_UNKNOWN_TTL_MS`).
    pub unknown_key_ttl: std::time::Duration,
}

/// Which KMS wraps the data keys (`TENANCY_KMS` and its companions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsSettings {
    /// A keyring made up at start: only for the in-memory store, whose data is
    /// lost at exit anyway.
    Ephemeral,
    /// A keyring file (`TENANCY_KEYRING`), created by `tenancy kms init`.
    KeyringFile(PathBuf),
    /// The text of a keyring file (`TENANCY_KEYRING_JSON`); it cannot rotate.
    KeyringText(KeyringText),
    /// A key in AWS KMS.
    Aws {
        key_id: String,
        region: String,
        endpoint: Option<String>,
    },
}

/// The text of a keyring file: master keys, so its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyringText(String);

impl KeyringText {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyringText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyringText(<redacted>)")
    }
}

/// The PostgreSQL store's settings (`DATABASE_URL` and its companions).
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// The runtime role's URL.
    pub url: DatabaseUrl,
    /// A direct connection for LISTEN; `url` unless set apart.
    pub listen_url: DatabaseUrl,
    pub pool_size: u32,
    pub statement_timeout: std::time::Duration,
    /// A transaction-mode pooler (PgBouncer) sits behind `url`.
    pub pooler: bool,
}

/// A PostgreSQL URL. It may carry a password, so neither `Debug` nor
/// [`DatabaseUrl::shown`] include anything but the host, port and database.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: String,
    shown: String,
}

impl DatabaseUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        // `url`'s messages never repeat the input, which may hold a password.
        let url = url::Url::parse(raw)
            .map_err(|e| format!("not a URL ({e}); expected postgres://user@host:5432/database"))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "the scheme must be postgres:// or postgresql://, not {}://",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .unwrap_or("localhost");
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let database = url.path().trim_start_matches('/');
        let shown = if database.is_empty() {
            format!("{host}{port}")
        } else {
            format!("{host}{port}/{database}")
        };
        Ok(Self {
            url: raw.to_owned(),
            shown,
        })
    }

    /// The whole URL, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// `host:port/database`, safe to log.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.shown)
    }
}

#[derive(Debug)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: EnvFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The platform admin's bearer token. Its `Debug` is redacted so it cannot reach
/// a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// 32 bytes from the operating system's RNG, URL-safe base64 without padding
    /// (43 characters): fine to paste into a shell or an HTTP header.
    pub fn generate() -> Result<Self, rand::rand_core::OsError> {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    fn parse(raw: &str) -> Result<Self, String> {
        // The message never repeats the value: it is a secret.
        if raw.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "must be printable ASCII without spaces, as it travels in an HTTP header"
                    .to_owned(),
            );
        }
        if raw.len() < MIN_ADMIN_TOKEN_LEN {
            return Err(format!(
                "must be at least {MIN_ADMIN_TOKEN_LEN} characters long (got {}): it is the \
                 whole platform's credential; generate one with `openssl rand -base64 32`, or \
                 leave it unset to have one generated",
                raw.len()
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Why the server refuses to start. Each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the configuration file {} does not exist (given by --config or TENANCY_CONFIG)",
        .0.display()
    )]
    FileMissing(PathBuf),
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// The file or the environment did not have the expected shape (a typo in a
    /// key, a number where a string belongs, broken TOML); one line per problem.
    #[error("{0}")]
    Unreadable(String),
    #[error("invalid {setting}: {message}")]
    Invalid { setting: String, message: String },
}

/// The environment variables that concern Tenancy, captured once. Empty values
/// count as unset, as most shells and orchestrators make it hard to tell the two
/// apart.
#[derive(Debug, Clone, Default)]
pub struct Environment(Vec<(&'static str, String)>);

impl Environment {
    pub fn from_process() -> Result<Self, ConfigError> {
        let mut vars = Vec::new();
        for (name, _) in ENVIRONMENT {
            match std::env::var(name) {
                Ok(value) => vars.push((*name, value)),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError::NotUnicode(name));
                }
            }
        }
        Ok(Self(vars))
    }

    #[cfg(test)]
    fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let vars = pairs
            .iter()
            .map(|(name, value)| {
                let (known, _) = ENVIRONMENT
                    .iter()
                    .find(|(known, _)| known == name)
                    .unwrap_or_else(|| panic!("{name} is not a variable Tenancy reads"));
                (*known, (*value).to_owned())
            })
            .collect();
        Self(vars)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, value)| *n == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

/// A figment layer with the raw strings of some environment variables. Figment's
/// own `Env` provider guesses types (`"123"` becomes a number, quotes vanish),
/// which would mangle tokens; here every value stays the string it was, and errors
/// name the variable, not the key.
struct EnvLayer {
    values: Dict,
    names: &'static [(&'static str, &'static str)],
}

impl EnvLayer {
    fn new(env: &Environment, names: &'static [(&'static str, &'static str)]) -> Self {
        let values = names
            .iter()
            .filter_map(|(name, key)| Some(((*key).to_owned(), Value::from(env.get(name)?))))
            .collect();
        Self { values, names }
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        let names = self.names;
        Metadata::named("environment").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            names
                .iter()
                .find(|(_, k)| *k == key)
                .map_or(key, |(name, _)| (*name).to_owned())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

/// The defaults, as the lowest figment layer.
#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    regions: &'static str,
    retention_days: u32,
    key_prefix: &'static str,
    verify_cache_keys: u64,
    max_resources_per_tenant: u64,
    log_format: &'static str,
    log: &'static str,
    db_pool_size: u32,
    db_statement_timeout_ms: u32,
    db_pooler: bool,
    kms: &'static str,
    header_read_timeout_ms: u64,
    request_timeout_ms: u64,
    max_connections: u64,
    max_in_flight: u64,
    inventory_timeout_ms: u32,
    inventory_queries_per_caller: u32,
    db_lookup_timeout_ms: u32,
    verify_unknown_keys: u64,
    verify_unknown_ttl_ms: u32,
}

const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:8080",
    regions: "global=Global",
    retention_days: 30,
    key_prefix: "tny",
    verify_cache_keys: 100_000,
    max_resources_per_tenant: 1_000,
    log_format: "text",
    log: "info",
    db_pool_size: 10,
    db_statement_timeout_ms: 5_000,
    db_pooler: false,
    kms: "local",
    header_read_timeout_ms: 10_000,
    request_timeout_ms: 30_000,
    max_connections: 1_024,
    max_in_flight: 512,
    inventory_timeout_ms: 2_000,
    inventory_queries_per_caller: 2,
    db_lookup_timeout_ms: 1_000,
    verify_unknown_keys: 100_000,
    verify_unknown_ttl_ms: 5_000,
};

/// The merged layers before validation. `regions` and `retention_days` stay
/// loosely typed because the file and the environment spell them differently
/// (a table array or `30` in TOML, a string in the environment).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: String,
    #[serde(default)]
    admin_token: Option<String>,
    regions: Value,
    #[serde(default)]
    base_domain: Option<String>,
    retention_days: Value,
    key_prefix: String,
    verify_cache_keys: Value,
    max_resources_per_tenant: Value,
    log_format: String,
    log: String,
    #[serde(default)]
    database_url: Option<String>,
    #[serde(default)]
    database_owner_url: Option<String>,
    #[serde(default)]
    migrate: Option<Value>,
    db_pool_size: Value,
    db_statement_timeout_ms: Value,
    db_pooler: Value,
    #[serde(default)]
    listen_database_url: Option<String>,
    kms: String,
    #[serde(default)]
    keyring: Option<String>,
    #[serde(default)]
    keyring_json: Option<String>,
    #[serde(default)]
    aws_kms_key_id: Option<String>,
    #[serde(default)]
    aws_region: Option<String>,
    #[serde(default)]
    aws_kms_endpoint: Option<String>,
    header_read_timeout_ms: Value,
    request_timeout_ms: Value,
    max_connections: Value,
    max_in_flight: Value,
    inventory_timeout_ms: Value,
    inventory_queries_per_caller: Value,
    db_lookup_timeout_ms: Value,
    verify_unknown_keys: Value,
    verify_unknown_ttl_ms: Value,
}

/// One `[[regions]]` table of the TOML file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    code: String,
    name: Option<String>,
    available: Option<bool>,
}

impl Config {
    /// Reads the defaults, then `file` if given (it must exist), then `env`.
    pub fn load(file: Option<&Path>, env: &Environment) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::FileMissing(path.to_owned()));
            }
            Some(path) => Some(Toml::file_exact(path)),
            None => None,
        };
        Self::from_figment(&layers(file, env))
    }

    fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: Raw = figment.extract().map_err(unreadable)?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            setting: describe(figment, key),
            message,
        };

        let listen = raw.listen.trim().parse().map_err(|_| {
            invalid(
                "listen",
                format!(
                    "{:?} is not an address to listen on; expected an IP address and port \
                     such as 127.0.0.1:8080 or [::]:8080",
                    raw.listen
                ),
            )
        })?;
        let admin_token = raw
            .admin_token
            .as_deref()
            .map(AdminToken::parse)
            .transpose()
            .map_err(|m| invalid("admin_token", m))?;
        let regions = parse_regions(&raw.regions).map_err(|m| invalid("regions", m))?;
        let base_domain = raw
            .base_domain
            .as_deref()
            .map(parse_base_domain)
            .transpose()
            .map_err(|m| invalid("base_domain", m))?;
        let retention =
            parse_retention(&raw.retention_days).map_err(|m| invalid("retention_days", m))?;
        let key_prefix = KeyPrefix::parse(raw.key_prefix.trim())
            .map_err(|e| invalid("key_prefix", format!("{:?}: {e}", raw.key_prefix)))?;
        let verify_cache_keys = whole_number(&raw.verify_cache_keys, "keys", 1..=MAX_CACHE_KEYS)
            .map_err(|m| invalid("verify_cache_keys", m))?
            .try_into()
            .expect("bounded by MAX_CACHE_KEYS");
        let max_resources_per_tenant = whole_number(
            &raw.max_resources_per_tenant,
            "resources",
            1..=MAX_RESOURCES,
        )
        .map_err(|m| invalid("max_resources_per_tenant", m))?
        .try_into()
        .expect("bounded by MAX_RESOURCES");
        let format = parse_log_format(&raw.log_format).map_err(|m| invalid("log_format", m))?;
        let filter = EnvFilter::builder()
            .parse(raw.log.trim())
            .map_err(|e| invalid("log", format!("{:?} is not a log filter: {e}", raw.log)))?;

        let (database, owner_url, migrate) = database_settings(&raw, &invalid)?;
        let kms = kms_settings(&raw, database.is_some(), &invalid)?;
        let http_limits = http_limits(&raw, &invalid)?;
        let query_limits = query_limits(&raw, &invalid)?;

        Ok(Self {
            listen,
            admin_token,
            regions,
            base_domain,
            retention,
            key_prefix,
            verify_cache_keys,
            max_resources_per_tenant,
            log: LogSettings { format, filter },
            database,
            owner_url,
            migrate,
            kms,
            http_limits,
            query_limits,
        })
    }
}

/// The HTTP server's limits; zero is refused for each (a zero timeout or
/// limit would refuse every request).
fn http_limits(
    raw: &Raw,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<HttpLimits, ConfigError> {
    let millis = |key: &str, value: &Value| {
        whole_number(value, "milliseconds", 1..=MAX_HTTP_TIMEOUT_MS)
            .map(|n| {
                std::time::Duration::from_millis(
                    u64::try_from(n).expect("bounded by MAX_HTTP_TIMEOUT_MS"),
                )
            })
            .map_err(|m| invalid(key, m))
    };
    let count = |key: &str, value: &Value, unit: &str| {
        whole_number(value, unit, 1..=MAX_HTTP_CONCURRENCY)
            .map(|n| usize::try_from(n).expect("bounded by MAX_HTTP_CONCURRENCY"))
            .map_err(|m| invalid(key, m))
    };
    Ok(HttpLimits {
        connections: adapters_http::ConnectionLimits {
            header_read_timeout: millis("header_read_timeout_ms", &raw.header_read_timeout_ms)?,
            max_connections: count("max_connections", &raw.max_connections, "connections")?,
        },
        requests: adapters_http::RequestLimits {
            timeout: millis("request_timeout_ms", &raw.request_timeout_ms)?,
            max_in_flight: count("max_in_flight", &raw.max_in_flight, "requests")?,
        },
    })
}

/// Most inventory queries one caller may be allowed at once.
const MAX_QUERIES_PER_CALLER: i128 = 1_000;

/// The [`QueryLimits`].
fn query_limits(
    raw: &Raw,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<QueryLimits, ConfigError> {
    let millis = |key: &str, value: &Value, least: i128| {
        whole_number(value, "milliseconds", least..=MAX_STATEMENT_TIMEOUT_MS)
            .map(|ms| {
                std::time::Duration::from_millis(
                    u64::try_from(ms).expect("bounded by MAX_STATEMENT_TIMEOUT_MS"),
                )
            })
            .map_err(|m| invalid(key, m))
    };
    Ok(QueryLimits {
        inventory_timeout: millis("inventory_timeout_ms", &raw.inventory_timeout_ms, 1)?,
        inventory_queries_per_caller: whole_number(
            &raw.inventory_queries_per_caller,
            "queries",
            1..=MAX_QUERIES_PER_CALLER,
        )
        .map_err(|m| invalid("inventory_queries_per_caller", m))?
        .try_into()
        .expect("bounded by MAX_QUERIES_PER_CALLER"),
        lookup_timeout: millis("db_lookup_timeout_ms", &raw.db_lookup_timeout_ms, 1)?,
        unknown_keys: whole_number(&raw.verify_unknown_keys, "keys", 1..=MAX_CACHE_KEYS)
            .map_err(|m| invalid("verify_unknown_keys", m))?
            .try_into()
            .expect("bounded by MAX_CACHE_KEYS"),
        unknown_key_ttl: millis("verify_unknown_ttl_ms", &raw.verify_unknown_ttl_ms, 0)?,
    })
}

/// The KMS settings. Settings that the chosen KMS would not use are refused
/// rather than ignored, and a database needs a durable KMS: data keys wrapped
/// by an ephemeral keyring would be lost with the process, and the data with
/// them.
fn kms_settings(
    raw: &Raw,
    durable_store: bool,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<KmsSettings, ConfigError> {
    let set = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let keyring = set(&raw.keyring);
    let keyring_json = set(&raw.keyring_json);
    let key_id = set(&raw.aws_kms_key_id);
    let region = set(&raw.aws_region);
    let endpoint = set(&raw.aws_kms_endpoint);
    // A setting that is missing has no source to name: name both spellings.
    let missing = |key: &str, message: String| {
        let variable = ENVIRONMENT
            .iter()
            .find(|(_, k)| *k == key)
            .map_or(key, |(name, _)| name);
        ConfigError::Invalid {
            setting: format!("{variable} (`{key}`)"),
            message,
        }
    };
    match raw.kms.trim() {
        "local" => {
            for (key, value) in [
                ("aws_kms_key_id", &key_id),
                ("aws_region", &region),
                ("aws_kms_endpoint", &endpoint),
            ] {
                if value.is_some() {
                    return Err(invalid(
                        key,
                        "is an AWS KMS setting, but the KMS is the local keyring: set \
                         TENANCY_KMS (`kms`) to `aws`, or unset this"
                            .to_owned(),
                    ));
                }
            }
            match (keyring, keyring_json) {
                (Some(_), Some(_)) => Err(invalid(
                    "keyring_json",
                    "a keyring file is set too (TENANCY_KEYRING, `keyring`): set only one"
                        .to_owned(),
                )),
                (Some(path), None) => Ok(KmsSettings::KeyringFile(PathBuf::from(path))),
                (None, Some(text)) => Ok(KmsSettings::KeyringText(KeyringText(text))),
                (None, None) if durable_store => Err(missing(
                    "keyring",
                    "with DATABASE_URL set, data keys need a durable KMS: create a keyring \
                     with `tenancy kms init --keyring PATH` and set TENANCY_KEYRING=PATH, \
                     or use AWS KMS (TENANCY_KMS=aws)"
                        .to_owned(),
                )),
                (None, None) => Ok(KmsSettings::Ephemeral),
            }
        }
        "aws" => {
            for (key, value) in [("keyring", &keyring), ("keyring_json", &keyring_json)] {
                if value.is_some() {
                    return Err(invalid(
                        key,
                        "is a local keyring setting, but the KMS is AWS KMS \
                         (TENANCY_KMS=aws): unset one of them"
                            .to_owned(),
                    ));
                }
            }
            let key_id = key_id.ok_or_else(|| {
                missing(
                    "aws_kms_key_id",
                    "is required with TENANCY_KMS=aws: the key's id, ARN or alias \
                     (alias/tenancy)"
                        .to_owned(),
                )
            })?;
            if key_id.len() > 2048 || !key_id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "aws_kms_key_id",
                    format!("{key_id:?} is not a key id, ARN or alias"),
                ));
            }
            let region = region.ok_or_else(|| {
                missing(
                    "aws_region",
                    "is required with TENANCY_KMS=aws, e.g. eu-west-1".to_owned(),
                )
            })?;
            if !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(
                    "aws_region",
                    format!("{region:?} is not an AWS region such as eu-west-1"),
                ));
            }
            if let Some(url) = &endpoint {
                let parsed = url::Url::parse(url).map_err(|e| {
                    invalid("aws_kms_endpoint", format!("{url:?} is not a URL ({e})"))
                })?;
                if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
                    return Err(invalid(
                        "aws_kms_endpoint",
                        format!("{url:?} must be an http:// or https:// URL with a host"),
                    ));
                }
            }
            Ok(KmsSettings::Aws {
                key_id,
                region,
                endpoint,
            })
        }
        other => Err(invalid(
            "kms",
            format!("{other:?} is not a KMS (expected `local` or `aws`)"),
        )),
    }
}

/// The database settings: the store's, the owner URL, and whether to migrate.
fn database_settings(
    raw: &Raw,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(Option<DatabaseSettings>, Option<DatabaseUrl>, bool), ConfigError> {
    let url = |key: &str, value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(DatabaseUrl::parse)
            .transpose()
            .map_err(|m| invalid(key, m))
    };
    let database_url = url("database_url", &raw.database_url)?;
    let owner_url = url("database_owner_url", &raw.database_owner_url)?;
    let listen_url = url("listen_database_url", &raw.listen_database_url)?;
    let migrate = match &raw.migrate {
        None => owner_url.is_some(),
        Some(value) => {
            let migrate = boolean(value).map_err(|m| invalid("migrate", m))?;
            if migrate && owner_url.is_none() {
                return Err(invalid(
                    "migrate",
                    "migrating needs the owner role's URL: set TENANCY_DATABASE_OWNER_URL \
                     (`database_owner_url`), or set this to false"
                        .to_owned(),
                ));
            }
            migrate
        }
    };
    let pool_size = whole_number(&raw.db_pool_size, "connections", 1..=MAX_POOL_SIZE)
        .map_err(|m| invalid("db_pool_size", m))?
        .try_into()
        .expect("bounded by MAX_POOL_SIZE");
    let timeout_ms = whole_number(
        &raw.db_statement_timeout_ms,
        "milliseconds",
        1..=MAX_STATEMENT_TIMEOUT_MS,
    )
    .map_err(|m| invalid("db_statement_timeout_ms", m))?;
    let statement_timeout = std::time::Duration::from_millis(
        u64::try_from(timeout_ms).expect("bounded by MAX_STATEMENT_TIMEOUT_MS"),
    );
    let pooler = boolean(&raw.db_pooler).map_err(|m| invalid("db_pooler", m))?;
    let database = match database_url {
        None => None,
        Some(url) => {
            if pooler && listen_url.is_none() {
                return Err(invalid(
                    "db_pooler",
                    "behind a transaction-mode pooler, LISTEN does not receive \
                     notifications: set TENANCY_LISTEN_DATABASE_URL \
                     (`listen_database_url`) to a direct connection to PostgreSQL"
                        .to_owned(),
                ));
            }
            Some(DatabaseSettings {
                listen_url: listen_url.unwrap_or_else(|| url.clone()),
                url,
                pool_size,
                statement_timeout,
                pooler,
            })
        }
    };
    Ok((database, owner_url, migrate))
}

/// `true` or `false`, from TOML (a boolean) or the environment (text).
fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(_, b) => Ok(*b),
        Value::String(_, text) => match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("{other:?} is not `true` or `false`")),
        },
        _ => Err("expected `true` or `false`".to_owned()),
    }
}

fn layers(file: Option<Data<Toml>>, env: &Environment) -> Figment {
    let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
    if let Some(file) = file {
        figment = figment.merge(file);
    }
    // Two environment layers so that `TENANCY_LOG` beats `RUST_LOG` and an error
    // names whichever of the two actually supplied the value.
    let (rust_log, tenancy) = ENVIRONMENT.split_at(1);
    figment
        .merge(EnvLayer::new(env, rust_log))
        .merge(EnvLayer::new(env, tenancy))
}

/// How to point the operator at a setting: the environment variable that set
/// it, or its key and the file it was read from.
fn describe(figment: &Figment, key: &str) -> String {
    describe_key(figment.find_metadata(key), key)
}

fn describe_key(metadata: Option<&Metadata>, key: &str) -> String {
    match metadata {
        Some(Metadata {
            source: Some(Source::File(path)),
            ..
        }) => format!("`{key}` in {}", path.display()),
        Some(metadata) if metadata.name == "environment" => {
            metadata.interpolate(&Profile::Default, &[key])
        }
        _ => format!("`{key}`"),
    }
}

/// Figment's errors, reworded to name settings the way the rest of this module
/// does (its own wording names keys as `default.listen` and paths relative to
/// the working directory).
fn unreadable(error: figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            if e.path.is_empty() {
                // Not about one key: the file itself (unreadable, broken TOML).
                return e.to_string();
            }
            let setting = describe_key(e.metadata.as_ref(), &e.path.join("."));
            format!("invalid {setting}: {}", explain(&e.kind))
        })
        .collect();
    ConfigError::Unreadable(lines.join("\n"))
}

fn explain(kind: &figment::error::Kind) -> String {
    match kind {
        figment::error::Kind::UnknownField(found, known) => {
            format!("unknown key `{found}` (known keys: {})", known.join(", "))
        }
        other => other.to_string(),
    }
}

fn parse_regions(value: &Value) -> Result<Regions, String> {
    let regions = match value {
        Value::String(_, spec) => parse_region_list(spec)?,
        Value::Array(_, entries) => entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let entry: RegionEntry = entry
                    .deserialize()
                    .map_err(|e| format!("region {}: {}", i + 1, explain(&e.kind)))?;
                region(
                    &entry.code,
                    entry.name.as_deref(),
                    entry.available.unwrap_or(true),
                )
                .map_err(|m| format!("region {}: {m}", i + 1))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(
                "expected a list such as \"eu-west=Europe West,us-east=US East:unavailable\" \
                 or [[regions]] tables"
                    .to_owned(),
            );
        }
    };
    Regions::new(regions).map_err(|e| e.to_string())
}

/// The environment's syntax: comma-separated `code[=Display Name][:unavailable]`.
fn parse_region_list(spec: &str) -> Result<Vec<Region>, String> {
    spec.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, entry)| {
            if entry.is_empty() {
                return Err(format!(
                    "region {} is empty; expected code[=Display Name][:unavailable]",
                    i + 1
                ));
            }
            let (rest, available) = match entry.rsplit_once(':') {
                None => (entry, true),
                Some((rest, flag)) => match flag.trim() {
                    "unavailable" => (rest, false),
                    "available" => (rest, true),
                    other => {
                        return Err(format!(
                            "{entry:?}: unknown flag {other:?} after ':' (expected `unavailable`)"
                        ));
                    }
                },
            };
            let (code, name) = match rest.split_once('=') {
                Some((code, name)) => (code, Some(name)),
                None => (rest, None),
            };
            region(code.trim(), name, available).map_err(|m| format!("{entry:?}: {m}"))
        })
        .collect()
}

/// A region from its parts; without a display name, the code doubles as one.
fn region(code: &str, name: Option<&str>, available: bool) -> Result<Region, String> {
    let code = RegionCode::parse(code).map_err(|e| e.to_string())?;
    let name = Name::parse(name.unwrap_or(code.as_str()))
        .map_err(|e| format!("the display name of {code} {e}"))?;
    Ok(Region {
        code,
        name,
        available,
    })
}

fn parse_retention(value: &Value) -> Result<chrono::Duration, String> {
    let days = whole_number(value, "days", 1..=MAX_RETENTION_DAYS)?;
    Ok(chrono::Duration::days(
        i64::try_from(days).expect("bounded by MAX_RETENTION_DAYS"),
    ))
}

/// A whole number within `range`, from TOML (a number) or the environment (text).
fn whole_number(
    value: &Value,
    unit: &str,
    range: std::ops::RangeInclusive<i128>,
) -> Result<i128, String> {
    let number = match value {
        Value::String(_, text) => text.trim().parse::<i128>().ok(),
        other => other
            .to_i128()
            .or_else(|| other.to_u128().and_then(|n| i128::try_from(n).ok())),
    };
    let Some(number) = number else {
        return Err(format!(
            "{} is not a whole number of {unit}",
            match value {
                Value::String(_, text) => format!("{text:?}"),
                _ => "the value".to_owned(),
            }
        ));
    };
    if !range.contains(&number) {
        return Err(format!(
            "must be between {} and {} {unit} (got {number})",
            range.start(),
            range.end()
        ));
    }
    Ok(number)
}

fn parse_log_format(raw: &str) -> Result<LogFormat, String> {
    match raw.trim() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!(
            "{other:?} is not a log format (expected `text` or `json`)"
        )),
    }
}

/// A DNS name such as `tenancy.example.com`, lowercased, without a trailing dot.
fn parse_base_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() > 253 || !domain.split('.').all(valid_label) {
        return Err(format!(
            "{raw:?} is not a domain name such as tenancy.example.com"
        ));
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_figment(&layers(None, &Environment::from_pairs(pairs)))
    }

    fn from_toml(toml: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_figment(&layers(
            Some(Toml::string(toml)),
            &Environment::from_pairs(pairs),
        ))
    }

    fn error(result: Result<Config, ConfigError>) -> String {
        result
            .expect_err("the configuration should be refused")
            .to_string()
    }

    fn codes(config: &Config) -> Vec<(&str, &str, bool)> {
        config
            .regions
            .all()
            .iter()
            .map(|r| (r.code.as_str(), r.name.as_str(), r.available))
            .collect()
    }

    #[test]
    fn nothing_configured_gives_the_documented_defaults() {
        let config = from_env(&[]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.admin_token, None);
        assert_eq!(codes(&config), [("global", "Global", true)]);
        assert_eq!(config.base_domain, None);
        assert_eq!(config.retention, chrono::Duration::days(30));
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.filter.to_string(), "info");
    }

    #[test]
    fn regions_are_read_from_the_environment_syntax() {
        let config = from_env(&[(
            "TENANCY_REGIONS",
            "eu-west=Europe West,us-east=US East:unavailable",
        )])
        .unwrap();
        assert_eq!(
            codes(&config),
            [
                ("eu-west", "Europe West", true),
                ("us-east", "US East", false)
            ]
        );
    }

    #[test]
    fn a_region_without_a_display_name_is_named_by_its_code() {
        let config = from_env(&[("TENANCY_REGIONS", " ap-south , eu-1:available ")]).unwrap();
        assert_eq!(
            codes(&config),
            [("ap-south", "ap-south", true), ("eu-1", "eu-1", true)]
        );
    }

    #[test]
    fn bad_region_lists_are_refused_naming_tenancy_regions() {
        for (spec, expected) in [
            ("EU=Europe", "not a region code"),
            ("eu-west,eu-west", "configured twice"),
            ("eu-west:unavailable", "no region is available"),
            ("eu-west:closed", "unknown flag"),
            ("eu-west,,us-east", "region 2 is empty"),
            ("eu-west=", "display name"),
        ] {
            let message = error(from_env(&[("TENANCY_REGIONS", spec)]));
            assert!(
                message.starts_with("invalid TENANCY_REGIONS: "),
                "{spec}: {message}"
            );
            assert!(message.contains(expected), "{spec}: {message}");
        }
    }

    #[test]
    fn retention_must_be_a_whole_number_of_days_of_at_least_one() {
        let config = from_env(&[("TENANCY_RETENTION_DAYS", "7")]).unwrap();
        assert_eq!(config.retention, chrono::Duration::days(7));
        for bad in ["abc", "0", "-3", "1.5", "99999999999999999999999"] {
            let message = error(from_env(&[("TENANCY_RETENTION_DAYS", bad)]));
            assert!(
                message.starts_with("invalid TENANCY_RETENTION_DAYS: "),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_variable() {
        for (name, value) in [
            ("TENANCY_LISTEN", "localhost"),
            ("TENANCY_LOG_FORMAT", "xml"),
            ("TENANCY_LOG", "info,=nonsense[="),
            ("RUST_LOG", "info,=nonsense[="),
            ("TENANCY_BASE_DOMAIN", "https://example.com"),
            ("TENANCY_ADMIN_TOKEN", "has a space"),
        ] {
            let message = error(from_env(&[(name, value)]));
            assert!(
                message.starts_with(&format!("invalid {name}: ")),
                "{name}: {message}"
            );
        }
    }

    #[test]
    fn a_refused_admin_token_is_not_repeated_in_the_message() {
        let message = error(from_env(&[("TENANCY_ADMIN_TOKEN", "sécret-token")]));
        assert!(!message.contains("sécret"), "{message}");
    }

    #[test]
    fn an_admin_token_shorter_than_32_characters_is_refused_without_repeating_it() {
        // Before: `the configuration should be refused: Ok(Config { ...`.
        let message = error(from_env(&[("TENANCY_ADMIN_TOKEN", "dev-admin-token")]));
        assert!(
            message.starts_with("invalid TENANCY_ADMIN_TOKEN: must be at least 32 characters"),
            "{message}"
        );
        assert!(!message.contains("dev-admin-token"), "{message}");
        let long = "x".repeat(31) + "y";
        let config = from_env(&[("TENANCY_ADMIN_TOKEN", &long)]).unwrap();
        assert_eq!(config.admin_token.unwrap().expose(), long);
    }

    #[test]
    fn http_limits_have_documented_defaults() {
        let limits = from_env(&[]).unwrap().http_limits;
        assert_eq!(
            limits.connections.header_read_timeout,
            std::time::Duration::from_secs(10)
        );
        assert_eq!(limits.connections.max_connections, 1024);
        assert_eq!(limits.requests.timeout, std::time::Duration::from_secs(30));
        assert_eq!(limits.requests.max_in_flight, 512);
    }

    #[test]
    fn http_limits_are_read_from_the_environment_and_the_file() {
        let limits = from_env(&[
            ("TENANCY_HEADER_READ_TIMEOUT_MS", "1500"),
            ("TENANCY_REQUEST_TIMEOUT_MS", "2500"),
            ("TENANCY_MAX_CONNECTIONS", "64"),
            ("TENANCY_MAX_IN_FLIGHT", "8"),
        ])
        .unwrap()
        .http_limits;
        assert_eq!(
            limits.connections.header_read_timeout,
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(limits.connections.max_connections, 64);
        assert_eq!(
            limits.requests.timeout,
            std::time::Duration::from_millis(2500)
        );
        assert_eq!(limits.requests.max_in_flight, 8);
        let limits = from_toml("max_in_flight = 3\n", &[]).unwrap().http_limits;
        assert_eq!(limits.requests.max_in_flight, 3);
    }

    #[test]
    fn zero_or_nonsense_http_limits_are_refused_naming_their_variable() {
        for name in [
            "TENANCY_HEADER_READ_TIMEOUT_MS",
            "TENANCY_REQUEST_TIMEOUT_MS",
            "TENANCY_MAX_CONNECTIONS",
            "TENANCY_MAX_IN_FLIGHT",
        ] {
            for bad in ["0", "-1", "soon", "99999999999"] {
                let message = error(from_env(&[(name, bad)]));
                assert!(
                    message.starts_with(&format!("invalid {name}: ")),
                    "{name}={bad}: {message}"
                );
            }
        }
    }

    #[test]
    fn tenancy_log_takes_precedence_over_rust_log() {
        let config = from_env(&[("RUST_LOG", "warn"), ("TENANCY_LOG", "debug")]).unwrap();
        assert_eq!(config.log.filter.to_string(), "debug");
        let config = from_env(&[("RUST_LOG", "warn")]).unwrap();
        assert_eq!(config.log.filter.to_string(), "warn");
    }

    #[test]
    fn values_are_taken_verbatim_not_guessed_at() {
        let config = from_env(&[
            (
                "TENANCY_ADMIN_TOKEN",
                "\"12345678901234567890123456789012\"",
            ),
            ("TENANCY_BASE_DOMAIN", "Tenancy.Example.COM."),
            ("TENANCY_LISTEN", "[::1]:0"),
        ])
        .unwrap();
        assert_eq!(
            config.admin_token.unwrap().expose(),
            "\"12345678901234567890123456789012\""
        );
        assert_eq!(config.base_domain.as_deref(), Some("tenancy.example.com"));
        assert_eq!(config.listen, "[::1]:0".parse().unwrap());
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = from_env(&[("TENANCY_ADMIN_TOKEN", ""), ("DATABASE_URL", "")]).unwrap();
        assert_eq!(config.admin_token, None);
        assert!(config.database.is_none());
    }

    #[test]
    fn without_database_url_the_store_is_in_memory_and_nothing_migrates() {
        let config = from_env(&[]).unwrap();
        assert!(config.database.is_none());
        assert!(config.owner_url.is_none());
        assert!(!config.migrate);
    }

    #[test]
    fn database_settings_have_documented_defaults() {
        let config = from_env(&[
            ("DATABASE_URL", "postgres://app:pw@db:5433/tenancy"),
            ("TENANCY_KEYRING", "keyring.json"),
        ])
        .unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.url.expose(), "postgres://app:pw@db:5433/tenancy");
        assert_eq!(database.listen_url.expose(), database.url.expose());
        assert_eq!(database.pool_size, 10);
        assert_eq!(
            database.statement_timeout,
            std::time::Duration::from_millis(5000)
        );
        assert!(!database.pooler);
        assert!(!config.migrate);
    }

    #[test]
    fn database_settings_are_read_from_the_environment() {
        let config = from_env(&[
            ("TENANCY_KEYRING", "keyring.json"),
            ("DATABASE_URL", "postgres://app@pgbouncer:6432/tenancy"),
            (
                "TENANCY_DATABASE_OWNER_URL",
                "postgresql://owner:pw@db/tenancy",
            ),
            ("TENANCY_DB_POOL_SIZE", "25"),
            ("TENANCY_DB_STATEMENT_TIMEOUT_MS", "750"),
            ("TENANCY_DB_POOLER", "true"),
            (
                "TENANCY_LISTEN_DATABASE_URL",
                "postgres://app@db:5432/tenancy",
            ),
        ])
        .unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.pool_size, 25);
        assert_eq!(
            database.statement_timeout,
            std::time::Duration::from_millis(750)
        );
        assert!(database.pooler);
        assert_eq!(database.listen_url.shown(), "db:5432/tenancy");
        assert_eq!(database.url.shown(), "pgbouncer:6432/tenancy");
        assert!(config.migrate, "migrating is the default with an owner URL");

        let config = from_env(&[
            ("TENANCY_DATABASE_OWNER_URL", "postgres://owner@db/tenancy"),
            ("TENANCY_MIGRATE", "false"),
        ])
        .unwrap();
        assert!(!config.migrate);
    }

    #[test]
    fn query_limits_have_documented_defaults_and_are_read_from_the_environment() {
        use std::time::Duration;
        let limits = from_env(&[]).unwrap().query_limits;
        assert_eq!(
            limits,
            QueryLimits {
                inventory_timeout: Duration::from_millis(2000),
                inventory_queries_per_caller: 2,
                lookup_timeout: Duration::from_millis(1000),
                unknown_keys: 100_000,
                unknown_key_ttl: Duration::from_millis(5000),
            }
        );
        let limits = from_env(&[
            ("TENANCY_INVENTORY_TIMEOUT_MS", "500"),
            ("TENANCY_INVENTORY_QUERIES_PER_CALLER", "4"),
            ("TENANCY_DB_LOOKUP_TIMEOUT_MS", "250"),
            ("TENANCY_VERIFY_UNKNOWN_KEYS", "1000"),
            ("TENANCY_VERIFY_UNKNOWN_TTL_MS", "0"),
        ])
        .unwrap()
        .query_limits;
        assert_eq!(
            limits,
            QueryLimits {
                inventory_timeout: Duration::from_millis(500),
                inventory_queries_per_caller: 4,
                lookup_timeout: Duration::from_millis(250),
                unknown_keys: 1000,
                unknown_key_ttl: Duration::ZERO,
            }
        );
        for (name, value) in [
            ("TENANCY_INVENTORY_TIMEOUT_MS", "0"),
            ("TENANCY_INVENTORY_QUERIES_PER_CALLER", "0"),
            ("TENANCY_DB_LOOKUP_TIMEOUT_MS", "soon"),
            ("TENANCY_VERIFY_UNKNOWN_KEYS", "0"),
            ("TENANCY_VERIFY_UNKNOWN_TTL_MS", "-1"),
        ] {
            let message = error(from_env(&[(name, value)]));
            assert!(
                message.starts_with(&format!("invalid {name}: ")),
                "{name}={value}: {message}"
            );
        }
    }

    #[test]
    fn bad_database_settings_are_refused_naming_their_variable() {
        for (pairs, name) in [
            (vec![("DATABASE_URL", "mysql://u:pw@db/x")], "DATABASE_URL"),
            (vec![("DATABASE_URL", "not a url")], "DATABASE_URL"),
            (
                vec![("TENANCY_DATABASE_OWNER_URL", "db:5432")],
                "TENANCY_DATABASE_OWNER_URL",
            ),
            (vec![("TENANCY_MIGRATE", "yes")], "TENANCY_MIGRATE"),
            (vec![("TENANCY_MIGRATE", "true")], "TENANCY_MIGRATE"),
            (vec![("TENANCY_DB_POOL_SIZE", "0")], "TENANCY_DB_POOL_SIZE"),
            (
                vec![("TENANCY_DB_STATEMENT_TIMEOUT_MS", "soon")],
                "TENANCY_DB_STATEMENT_TIMEOUT_MS",
            ),
            (vec![("TENANCY_DB_POOLER", "1")], "TENANCY_DB_POOLER"),
            (
                vec![
                    ("DATABASE_URL", "postgres://u@pgbouncer/x"),
                    ("TENANCY_DB_POOLER", "true"),
                ],
                "TENANCY_DB_POOLER",
            ),
        ] {
            let message = error(from_env(&pairs));
            assert!(
                message.starts_with(&format!("invalid {name}: ")),
                "{pairs:?}: {message}"
            );
        }
    }

    #[test]
    fn a_database_password_is_never_shown() {
        let config = from_env(&[
            ("DATABASE_URL", "postgres://u:s3cret@db/tenancy"),
            ("TENANCY_KEYRING", "keyring.json"),
        ])
        .unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.url.shown(), "db/tenancy");
        assert!(!format!("{database:?}").contains("s3cret"));
        let message = error(from_env(&[("DATABASE_URL", "mysql://u:s3cret@db/tenancy")]));
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn the_toml_file_sets_database_settings() {
        let config = from_toml(
            "database_url = \"postgres://app@db/tenancy\"\ndb_pool_size = 4\ndb_pooler = false\n\
             keyring = \"keyring.json\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.database.unwrap().pool_size, 4);
    }

    #[test]
    fn a_toml_file_sets_values_and_the_environment_overrides_it() {
        let toml = r#"
            listen = "0.0.0.0:9000"
            retention_days = 14
            log_format = "json"
            base_domain = "tenancy.example.com"

            [[regions]]
            code = "eu-west"
            name = "Europe West"

            [[regions]]
            code = "us-east"
            available = false
        "#;
        let config = from_toml(toml, &[]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.retention, chrono::Duration::days(14));
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.base_domain.as_deref(), Some("tenancy.example.com"));
        assert_eq!(
            codes(&config),
            [
                ("eu-west", "Europe West", true),
                ("us-east", "us-east", false)
            ]
        );

        let config = from_toml(toml, &[("TENANCY_RETENTION_DAYS", "3")]).unwrap();
        assert_eq!(config.retention, chrono::Duration::days(3));
    }

    #[test]
    fn the_toml_file_accepts_the_environment_syntax_for_regions_too() {
        let config = from_toml(r#"regions = "a1=A One,b2:unavailable""#, &[]).unwrap();
        assert_eq!(codes(&config), [("a1", "A One", true), ("b2", "b2", false)]);
    }

    #[test]
    fn bad_values_in_the_file_name_their_key() {
        let message = error(from_toml("retention_days = 0", &[]));
        assert!(message.starts_with("invalid `retention_days`"), "{message}");
        let message = error(from_toml("[[regions]]\ncode = \"eu\"\ncolour = 1", &[]));
        assert!(message.contains("colour"), "{message}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let message = error(from_toml("retention = 3", &[]));
        assert!(
            message
                .starts_with("invalid `retention`: unknown key `retention` (known keys: listen,"),
            "{message}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_in_the_file_names_its_key() {
        let message = error(from_toml("listen = 5", &[]));
        assert!(
            message.starts_with("invalid `listen`: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_file_is_refused() {
        let missing = std::env::temp_dir().join("tenancy-no-such-config.toml");
        let err = Config::load(Some(&missing), &Environment::default()).unwrap_err();
        assert!(matches!(err, ConfigError::FileMissing(_)), "{err}");
    }

    #[test]
    fn the_in_memory_store_gets_an_ephemeral_keyring_by_default() {
        assert_eq!(from_env(&[]).unwrap().kms, KmsSettings::Ephemeral);
        let config = from_env(&[("TENANCY_KEYRING", "/etc/tenancy/keyring.json")]).unwrap();
        assert_eq!(
            config.kms,
            KmsSettings::KeyringFile("/etc/tenancy/keyring.json".into())
        );
    }

    #[test]
    fn a_database_without_a_durable_kms_is_refused_naming_tenancy_keyring() {
        let message = error(from_env(&[("DATABASE_URL", "postgres://app@db/tenancy")]));
        assert!(
            message.starts_with("invalid TENANCY_KEYRING (`keyring`): "),
            "{message}"
        );
        assert!(message.contains("tenancy kms init"), "{message}");
        let config = from_env(&[
            ("DATABASE_URL", "postgres://app@db/tenancy"),
            ("TENANCY_KEYRING", "keyring.json"),
        ])
        .unwrap();
        assert_eq!(config.kms, KmsSettings::KeyringFile("keyring.json".into()));
    }

    #[test]
    fn aws_kms_is_selected_with_its_key_region_and_endpoint() {
        let config = from_env(&[
            ("TENANCY_KMS", "aws"),
            ("TENANCY_AWS_KMS_KEY_ID", "alias/tenancy"),
            ("TENANCY_AWS_REGION", "eu-west-1"),
            (
                "TENANCY_AWS_KMS_ENDPOINT",
                "https://kms.eu-west-1.amazonaws.com",
            ),
            ("DATABASE_URL", "postgres://app@db/tenancy"),
        ])
        .unwrap();
        assert_eq!(
            config.kms,
            KmsSettings::Aws {
                key_id: "alias/tenancy".into(),
                region: "eu-west-1".into(),
                endpoint: Some("https://kms.eu-west-1.amazonaws.com".into()),
            }
        );
        let config = from_toml(
            "kms = \"aws\"\naws_kms_key_id = \"k\"\naws_region = \"us-east-1\"\n",
            &[],
        )
        .unwrap();
        assert!(matches!(
            config.kms,
            KmsSettings::Aws { endpoint: None, .. }
        ));
    }

    #[test]
    fn bad_kms_settings_are_refused_naming_their_variable() {
        let aws = [("TENANCY_KMS", "aws")];
        for (pairs, name) in [
            (vec![("TENANCY_KMS", "vault")], "TENANCY_KMS"),
            (aws.to_vec(), "TENANCY_AWS_KMS_KEY_ID"),
            (
                vec![("TENANCY_KMS", "aws"), ("TENANCY_AWS_KMS_KEY_ID", "k")],
                "TENANCY_AWS_REGION",
            ),
            (
                vec![
                    ("TENANCY_KMS", "aws"),
                    ("TENANCY_AWS_KMS_KEY_ID", "k"),
                    ("TENANCY_AWS_REGION", "EU West"),
                ],
                "TENANCY_AWS_REGION",
            ),
            (
                vec![
                    ("TENANCY_KMS", "aws"),
                    ("TENANCY_AWS_KMS_KEY_ID", "k"),
                    ("TENANCY_AWS_REGION", "eu-west-1"),
                    ("TENANCY_AWS_KMS_ENDPOINT", "ftp://kms"),
                ],
                "TENANCY_AWS_KMS_ENDPOINT",
            ),
            (
                vec![("TENANCY_KMS", "aws"), ("TENANCY_KEYRING", "k.json")],
                "TENANCY_KEYRING",
            ),
            (
                vec![("TENANCY_AWS_REGION", "eu-west-1")],
                "TENANCY_AWS_REGION",
            ),
            (
                vec![
                    ("TENANCY_KEYRING", "k.json"),
                    ("TENANCY_KEYRING_JSON", "{}"),
                ],
                "TENANCY_KEYRING_JSON",
            ),
        ] {
            let message = error(from_env(&pairs));
            assert!(
                message.starts_with(&format!("invalid {name}")),
                "{pairs:?}: {message}"
            );
        }
    }

    #[test]
    fn keyring_text_is_never_shown() {
        let config = from_env(&[("TENANCY_KEYRING_JSON", "{\"keys\":\"s3cret\"}")]).unwrap();
        assert!(matches!(config.kms, KmsSettings::KeyringText(_)));
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn generated_admin_tokens_are_long_url_safe_and_distinct() {
        let a = AdminToken::generate().unwrap();
        let b = AdminToken::generate().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
