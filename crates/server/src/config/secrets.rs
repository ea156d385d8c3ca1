//! The settings that are secrets: the platform admin's token and the text of a
//! keyring file. Their `Debug` is redacted and their refusals never repeat
//! them, so neither can reach a log line by accident.

use std::fmt;

use base64::Engine as _;
use rand::TryRngCore as _;
use serde::Deserialize;

/// Shortest admin token accepted: a guessable token is the whole platform.
pub const MIN_ADMIN_TOKEN_LEN: usize = 32;

/// The platform admin's bearer token. Its `Debug` is redacted so it cannot reach
/// a log line by accident.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AdminToken(String);

impl AdminToken {
    /// 32 bytes from the operating system's RNG, URL-safe base64 without padding
    /// (43 characters): fine to paste into a shell or an HTTP header.
    pub fn generate() -> Result<Self, rand::rand_core::OsError> {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    fn parse(raw: &str) -> Result<Self, String> {
        // The message never repeats the value: it is a secret.
        if raw.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "must be printable ASCII without spaces, as it travels in an HTTP header"
                    .to_owned(),
            );
        }
        if raw.len() < MIN_ADMIN_TOKEN_LEN {
            return Err(format!(
                "must be at least {MIN_ADMIN_TOKEN_LEN} characters long (got {}): it is the \
                 whole platform's credential; generate one with `openssl rand -base64 32`, or \
                 leave it unset to have one generated",
                raw.len()
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AdminToken {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// The text of a keyring file: master keys, so its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyringText(pub(super) String);

impl KeyringText {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyringText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyringText(<redacted>)")
    }
}
