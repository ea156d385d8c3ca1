//! The general settings: defaults, regions, retention, log, the admin token, and how
//! values are read from the environment.

use super::*;

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
    assert_eq!(
        config.base_domain.as_ref().map(|d| d.as_str()),
        Some("tenancy.example.com")
    );
    assert_eq!(config.listen, "[::1]:0".parse().unwrap());
}

#[test]
fn empty_variables_count_as_unset() {
    let config = from_env(&[("TENANCY_ADMIN_TOKEN", ""), ("DATABASE_URL", "")]).unwrap();
    assert_eq!(config.admin_token, None);
    assert!(config.database.is_none());
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

#[test]
fn private_webhook_addresses_are_refused_unless_the_deployment_allows_them() {
    assert!(!from_env(&[]).unwrap().webhook_allow_private);
    let allowed = from_env(&[("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true")]).unwrap();
    assert!(allowed.webhook_allow_private);
    assert!(from_env(&[("TENANCY_WEBHOOK_ALLOW_PRIVATE", "yes")]).is_err());
}

#[test]
fn custom_domains_default_to_the_systems_nameservers_and_the_documented_prefix() {
    let config = from_env(&[]).unwrap();
    assert_eq!(config.domains.nameservers, vec![]);
    assert_eq!(config.domains.timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        config.domains.challenge_prefix.as_str(),
        "_tenancy-challenge"
    );
    assert_eq!(
        config.domains.check_interval,
        std::time::Duration::from_secs(30)
    );
}

#[test]
fn custom_domain_settings_are_read_and_their_bad_values_refused_by_name() {
    let config = from_env(&[
        (
            "TENANCY_DNS_NAMESERVERS",
            " 10.0.0.2:5353, 192.0.2.53 ,[2001:db8::53]:53",
        ),
        ("TENANCY_DNS_TIMEOUT_MS", "1500"),
        ("TENANCY_DOMAIN_CHALLENGE_PREFIX", "_Acme-Proof"),
        ("TENANCY_DOMAIN_CHECK_INTERVAL_MS", "250"),
    ])
    .unwrap();
    assert_eq!(
        config.domains.nameservers,
        [
            "10.0.0.2:5353".parse().unwrap(),
            "192.0.2.53:53".parse().unwrap(),
            "[2001:db8::53]:53".parse().unwrap(),
        ]
    );
    assert_eq!(
        config.domains.timeout,
        std::time::Duration::from_millis(1500)
    );
    assert_eq!(config.domains.challenge_prefix.as_str(), "_acme-proof");
    assert_eq!(
        config.domains.check_interval,
        std::time::Duration::from_millis(250)
    );
    for (name, value) in [
        ("TENANCY_DNS_NAMESERVERS", "ns1.example.com:53"),
        ("TENANCY_DNS_NAMESERVERS", "10.0.0.2:99999"),
        ("TENANCY_DNS_TIMEOUT_MS", "0"),
        ("TENANCY_DNS_TIMEOUT_MS", "soon"),
        ("TENANCY_DOMAIN_CHALLENGE_PREFIX", "_a.b"),
        ("TENANCY_DOMAIN_CHALLENGE_PREFIX", "-dash"),
        ("TENANCY_DOMAIN_CHECK_INTERVAL_MS", "5"),
    ] {
        let message = error(from_env(&[(name, value)]));
        assert!(
            message.starts_with(&format!("invalid {name}: ")),
            "{name}={value}: {message}"
        );
    }
}
