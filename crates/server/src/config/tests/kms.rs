//! The KMS settings: the keyring, its text, AWS KMS, and what each refuses.

use super::*;

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
