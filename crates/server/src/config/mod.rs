//! The server's configuration: built-in defaults, then an optional TOML file, then
//! the environment, each layer overriding the one before (figment). Every value is
//! validated here, once, so the rest of the binary only ever sees valid settings,
//! and every refusal names the setting the operator has to fix: the environment
//! variable, or the key and file it came from.
//!
//! The merged layers deserialize into [`Fields`], whose fields are validated
//! types (`fields`, `log`, `secrets`, `database`, `limits`); what depends on
//! several settings at once (the database's and the KMS's) is decided after,
//! in `database` and `kms`. The variables read are listed in `environment`,
//! the defaults in `defaults`, and the wording of refusals is in `error`.

mod database;
mod defaults;
mod environment;
mod error;
mod fields;
mod kms;
mod limits;
mod log;
mod registration;
mod secrets;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::Path;

use domain::{KeyPrefix, Regions};
use figment::Figment;
use figment::providers::{Data, Format, Serialized, Toml};
use serde::Deserialize;

pub use self::database::{DatabaseSettings, DatabaseUrl};
pub use self::environment::Environment;
pub use self::error::ConfigError;
pub use self::kms::KmsSettings;
pub use self::limits::{HttpLimits, QueryLimits};
pub use self::log::{LogFormat, LogSettings};
pub use self::registration::MailSettings;
pub use self::secrets::AdminToken;

use self::database::{PoolSize, StatementMillis, UrlSetting};
use self::environment::{ENVIRONMENT, EnvLayer};
use self::fields::{
    BaseDomain, CacheKeys, ChallengeLabel, CheckMillis, DnsMillis, Flag, Listen, Members,
    Nameservers, Prefix, Proxies, RegionList, Resources, RetentionDays, Whole,
};
use self::limits::{Connections, HttpMillis, Queries, Requests, TtlMillis};
use self::log::LogFilter;
use self::registration::{MailFrom, PublicUrl, Rate, SmtpUrl};

/// Everything `tenancy serve` needs, validated.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: generate one at start and print it once.
    pub admin_token: Option<AdminToken>,
    pub regions: Regions,
    pub base_domain: Option<domain::custom_domain::DomainName>,
    /// The proxies whose `X-Forwarded-For` and `X-Forwarded-Host` are
    /// believed; none by default.
    pub trusted_proxies: domain::TrustedProxies,
    pub retention: chrono::Duration,
    /// The first part of every API key minted and accepted (`tny`).
    pub key_prefix: KeyPrefix,
    /// Most API keys the verification cache holds.
    pub verify_cache_keys: u64,
    /// Most resources one tenant may hold (forks included).
    pub max_resources_per_tenant: u64,
    /// Most people one tenant may have (its owner and members).
    pub max_members_per_tenant: u64,
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
    /// Whether webhook endpoints may be `http` and private, loopback or
    /// link-local addresses (development and tests only: SSRF).
    pub webhook_allow_private: bool,
    /// Self-service registration and the mailer.
    pub mail: MailSettings,
    /// How custom domains are verified.
    pub domains: DomainSettings,
}

/// How custom domains are verified: where their TXT records are looked up,
/// under which label, and how often the background job looks for due ones.
#[derive(Debug, Clone)]
pub struct DomainSettings {
    /// The nameservers to ask; empty: the system's (resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// How long one nameserver has to answer.
    pub timeout: std::time::Duration,
    pub challenge_prefix: domain::ChallengePrefix,
    /// How often the background job checks the domains that are due.
    pub check_interval: std::time::Duration,
}

