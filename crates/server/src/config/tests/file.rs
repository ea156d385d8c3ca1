//! The TOML file: what it sets, how the environment overrides it, and how its
//! refusals name the key.

use super::*;

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
    assert_eq!(
        config.base_domain.as_ref().map(|d| d.as_str()),
        Some("tenancy.example.com")
    );
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
        message.starts_with("invalid `retention`: unknown key `retention` (known keys: listen,"),
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
