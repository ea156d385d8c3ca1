//! The environment table (which variables Tenancy reads and the key each one
//! sets), the variables captured once from the process, and the figment layer
//! that hands them over verbatim.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::ConfigError;

/// The environment variables Tenancy reads, highest precedence last, and the
/// configuration key (as in the TOML file) each one sets. `RUST_LOG` is the
/// fallback for `TENANCY_LOG`, so it comes before it.
pub(super) const ENVIRONMENT: &[(&str, &str)] = &[
    ("RUST_LOG", "log"),
    ("TENANCY_LISTEN", "listen"),
    ("TENANCY_ADMIN_TOKEN", "admin_token"),
    ("TENANCY_REGIONS", "regions"),
    ("TENANCY_BASE_DOMAIN", "base_domain"),
    ("TENANCY_TRUSTED_PROXIES", "trusted_proxies"),
    ("TENANCY_RETENTION_DAYS", "retention_days"),
    ("TENANCY_KEY_PREFIX", "key_prefix"),
    ("TENANCY_VERIFY_CACHE_KEYS", "verify_cache_keys"),
    (
        "TENANCY_MAX_RESOURCES_PER_TENANT",
        "max_resources_per_tenant",
    ),
    ("TENANCY_MAX_MEMBERS_PER_TENANT", "max_members_per_tenant"),
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
    // Webhooks.
    ("TENANCY_WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private"),
    ("TENANCY_PUBLIC_URL", "public_url"),
    ("TENANCY_MAIL_FROM", "mail_from"),
    ("TENANCY_SMTP_URL", "smtp_url"),
    ("TENANCY_REGISTRATION_RATE", "registration_rate"),
    // Custom domains.
    ("TENANCY_DNS_NAMESERVERS", "dns_nameservers"),
    ("TENANCY_DNS_TIMEOUT_MS", "dns_timeout_ms"),
    ("TENANCY_DOMAIN_CHALLENGE_PREFIX", "domain_challenge_prefix"),
    (
        "TENANCY_DOMAIN_CHECK_INTERVAL_MS",
        "domain_check_interval_ms",
    ),
];

/// The environment variable that sets `key`, or `key` itself if none does.
pub(super) fn variable_for(key: &str) -> &str {
    ENVIRONMENT
        .iter()
        .find(|(_, k)| *k == key)
        .map_or(key, |(name, _)| name)
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
    pub(super) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
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
pub(super) struct EnvLayer {
    values: Dict,
    names: &'static [(&'static str, &'static str)],
}

impl EnvLayer {
    pub(super) fn new(env: &Environment, names: &'static [(&'static str, &'static str)]) -> Self {
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