/// The merged layers, each field already validated on its own by its type's
/// `TryFrom` (so a refusal names the key figment was reading). The order of
/// the fields is the order of the known keys that an unknown key's refusal
/// lists. The KMS settings stay strings: see `kms` for why.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    listen: Listen,
    #[serde(default)]
    admin_token: Option<AdminToken>,
    regions: RegionList,
    #[serde(default)]
    base_domain: Option<BaseDomain>,
    #[serde(default)]
    trusted_proxies: Option<Proxies>,
    retention_days: Whole<RetentionDays>,
    key_prefix: Prefix,
    verify_cache_keys: Whole<CacheKeys>,
    max_resources_per_tenant: Whole<Resources>,
    max_members_per_tenant: Whole<Members>,
    log_format: LogFormat,
    log: LogFilter,
    #[serde(default)]
    database_url: UrlSetting,
    #[serde(default)]
    database_owner_url: UrlSetting,
    #[serde(default)]
    migrate: Option<Flag>,
    db_pool_size: Whole<PoolSize>,
    db_statement_timeout_ms: Whole<StatementMillis>,
    db_pooler: Flag,
    #[serde(default)]
    listen_database_url: UrlSetting,
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
    header_read_timeout_ms: Whole<HttpMillis>,
    request_timeout_ms: Whole<HttpMillis>,
    max_connections: Whole<Connections>,
    max_in_flight: Whole<Requests>,
    inventory_timeout_ms: Whole<StatementMillis>,
    inventory_queries_per_caller: Whole<Queries>,
    db_lookup_timeout_ms: Whole<StatementMillis>,
    verify_unknown_keys: Whole<CacheKeys>,
    verify_unknown_ttl_ms: Whole<TtlMillis>,
    webhook_allow_private: Flag,
    #[serde(default)]
    public_url: Option<PublicUrl>,
    #[serde(default)]
    mail_from: Option<MailFrom>,
    #[serde(default)]
    smtp_url: Option<SmtpUrl>,
    registration_rate: Rate,
    #[serde(default)]
    dns_nameservers: Option<Nameservers>,
    dns_timeout_ms: Whole<DnsMillis>,
    domain_challenge_prefix: ChallengeLabel,
    domain_check_interval_ms: Whole<CheckMillis>,
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
        let fields: Fields = figment.extract().map_err(error::from_figment_error)?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            setting: error::describe(figment, key),
            message,
        };
        // The database before the KMS: whether a durable KMS is needed
        // depends on whether there is a database.
        let (database, owner_url, migrate) = database::database_settings(&fields, &invalid)?;
        let kms = kms::kms_settings(&fields, database.is_some(), &invalid)?;
        let http_limits = HttpLimits::from_fields(&fields);
        let query_limits = QueryLimits::from_fields(&fields);
        Ok(Self {
            listen: fields.listen.0,
            admin_token: fields.admin_token,
            regions: fields.regions.0,
            base_domain: fields.base_domain.map(|domain| domain.0),
            trusted_proxies: fields.trusted_proxies.map(|p| p.0).unwrap_or_default(),
            retention: chrono::Duration::days(fields.retention_days.get()),
            key_prefix: fields.key_prefix.0,
            verify_cache_keys: fields.verify_cache_keys.get(),
            max_resources_per_tenant: fields.max_resources_per_tenant.get(),
            max_members_per_tenant: fields.max_members_per_tenant.get(),
            log: LogSettings {
                format: fields.log_format,
                filter: fields.log.0,
            },
            database,
            owner_url,
            migrate,
            kms,
            http_limits,
            query_limits,
            webhook_allow_private: fields.webhook_allow_private.0,
            mail: MailSettings::new(
                fields.public_url,
                fields.mail_from,
                fields.smtp_url,
                fields.registration_rate,
            ),
            domains: DomainSettings {
                nameservers: fields.dns_nameservers.map(|n| n.0).unwrap_or_default(),
                timeout: fields.dns_timeout_ms.millis(),
                challenge_prefix: fields.domain_challenge_prefix.0,
                check_interval: fields.domain_check_interval_ms.millis(),
            },
        })
    }
}

fn layers(file: Option<Data<Toml>>, env: &Environment) -> Figment {
    let mut figment = Figment::from(Serialized::defaults(defaults::DEFAULTS));
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
