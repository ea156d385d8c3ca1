//! The PostgreSQL store's settings (`DATABASE_URL` and its companions): the
//! URLs, which never show a password, the pool, and whether `serve` migrates.

use std::fmt;

use serde::Deserialize;

use super::fields::{Flag, bounds};
use super::{ConfigError, Fields};

/// Largest connection pool accepted.
const MAX_POOL_SIZE: i128 = 1_000;

/// Longest statement timeout accepted: one hour, in milliseconds.
pub(super) const MAX_STATEMENT_TIMEOUT_MS: i128 = 3_600_000;

bounds! {
    /// `db_pool_size`.
    PoolSize: "connections", 1..=MAX_POOL_SIZE;
    /// `db_statement_timeout_ms`, and the store's other per-statement
    /// timeouts (`QueryLimits`).
    StatementMillis: "milliseconds", 1..=MAX_STATEMENT_TIMEOUT_MS;
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

/// A database URL setting; a blank value counts as unset.
#[derive(Default, Deserialize)]
#[serde(try_from = "String")]
pub(super) struct UrlSetting(Option<DatabaseUrl>);

impl TryFrom<String> for UrlSetting {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Ok(Self(None));
        }
        DatabaseUrl::parse(&raw).map(|url| Self(Some(url)))
    }
}

/// The database settings: the store's, the owner URL, and whether to migrate.
/// Each value is valid on its own already; what is decided here depends on
/// several settings at once (migrating needs the owner's URL, a pooler needs a
/// direct URL for LISTEN).
pub(super) fn database_settings(
    fields: &Fields,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(Option<DatabaseSettings>, Option<DatabaseUrl>, bool), ConfigError> {
    let owner_url = fields.database_owner_url.0.clone();
    let listen_url = fields.listen_database_url.0.clone();
    let migrate = match fields.migrate {
        None => owner_url.is_some(),
        Some(Flag(migrate)) => {
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
    let Flag(pooler) = fields.db_pooler;
    let database = match fields.database_url.0.clone() {
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
                pool_size: fields.db_pool_size.get(),
                statement_timeout: fields.db_statement_timeout_ms.millis(),
                pooler,
            })
        }
    };
    Ok((database, owner_url, migrate))
}
