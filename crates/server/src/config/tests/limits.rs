//! The HTTP server's limits and the store's query limits.

use super::*;

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
