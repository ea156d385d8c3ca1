//! Which KMS wraps the data keys (`TENANCY_KMS` and its companions).
//!
//! These settings stay plain strings in [`Fields`] and are judged here, by
//! hand, because whether one is valid depends on the others: an AWS region is
//! refused outright when the KMS is the local keyring (before its spelling is
//! looked at), and a keyring is required only with a database. A `TryFrom` on
//! one field cannot see the others, and an internally tagged enum would word
//! these refusals as serde does, not as the operator needs them.

use std::path::PathBuf;

use super::environment::variable_for;
use super::secrets::KeyringText;
use super::{ConfigError, Fields};

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

/// The KMS settings. Settings that the chosen KMS would not use are refused
/// rather than ignored, and a database needs a durable KMS: data keys wrapped
/// by an ephemeral keyring would be lost with the process, and the data with
/// them.
pub(super) fn kms_settings(
    fields: &Fields,
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
    let keyring = set(&fields.keyring);
    let keyring_json = set(&fields.keyring_json);
    let key_id = set(&fields.aws_kms_key_id);
    let region = set(&fields.aws_region);
    let endpoint = set(&fields.aws_kms_endpoint);
    // A setting that is missing has no source to name: name both spellings.
    let missing = |key: &str, message: String| ConfigError::Invalid {
        setting: format!("{} (`{key}`)", variable_for(key)),
        message,
    };
    match fields.kms.trim() {
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
