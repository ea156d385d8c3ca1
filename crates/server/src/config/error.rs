//! Why the server refuses a configuration, and how a refusal names the setting
//! to fix: the environment variable that set it, or its key and the file it
//! came from.

use std::path::PathBuf;

use figment::{Figment, Metadata, Profile, Source};

/// Why the server refuses to start. Each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the configuration file {} does not exist (given by --config or TENANCY_CONFIG)",
        .0.display()
    )]
    FileMissing(PathBuf),
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
    /// The file or the environment did not have the expected shape (a typo in a
    /// key, a number where a string belongs, broken TOML); one line per problem.
    #[error("{0}")]
    Unreadable(String),
    #[error("invalid {setting}: {message}")]
    Invalid { setting: String, message: String },
}

/// How to point the operator at a setting: the environment variable that set
/// it, or its key and the file it was read from.
pub(super) fn describe(figment: &Figment, key: &str) -> String {
    describe_key(figment.find_metadata(key), key)
}

fn describe_key(metadata: Option<&Metadata>, key: &str) -> String {
    match metadata {
        Some(Metadata {
            source: Some(Source::File(path)),
            ..
        }) => format!("`{key}` in {}", path.display()),
        Some(metadata) if metadata.name == "environment" => {
            metadata.interpolate(&Profile::Default, &[key])
        }
        _ => format!("`{key}`"),
    }
}

/// Figment's errors, reworded to name settings the way the rest of this module
/// does (its own wording names keys as `default.listen` and paths relative to
/// the working directory). A validated type that refused a value (its
/// `TryFrom` said why) is [`ConfigError::Invalid`], as is every refusal of a
/// value; anything else is [`ConfigError::Unreadable`].
pub(super) fn from_figment_error(error: figment::Error) -> ConfigError {
    if error.count() == 1 && !error.path.is_empty() {
        if let figment::error::Kind::Message(message) = &error.kind {
            return ConfigError::Invalid {
                setting: describe_key(error.metadata.as_ref(), &error.path.join(".")),
                message: message.clone(),
            };
        }
    }
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            if e.path.is_empty() {
                // Not about one key: the file itself (unreadable, broken TOML).
                return e.to_string();
            }
            let setting = describe_key(e.metadata.as_ref(), &e.path.join("."));
            format!("invalid {setting}: {}", explain(&e.kind))
        })
        .collect();
    ConfigError::Unreadable(lines.join("\n"))
}

pub(super) fn explain(kind: &figment::error::Kind) -> String {
    match kind {
        figment::error::Kind::UnknownField(found, known) => {
            format!("unknown key `{found}` (known keys: {})", known.join(", "))
        }
        other => other.to_string(),
    }
}
