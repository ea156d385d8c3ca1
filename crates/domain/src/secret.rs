//! Tenant secrets (docs/security.md): integration credentials such as SMTP passwords, SSO
//! client secrets and webhook signing secrets, stored only sealed with the
//! tenant's data key.
//!
//! [`SecretName`] and [`SecretValue`] are the validated inputs; [`StoredSecret`]
//! is what a store holds (the sealed bytes and metadata, never the value);
//! [`secret_aad`] is the associated data a value is sealed with, so a sealed
//! value copied to another tenant, another name or another version of the
//! secret no longer opens.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::audit::Actor;
use crate::ids::{OrgId, TenantId};
use crate::values::InvalidValue;

/// A secret's name within its tenant: 1–128 characters of ASCII letters,
/// digits, `_`, `-` and `.`, starting with a letter or digit (`smtp-password`,
/// `SSO_CLIENT_SECRET`, `webhook.signing`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be 1 to {} characters long",
                Self::MAX_LEN
            )));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(InvalidValue::new("must start with a letter or a digit"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(InvalidValue::new(
                "may contain only ASCII letters, digits, '_', '-' and '.'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret's value in clear: 1 byte to 64 KiB of text. Zeroized when
/// dropped, and printed as `SecretValue(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// The longest value accepted, in bytes.
    pub const MAX_BYTES: usize = 64 * 1024;

    /// Takes the caller's string (it is moved, not copied, so no stray copy
    /// of the value is left behind).
    pub fn new(value: String) -> Result<Self, InvalidValue> {
        let value = Zeroizing::new(value);
        if value.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if value.len() > Self::MAX_BYTES {
            return Err(InvalidValue::new(format!(
                "must be at most {} bytes long",
                Self::MAX_BYTES
            )));
        }
        Ok(Self(value))
    }

    /// The value from bytes an `open` returned.
    pub(crate) fn from_opened(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        Self::new(text.to_owned()).ok()
    }

    /// The value in clear. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What callers see without a reveal: `****`, whatever the value. Not
    /// even its last characters: they narrow a guess, and the value's
    /// `version` and `updated_at` already tell a caller that it changed.
    pub fn masked(&self) -> String {
        Self::MASK.to_owned()
    }

    /// The mask every value shows without a reveal.
    pub const MASK: &'static str = "****";
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// A secret as stored: its value sealed (AES-256-GCM) with the tenant's data
/// key and [`secret_aad`]; the value itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    pub id: Uuid,
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub name: SecretName,
    /// `Sealed::to_bytes`: nonce, ciphertext and tag.
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Actor,
    /// 1 when created, one more for every replacement.
    pub version: u64,
}

/// The associated data a secret's value is sealed with: the format label
/// `tenancy-secret-v2`, the tenant id, the name and the secret's version, each
/// length-prefixed. The version is bound in so that an older sealed value
/// copied over a newer row (a rollback by someone who can write the table, or
/// a restored backup) no longer opens.
pub fn secret_aad(tenant: TenantId, name: &SecretName, version: u64) -> Vec<u8> {
    length_prefixed(&[
        b"tenancy-secret-v2".as_slice(),
        tenant.as_uuid().as_bytes().as_slice(),
        name.as_str().as_bytes(),
        &version.to_be_bytes(),
    ])
}

/// The associated data of values sealed before the version was bound in
/// (format label `tenancy-secret-v1`: tenant id and name only). Only opening
/// uses it, so rows written before the change keep opening; every write seals
/// with [`secret_aad`]. Its label differs, so a value sealed with one form
/// never opens with the other.
pub fn legacy_secret_aad(tenant: TenantId, name: &SecretName) -> Vec<u8> {
    length_prefixed(&[
        b"tenancy-secret-v1".as_slice(),
        tenant.as_uuid().as_bytes().as_slice(),
        name.as_str().as_bytes(),
    ])
}

fn length_prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(parts.iter().map(|p| 4 + p.len()).sum());
    for part in parts {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_short_plain_and_start_with_a_letter_or_digit() {
        for good in [
            "smtp-password",
            "SSO_CLIENT_SECRET",
            "webhook.signing",
            "a",
            "9",
        ] {
            assert!(SecretName::parse(good).is_ok(), "{good}");
        }
        let long = "x".repeat(129);
        for bad in ["", "-lead", ".hidden", "with space", "slash/y", "é", &long] {
            assert!(SecretName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SecretName::parse(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn secret_values_are_bounded_masked_and_never_printed() {
        assert!(SecretValue::new(String::new()).is_err());
        assert!(SecretValue::new("x".repeat(64 * 1024 + 1)).is_err());
        assert!(SecretValue::new("x".repeat(64 * 1024)).is_ok());
        let long = SecretValue::new("sk_live_abcdefgh1234".into()).unwrap();
        assert_eq!(long.masked(), "****", "no character of the value shows");
        let short = SecretValue::new("hunter2hunt".into()).unwrap();
        assert_eq!(short.masked(), "****");
        assert_eq!(format!("{long:?}"), "SecretValue(<redacted>)");
    }

    #[test]
    fn the_associated_data_differs_by_tenant_name_version_and_format() {
        let t1 = TenantId::from_uuid(Uuid::from_u128(1));
        let t2 = TenantId::from_uuid(Uuid::from_u128(2));
        let a = SecretName::parse("a").unwrap();
        let b = SecretName::parse("b").unwrap();
        assert_ne!(secret_aad(t1, &a, 1), secret_aad(t2, &a, 1));
        assert_ne!(secret_aad(t1, &a, 1), secret_aad(t1, &b, 1));
        assert_ne!(secret_aad(t1, &a, 1), secret_aad(t1, &a, 2));
        assert_ne!(legacy_secret_aad(t1, &a), legacy_secret_aad(t2, &a));
        assert_ne!(legacy_secret_aad(t1, &a), legacy_secret_aad(t1, &b));
        for version in [0, 1, 2] {
            assert_ne!(legacy_secret_aad(t1, &a), secret_aad(t1, &a, version));
        }
    }
}
