//! The HTTP server's limits and the store's query limits: what keeps one
//! client or caller from holding the server's connections and capacity.

use super::Fields;
use super::database::MAX_STATEMENT_TIMEOUT_MS;
use super::fields::bounds;

/// Longest header-read or request timeout accepted: one hour, in milliseconds.
const MAX_HTTP_TIMEOUT_MS: i128 = 3_600_000;

/// Most connections, or requests in flight, accepted.
const MAX_HTTP_CONCURRENCY: i128 = 1_000_000;

/// Most inventory queries one caller may be allowed at once.
const MAX_QUERIES_PER_CALLER: i128 = 1_000;

// Zero is refused for each HTTP limit: a zero timeout or limit would refuse
// every request.
bounds! {
    /// `header_read_timeout_ms` and `request_timeout_ms`.
    HttpMillis: "milliseconds", 1..=MAX_HTTP_TIMEOUT_MS;
    /// `max_connections`.
    Connections: "connections", 1..=MAX_HTTP_CONCURRENCY;
    /// `max_in_flight`.
    Requests: "requests", 1..=MAX_HTTP_CONCURRENCY;
    /// `inventory_queries_per_caller`.
    Queries: "queries", 1..=MAX_QUERIES_PER_CALLER;
    /// `verify_unknown_ttl_ms`: 0 remembers no unknown key.
    TtlMillis: "milliseconds", 0..=MAX_STATEMENT_TIMEOUT_MS;
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

impl HttpLimits {
    pub(super) fn from_fields(fields: &Fields) -> Self {
        Self {
            connections: adapters_http::ConnectionLimits {
                header_read_timeout: fields.header_read_timeout_ms.millis(),
                max_connections: fields.max_connections.get(),
            },
            requests: adapters_http::RequestLimits {
                timeout: fields.request_timeout_ms.millis(),
                max_in_flight: fields.max_in_flight.get(),
            },
        }
    }
}

impl QueryLimits {
    pub(super) fn from_fields(fields: &Fields) -> Self {
        Self {
            inventory_timeout: fields.inventory_timeout_ms.millis(),
            inventory_queries_per_caller: fields.inventory_queries_per_caller.get(),
            lookup_timeout: fields.db_lookup_timeout_ms.millis(),
            unknown_keys: fields.verify_unknown_keys.get(),
            unknown_key_ttl: fields.verify_unknown_ttl_ms.millis(),
        }
    }
}
