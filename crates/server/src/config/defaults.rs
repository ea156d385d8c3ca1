//! The built-in defaults: the lowest figment layer, below the file and the
//! environment. They are spelled as the environment spells them (strings and
//! numbers) and go through the same validation as any other value.

use serde::Serialize;

#[derive(Serialize)]
pub(super) struct Defaults {
    listen: &'static str,
    regions: &'static str,
    retention_days: u32,
    key_prefix: &'static str,
    verify_cache_keys: u64,
    max_resources_per_tenant: u64,
    max_members_per_tenant: u64,
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
    webhook_allow_private: bool,
    dns_timeout_ms: u32,
    domain_challenge_prefix: &'static str,
    domain_check_interval_ms: u32,
}

pub(super) const DEFAULTS: Defaults = Defaults {
    listen: "127.0.0.1:8080",
    regions: "global=Global",
    retention_days: 30,
    key_prefix: "tny",
    verify_cache_keys: 100_000,
    max_resources_per_tenant: 1_000,
    max_members_per_tenant: 100,
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
    webhook_allow_private: false,
    dns_timeout_ms: 5_000,
    domain_challenge_prefix: domain::ChallengePrefix::DEFAULT,
    domain_check_interval_ms: 30_000,
};
