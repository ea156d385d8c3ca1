//! Standard Webhooks signatures: `whsec_` secrets and the `webhook-signature`
//! header.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{payload}`; each
//! signature is `v1,` followed by the standard base64 of its HMAC-SHA256 under
//! the secret's bytes, and the header holds one such entry per secret,
//! separated by spaces, so a receiver holding any one of them verifies (a
//! rotation's grace period sends the old and the new).
//!
//! Built on RustCrypto's `hmac` and `sha2` with `base64`, which the workspace
//! already uses, rather than the `standardwebhooks` crate: that crate is one
//! small file over `hmac-sha256` that would add a second `base64` (0.21) and
//! `time` to the build, keeps the key in a plain `Vec` that is never zeroized,
//! and refuses a payload that is not UTF-8. Signing is a few lines; what
//! matters is that another implementation accepts it, which the tests check
//! with the PyPI `standardwebhooks` package and the specification's test
//! vector below.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// What a secret's text starts with.
const PREFIX: &str = "whsec_";
/// The specification's bounds on a secret's length, in bytes.
const MIN_LEN: usize = 24;
const MAX_LEN: usize = 64;

/// A webhook signing secret: its bytes, zeroized when dropped, never shown by
/// `Debug`.
#[derive(Clone)]
pub struct SigningSecret(Zeroizing<Vec<u8>>);

/// Why a text is not a signing secret. It never holds the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret starts with `whsec_`")]
    Prefix,
    #[error("a webhook secret is `whsec_` followed by standard base64")]
    Base64,
    #[error("a webhook secret holds {MIN_LEN} to {MAX_LEN} bytes, not {0}")]
    Length(usize),
}

impl SigningSecret {
    /// Parses `whsec_<base64 of 24 to 64 bytes>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?);
        Self::check_len(bytes)
    }

    /// A secret of these bytes (24 to 64 of them, as the specification asks).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        Self::check_len(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret's text, `whsec_<base64>`, to show once to whoever created it.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(self.0.as_slice())))
    }

    fn check_len(bytes: Zeroizing<Vec<u8>>) -> Result<Self, SecretError> {
        if (MIN_LEN..=MAX_LEN).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(SecretError::Length(bytes.len()))
        }
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{payload}">`.
    fn sign(&self, message_id: &str, timestamp: i64, payload: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// The `webhook-signature` header's value: one `v1,…` entry per secret, in
/// the order given, separated by single spaces. `None` when there is no secret.
pub(crate) fn signature_header(
    secrets: &[SigningSecret],
    message_id: &str,
    timestamp: i64,
    payload: &[u8],
) -> Option<String> {
    if secrets.is_empty() {
        return None;
    }
    let entries: Vec<String> = secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, payload))
        .collect();
    Some(entries.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's example (also the reference libraries' test).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specification_example_signs_to_its_published_signature() {
        let secret = SigningSecret::parse(SPEC_SECRET).expect("the example secret");
        assert_eq!(
            signature_header(&[secret], SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD).as_deref(),
            Some(SPEC_SIGNATURE)
        );
    }

    #[test]
    fn two_secrets_give_two_space_separated_entries_in_order() {
        let old = SigningSecret::parse(SPEC_SECRET).expect("the example secret");
        let new = SigningSecret::from_bytes(&[7; 32]).expect("32 bytes");
        let header = signature_header(&[old, new.clone()], SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD)
            .expect("signed");
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], SPEC_SIGNATURE);
        assert_eq!(entries[1], new.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD));
        assert_ne!(entries[0], entries[1]);
    }

    #[test]
    fn no_secret_gives_no_header() {
        assert_eq!(
            signature_header(&[], SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD),
            None
        );
    }

    #[test]
    fn a_secret_reads_back_from_its_text() {
        let secret = SigningSecret::from_bytes(&[42; 24]).expect("24 bytes");
        let again = SigningSecret::parse(&secret.to_text()).expect("its own text");
        assert_eq!(again.0.as_slice(), &[42; 24]);
    }

    #[test]
    fn malformed_secrets_are_refused_without_echoing_them() {
        assert_eq!(
            SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::Prefix
        );
        assert_eq!(
            SigningSecret::parse("whsec_not base64!").unwrap_err(),
            SecretError::Base64
        );
        assert_eq!(
            SigningSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
            SecretError::Length(5)
        );
        assert_eq!(
            SigningSecret::from_bytes(&[1; 65]).unwrap_err(),
            SecretError::Length(65)
        );
        let message = SigningSecret::parse("whsec_c2hvcnQ=")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("c2hvcnQ"), "{message}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SigningSecret::parse(SPEC_SECRET).expect("the example secret");
        let shown = format!("{secret:?}");
        assert_eq!(shown, "SigningSecret(<redacted>)");
    }
}
