//! Human keys: the URL-safe slugs that name orgs, tenants and namespaces.
//!
//! docs/api.md §1: 3–63 characters of `[a-z0-9-]`, starting and ending with a letter or
//! digit, unique within the parent. A tenant key is also its subdomain, so it is
//! unique platform-wide and may not be one of [`RESERVED_TENANT_KEYS`].

use std::fmt;

/// Shortest key allowed.
pub const MIN_KEY_LEN: usize = 3;
/// Longest key allowed (a DNS label).
pub const MAX_KEY_LEN: usize = 63;

/// Names a tenant may not take because they are (or will be) hostnames of the
/// platform itself: `{tenant}.{base_domain}` must never shadow them.
pub const RESERVED_TENANT_KEYS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "apps",
    "mail",
    "email",
    "smtp",
    "imap",
    "pop",
    "pop3",
    "ftp",
    "sftp",
    "ns1",
    "ns2",
    "dns",
    "mx",
    "static",
    "assets",
    "cdn",
    "docs",
    "status",
    "help",
    "support",
    "blog",
    "auth",
    "login",
    "logout",
    "signup",
    "sso",
    "oauth",
    "accounts",
    "billing",
    "dashboard",
    "console",
    "portal",
    "root",
    "system",
    "internal",
    "public",
    "tenancy",
    "localhost",
    "webhooks",
    "metrics",
    "health",
    "autodiscover",
];

/// Why a string is not a valid key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("must be at least {MIN_KEY_LEN} characters long (got {0})")]
    TooShort(usize),
    #[error("must be at most {MAX_KEY_LEN} characters long (got {0})")]
    TooLong(usize),
    #[error("may contain only lowercase letters, digits and '-' (found {0:?})")]
    InvalidChar(char),
    #[error("must start and end with a lowercase letter or digit")]
    BadEdge,
    #[error("{0:?} is reserved")]
    Reserved(String),
    /// A key that reads as a UUID could never be told apart from an id in a path.
    #[error("must not have the shape of a UUID (it would read as an id)")]
    LooksLikeId,
}

fn validate(raw: &str) -> Result<(), KeyError> {
    let len = raw.chars().count();
    if len < MIN_KEY_LEN {
        return Err(KeyError::TooShort(len));
    }
    if len > MAX_KEY_LEN {
        return Err(KeyError::TooLong(len));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(KeyError::InvalidChar(c));
    }
    if raw.starts_with('-') || raw.ends_with('-') {
        return Err(KeyError::BadEdge);
    }
    if uuid::Uuid::try_parse(raw).is_ok() {
        return Err(KeyError::LooksLikeId);
    }
    Ok(())
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The key as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

key_type!(
    /// The key of an org: unique on the platform.
    OrgKey
);
key_type!(
    /// The key of a tenant: unique on the platform, also its subdomain slug.
    TenantKey
);
key_type!(
    /// The key of a namespace: unique within its tenant.
    NamespaceKey
);

impl OrgKey {
    /// Validates an org key.
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        validate(raw).map(|()| Self(raw.to_owned()))
    }
}

impl NamespaceKey {
    /// Validates a namespace key.
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        validate(raw).map(|()| Self(raw.to_owned()))
    }
}

impl TenantKey {
    /// Validates a tenant key, refusing the reserved hostnames.
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        validate(raw)?;
        if RESERVED_TENANT_KEYS.contains(&raw) {
            return Err(KeyError::Reserved(raw.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key of the namespace provisioned when a request names none:
    /// `{tenant}-live`, with the tenant part shortened so the result stays a valid key.
    pub fn default_namespace_key(&self) -> NamespaceKey {
        const SUFFIX: &str = "-live";
        let room = MAX_KEY_LEN - SUFFIX.len();
        let stem = self.0[..self.0.len().min(room)].trim_end_matches('-');
        NamespaceKey(format!("{stem}{SUFFIX}"))
    }
}

/// The key of a resource or library listing: like other keys, but `_` is allowed
/// too (seed 000's `standard_nda`), and no names are reserved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey(String);

impl ResourceKey {
    pub fn parse(raw: &str) -> Result<Self, KeyError> {
        validate(&raw.replace('_', "-")).map(|()| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_spec_pattern() {
        for ok in ["abc", "acme-prod", "a1b", &"a".repeat(63), "0-0"] {
            assert!(OrgKey::parse(ok).is_ok(), "{ok} should be valid");
        }
        let cases: &[(&str, KeyError)] = &[
            ("ab", KeyError::TooShort(2)),
            ("", KeyError::TooShort(0)),
            (&"a".repeat(64), KeyError::TooLong(64)),
            ("Acme", KeyError::InvalidChar('A')),
            ("ac_me", KeyError::InvalidChar('_')),
            ("acmé", KeyError::InvalidChar('é')),
            ("-acme", KeyError::BadEdge),
            ("acme-", KeyError::BadEdge),
        ];
        for (raw, err) in cases {
            assert_eq!(NamespaceKey::parse(raw).as_ref(), Err(err), "{raw:?}");
        }
    }

    #[test]
    fn reserved_names_are_refused_for_tenants_only() {
        assert_eq!(
            TenantKey::parse("admin"),
            Err(KeyError::Reserved("admin".into()))
        );
        assert!(OrgKey::parse("admin").is_ok());
    }

    #[test]
    fn default_namespace_key_is_always_valid() {
        let short = TenantKey::parse("acme").unwrap();
        assert_eq!(short.default_namespace_key().as_str(), "acme-live");
        let long = TenantKey::parse(&format!("{}-{}", "a".repeat(57), "b".repeat(5))).unwrap();
        let ns = long.default_namespace_key();
        assert!(NamespaceKey::parse(ns.as_str()).is_ok(), "{ns}");
    }
}
