//! Webhook endpoints: where an org's events are pushed (SPEC §7), with the
//! signing secrets of the Standard Webhooks spec.
//!
//! A secret is `whsec_` and the standard base64 of 32 random bytes. It exists
//! in clear only in the answer that creates or rotates it, and for the moment
//! a delivery signs with it; stored, it is sealed with the org's data key
//! (AES-256-GCM, [`secret_aad`] binding it to its org and endpoint). After a
//! rotation the previous secret stays for a grace period, during which
//! deliveries are signed with both, so receivers can switch at their pace.

use crate::address::forbidden_range;
use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::events::EventFilter;
use crate::idempotency::put_part;
use crate::ids::OrgId;
use crate::library::Description;
use crate::ports::SecretSource;
use crate::values::InvalidValue;

/// Identifies a webhook endpoint for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WebhookId(Uuid);

impl WebhookId {
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where deliveries go: an absolute `https` URL (or `http`, where the
/// deployment allows private addresses: local receivers in development and
/// tests), without credentials or a fragment, at most 2048 characters. A host
/// written as an IP address must be public unless private addresses are
/// allowed; names are checked after resolution, at each delivery, by the
/// sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, InvalidValue> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long",
                Self::MAX_LEN
            )));
        }
        let url = url::Url::parse(raw).map_err(|_| InvalidValue::new("must be an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if allow_private => {}
            _ => return Err(InvalidValue::new("must be an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new("must not carry credentials"));
        }
        if url.fragment().is_some() {
            return Err(InvalidValue::new("must not have a fragment"));
        }
        let refused = match url.host() {
            None => return Err(InvalidValue::new("must name a host")),
            Some(url::Host::Ipv4(ip)) => forbidden_range(IpAddr::V4(ip)).is_some(),
            Some(url::Host::Ipv6(ip)) => forbidden_range(IpAddr::V6(ip)).is_some(),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                name == "localhost" || name.ends_with(".localhost")
            }
        };
        if refused && !allow_private {
            return Err(InvalidValue::new(
                "must not point at a private, loopback or link-local address",
            ));
        }
        Ok(Self(url.to_string()))
    }

    /// Reads a URL back from storage, where it was checked when written.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A signing secret in clear: `whsec_` and base64. Never in a `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Zeroizing<String>);

impl SigningSecret {
    pub const PREFIX: &'static str = "whsec_";
    const BYTES: usize = 32;

    /// A new secret from `entropy`.
    pub fn generate(entropy: &dyn SecretSource) -> Self {
        let mut bytes = Zeroizing::new([0u8; Self::BYTES]);
        entropy.fill(bytes.as_mut());
        Self(Zeroizing::new(format!(
            "{}{}",
            Self::PREFIX,
            STANDARD.encode(bytes.as_ref())
        )))
    }

    /// A secret opened from storage: `None` when it is not one this module made.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let raw = text.strip_prefix(Self::PREFIX)?;
        let decoded = Zeroizing::new(STANDARD.decode(raw).ok()?);
        (24..=64)
            .contains(&decoded.len())
            .then(|| Self(Zeroizing::new(text.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(whsec_…)")
    }
}

/// A secret as stored: sealed with the org's data key (`Sealed::to_bytes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

/// The associated data an endpoint's secrets are sealed with: a label, the
/// org and the endpoint, each length-prefixed. A sealed secret copied onto
/// another endpoint does not open.
pub fn secret_aad(org: OrgId, endpoint: WebhookId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    for part in [
        b"tenancy-webhook-secret-v1".as_slice(),
        org.as_uuid().as_bytes().as_slice(),
        endpoint.as_uuid().as_bytes().as_slice(),
    ] {
        put_part(&mut aad, part);
    }
    aad
}

/// Opens a stored secret's plaintext bytes into a [`SigningSecret`].
pub(crate) fn secret_from_plain(plain: &[u8]) -> Option<SigningSecret> {
    SigningSecret::from_bytes(plain)
}

/// The endpoint's secrets: the current one, and the one it replaced while
/// that one's grace period lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSecrets {
    pub current: SealedSecret,
    pub previous: Option<RetiringSecret>,
}

/// A replaced secret, still signing until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiringSecret {
    pub sealed: SealedSecret,
    pub until: DateTime<Utc>,
}

impl EndpointSecrets {
    /// The sealed secrets that sign a delivery at `now`: the current one,
    /// then the previous one while its grace period lasts.
    pub fn signing_at(&self, now: DateTime<Utc>) -> Vec<&SealedSecret> {
        let mut secrets = vec![&self.current];
        if let Some(previous) = &self.previous
            && now < previous.until
        {
            secrets.push(&previous.sealed);
        }
        secrets
    }
}

/// How long a replaced secret keeps signing: 24 hours unless asked, at most
/// 7 days, 0 to stop it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracePeriod(Duration);

impl GracePeriod {
    pub const DEFAULT_SECONDS: i64 = 24 * 3600;
    pub const MAX_SECONDS: i64 = 7 * 24 * 3600;

    pub fn seconds(seconds: i64) -> Result<Self, InvalidValue> {
        if (0..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(Duration::seconds(seconds)))
        } else {
            Err(InvalidValue::new(format!(
                "must be between 0 and {} seconds (7 days)",
                Self::MAX_SECONDS
            )))
        }
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl Default for GracePeriod {
    fn default() -> Self {
        Self(Duration::seconds(Self::DEFAULT_SECONDS))
    }
}

/// A webhook endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub url: WebhookUrl,
    pub description: Option<Description>,
    /// The event types it receives; empty: every type.
    pub event_types: EventFilter,
    /// Whether deliveries go out: the org turns it off and on; the worker
    /// turns it off when it answers `410 Gone` or fails for too long.
    pub enabled: bool,
    /// Since when deliveries have failed without a success in between
    /// (`None`: the last one succeeded). Written by the delivery worker only;
    /// after [`crate::webhook_delivery::DISABLE_AFTER`] it disables the endpoint.
    pub failing_since: Option<DateTime<Utc>>,
    pub secrets: EndpointSecrets,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A new endpoint, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<Description>,
    pub event_types: EventFilter,
    pub enabled: bool,
}

/// Changes to an endpoint; `None` leaves a field as it is. `url` is checked
/// by the use case (whether private addresses are allowed is a setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<Description>>,
    pub event_types: Option<EventFilter>,
    pub enabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);

    impl SecretSource for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn urls_must_be_https_public_and_without_credentials() {
        for ok in [
            "https://hooks.example.com/tenancy",
            "https://93.184.216.34:8443/x?y=1",
        ] {
            assert!(WebhookUrl::parse(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "hooks.example.com",
            "https://user:pw@hooks.example.com/",
            "https://hooks.example.com/#frag",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://192.168.0.1/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost/",
            "https://0.0.0.0/",
            "https://100.64.0.1/",
        ] {
            assert!(WebhookUrl::parse(refused, false).is_err(), "{refused}");
        }
        for allowed in [
            "http://127.0.0.1:9000/hook",
            "https://[::1]/",
            "http://localhost/",
        ] {
            assert!(WebhookUrl::parse(allowed, true).is_ok(), "{allowed}");
        }
        let long = format!("https://example.com/{}", "a".repeat(WebhookUrl::MAX_LEN));
        assert!(WebhookUrl::parse(&long, true).is_err());
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes_of_base64_and_never_debugged() {
        let secret = SigningSecret::generate(&Fixed(7));
        let raw = secret.expose().strip_prefix("whsec_").expect("the prefix");
        assert_eq!(STANDARD.decode(raw).unwrap(), vec![7u8; 32]);
        assert!(!format!("{secret:?}").contains(raw));
        assert_eq!(
            SigningSecret::from_bytes(secret.expose().as_bytes()),
            Some(secret.clone())
        );
        assert_eq!(SigningSecret::from_bytes(b"whsec_short"), None);
        assert_eq!(SigningSecret::from_bytes(raw.as_bytes()), None);
    }

    #[test]
    fn grace_periods_are_bounded_and_the_previous_secret_signs_until_it_ends() {
        assert!(GracePeriod::seconds(-1).is_err());
        assert!(GracePeriod::seconds(GracePeriod::MAX_SECONDS + 1).is_err());
        assert_eq!(GracePeriod::default().duration(), Duration::hours(24));
        let until = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let secrets = EndpointSecrets {
            current: SealedSecret(vec![1]),
            previous: Some(RetiringSecret {
                sealed: SealedSecret(vec![2]),
                until,
            }),
        };
        assert_eq!(secrets.signing_at(until - Duration::seconds(1)).len(), 2);
        assert_eq!(
            secrets.signing_at(until),
            vec![&SealedSecret(vec![1])],
            "only the new one once the grace ends"
        );
    }
}
