//! Custom domains (SPEC §5): a tenant's own hostname, verified by a DNS TXT
//! record before Tenancy answers for it.
//!
//! Adding a domain gives it a [`VerificationToken`]; the operator publishes the
//! token in a TXT record at `{prefix}.{domain}` ([`ChallengePrefix`], by
//! default `_tenancy-challenge`) and points the domain (a CNAME) at the
//! tenant's subdomain. A background job looks the TXT record up through the
//! [`DnsResolver`](crate::ports::DnsResolver) port; [`CustomDomain::after_check`]
//! turns each answer into the next state: `verified` when the token is there,
//! otherwise still `pending` with a typed [`CheckReason`] and the next check
//! after a doubling backoff, and `failed` once [`VERIFICATION_WINDOW`] has
//! passed since verification started. [`CustomDomain::restarted`] is
//! re-verification. Everything here is pure: times come in as arguments.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::ports::DnsFailure;
use crate::slug::TenantKey;
use crate::values::InvalidValue;

/// The delay before the second check, after a first one that did not find the
/// token; each further miss doubles it, up to [`MAX_RETRY`].
pub const FIRST_RETRY: Duration = Duration::minutes(1);
/// The longest delay between two checks of a pending domain.
pub const MAX_RETRY: Duration = Duration::hours(1);
/// How long a domain may stay pending: a check that misses the token this long
/// after verification (re)started fails the domain.
pub const VERIFICATION_WINDOW: Duration = Duration::days(7);

/// A fully qualified host name, lower-cased, without the trailing dot: the
/// custom domain itself, or a name looked up for it.
///
/// From [`DomainName::parse`] it is a hostname: at least two labels of ASCII
/// letters, digits and hyphens, each 1–63 characters long and neither
/// starting nor ending with a hyphen, 253 characters in all at most; never an
/// IP address or a wildcard. [`DomainName::challenge_name`] adds a first label
/// that may hold underscores, as TXT record owners such as
/// `_tenancy-challenge.example.com` do.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// The longest name DNS carries, in characters, without the trailing dot.
    pub const MAX_LEN: usize = 253;
    /// The longest label.
    pub const MAX_LABEL_LEN: usize = 63;

    /// Validates a host name as a caller writes it: upper case is folded to
    /// lower case (DNS names are case-insensitive) and one trailing dot (the
    /// root) is dropped. Internationalised names are accepted in their ASCII
    /// (`xn--`) form only.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
        if name.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if name.starts_with('[') || name.contains(':') {
            return Err(InvalidValue::new("must be a host name, not an IP address"));
        }
        if name.contains('*') {
            return Err(InvalidValue::new("must not be a wildcard"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long",
                Self::MAX_LEN
            )));
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return Err(InvalidValue::new(
                "must have at least two labels (like example.com)",
            ));
        }
        for label in &labels {
            check_label(label, false)?;
        }
        // No top-level domain is all digits, so a name ending in one is an IPv4
        // address (or a typo of one): resolving it as a name would be wrong.
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(InvalidValue::new("must be a host name, not an IP address"));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its labels, from the leftmost.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// `{prefix}.{self}`: where the TXT record holding the token must be. Fails
    /// only when the result would be longer than [`DomainName::MAX_LEN`].
    pub fn challenge_name(&self, prefix: &ChallengePrefix) -> Result<Self, InvalidValue> {
        self.child(prefix.as_str())
    }

    /// `{key}.{self}`: a tenant's subdomain under the base domain `self`, the
    /// CNAME target an operator points a custom domain at. Fails only when the
    /// result would be longer than [`DomainName::MAX_LEN`].
    pub fn subdomain(&self, key: &TenantKey) -> Result<Self, InvalidValue> {
        self.child(key.as_str())
    }

    /// The tenant key whose subdomain under the base domain `self` a request's
    /// `Host` header names (`acme.tenancy.example`, any case, with or without
    /// a port or a trailing dot); `None` for any other host.
    pub fn tenant_key_of_host(&self, host: &str) -> Option<TenantKey> {
        let name = Self::of_host(host)?;
        let label = name.0.strip_suffix(&format!(".{}", self.0))?;
        if label.contains('.') {
            return None;
        }
        TenantKey::parse(label).ok()
    }

    /// The name a request's `Host` header holds (any case, with or without a
    /// port or a trailing dot); `None` for an IP literal or anything else
    /// that is not a host name.
    pub fn of_host(host: &str) -> Option<Self> {
        let host = host.trim();
        // A port after the last colon; IP literals never name a tenant anyway.
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        DomainName::parse(name).ok()
    }

    /// `{label}.{self}` for a label its type has validated.
    fn child(&self, label: &str) -> Result<Self, InvalidValue> {
        let name = format!("{label}.{}", self.0);
        if name.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "{name:?} would be longer than {} characters",
                Self::MAX_LEN
            )));
        }
        Ok(Self(name))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks one lower-cased label: 1–63 characters of letters, digits and
/// hyphens (and underscores where `underscores`), not starting or ending with
/// a hyphen.
fn check_label(label: &str, underscores: bool) -> Result<(), InvalidValue> {
    if label.is_empty() {
        return Err(InvalidValue::new("must not have an empty label"));
    }
    if label.len() > DomainName::MAX_LABEL_LEN {
        return Err(InvalidValue::new(format!(
            "labels must be at most {} characters long",
            DomainName::MAX_LABEL_LEN
        )));
    }
    let allowed = |b: u8| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (underscores && b == b'_')
    };
    if let Some(c) = label.chars().find(|c| !c.is_ascii() || !allowed(*c as u8)) {
        let allowed = if underscores {
            "letters, digits, hyphens and underscores"
        } else {
            "letters, digits and hyphens"
        };
        return Err(InvalidValue::new(format!(
            "labels hold ASCII {allowed} only (found {c:?})"
        )));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(InvalidValue::new(
            "labels must not start or end with a hyphen",
        ));
    }
    Ok(())
}

/// The label in front of a custom domain under which its TXT record lives:
/// one DNS label, lower-cased, of ASCII letters, digits, hyphens and
/// underscores (a leading underscore marks it as a service label, never a
/// host), not starting or ending with a hyphen. Configurable per deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChallengePrefix(String);

impl ChallengePrefix {
    /// The prefix unless the deployment configures another.
    pub const DEFAULT: &'static str = "_tenancy-challenge";

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let label = raw.to_ascii_lowercase();
        if label.contains('.') {
            return Err(InvalidValue::new("must be a single label, without dots"));
        }
        check_label(&label, true)?;
        Ok(Self(label))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ChallengePrefix {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for ChallengePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the TXT record must hold: `tenancy-verify=` and 32 lowercase hex
/// digits (128 random bits, drawn by the service from the randomness port).
/// Not a secret: it only proves that whoever added the domain controls its
/// DNS, and it is published there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerificationToken(String);

impl VerificationToken {
    /// What every token starts with, so a zone's TXT records say whose they are.
    pub const PREFIX: &'static str = "tenancy-verify=";
    /// Hex digits after the prefix.
    const DIGITS: usize = 32;

    /// The token of 16 random bytes.
    pub fn from_bytes(bytes: &[u8; 16]) -> Self {
        let mut token = String::with_capacity(Self::PREFIX.len() + Self::DIGITS);
        token.push_str(Self::PREFIX);
        for byte in bytes {
            token.push_str(&format!("{byte:02x}"));
        }
        Self(token)
    }

    /// A token as stored or shown: exactly the prefix and 32 lowercase hex
    /// digits.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let digits = raw
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| InvalidValue::new(format!("must start with {:?}", Self::PREFIX)))?;
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if digits.len() != Self::DIGITS || !digits.bytes().all(hex) {
            return Err(InvalidValue::new(format!(
                "must end with {} lowercase hex digits",
                Self::DIGITS
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether one TXT record's text is this token. Surrounding whitespace is
    /// ignored (DNS consoles add it easily), nothing else: a record holding
    /// the token among other text is a wrong value.
    pub fn matches(&self, txt: &str) -> bool {
        txt.trim() == self.0
    }
}

impl fmt::Display for VerificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a custom domain's verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainStatus {
    /// Added or re-verified; checked until verified or failed.
    Pending,
    /// The token was found: Tenancy answers for the domain.
    Verified,
    /// Not verified within [`VERIFICATION_WINDOW`]; only re-verification
    /// checks it again.
    Failed,
}

impl DomainStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Verified, Self::Failed];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
            .ok_or_else(|| InvalidValue::new("must be one of pending, verified, failed"))
    }
}

impl fmt::Display for DomainStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check did not find the token: what the operator should fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckReason {
    /// The challenge name exists but holds no TXT record.
    NoRecord,
    /// TXT records are there, none of them the token.
    WrongValue,
    /// The challenge name does not exist.
    NxDomain,
    /// The nameservers failed or refused to answer.
    ServFail,
    /// No nameserver answered in time.
    Timeout,
}

impl CheckReason {
    pub const ALL: [Self; 5] = [
        Self::NoRecord,
        Self::WrongValue,
        Self::NxDomain,
        Self::ServFail,
        Self::Timeout,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NoRecord => "no_record",
            Self::WrongValue => "wrong_value",
            Self::NxDomain => "nxdomain",
            Self::ServFail => "servfail",
            Self::Timeout => "timeout",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == raw)
            .ok_or_else(|| {
                InvalidValue::new(
                    "must be one of no_record, wrong_value, nxdomain, servfail, timeout",
                )
            })
    }
}

impl From<DnsFailure> for CheckReason {
    fn from(failure: DnsFailure) -> Self {
        match failure {
            DnsFailure::NxDomain => Self::NxDomain,
            DnsFailure::ServFail => Self::ServFail,
            DnsFailure::Timeout => Self::Timeout,
        }
    }
}

impl fmt::Display for CheckReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The delay before the next check of a pending domain after `checks` checks
/// since verification started that missed the token: [`FIRST_RETRY`] after
/// the first, doubling after each further one, never more than [`MAX_RETRY`]
/// (1, 2, 4, 8, 16, 32, 60, 60, … minutes). No check yet: no delay.
pub fn retry_delay(checks: u32) -> Duration {
    match checks {
        0 => Duration::zero(),
        // 2^6 minutes already passes the hour: stop doubling there, so the
        // shift never overflows however long a domain has been pending.
        n if n > 6 => MAX_RETRY,
        n => (FIRST_RETRY * (1 << (n - 1))).min(MAX_RETRY),
    }
}

/// A tenant's custom domain and where its verification stands: what exists
/// (stores keep it as it is; the use cases move it only through
/// [`CustomDomain::after_check`] and [`CustomDomain::restarted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDomain {
    pub domain: DomainName,
    /// What the TXT record at the challenge name must hold; kept across
    /// re-verifications, so a record already published stays right.
    pub token: VerificationToken,
    pub status: DomainStatus,
    /// When verification started, or was last restarted: the
    /// [`VERIFICATION_WINDOW`] counts from here.
    pub started_at: DateTime<Utc>,
    pub last_checked_at: Option<DateTime<Utc>>,
    /// Why the last check did not find the token; `None` before the first
    /// check and after one that found it.
    pub last_reason: Option<CheckReason>,
    /// When the background job checks next; `None` once verified or failed.
    pub next_check_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    /// Checks made since verification (re)started.
    pub checks: u32,
}

impl CustomDomain {
    /// A domain just added: pending, its first check due at once.
    pub fn new(domain: DomainName, token: VerificationToken, now: DateTime<Utc>) -> Self {
        Self {
            domain,
            token,
            status: DomainStatus::Pending,
            started_at: now,
            last_checked_at: None,
            last_reason: None,
            next_check_at: Some(now),
            verified_at: None,
            checks: 0,
        }
    }

    /// Where the TXT record must be under `prefix`.
    pub fn challenge_name(&self, prefix: &ChallengePrefix) -> Result<DomainName, InvalidValue> {
        self.domain.challenge_name(prefix)
    }

    /// When a pending domain fails if no check has found the token by then.
    pub fn deadline(&self) -> DateTime<Utc> {
        self.started_at + VERIFICATION_WINDOW
    }

    /// Whether the background job should check it at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.status == DomainStatus::Pending && self.next_check_at.is_some_and(|at| at <= now)
    }

    /// What one lookup of the challenge name's TXT records, answered at `now`,
    /// makes of the domain, and its new status if the status changed (each
    /// change is an event).
    ///
    /// Pending: the token among the answer's records verifies it. Otherwise the
    /// reason is recorded and the next check comes after [`retry_delay`],
    /// though never later than the [`CustomDomain::deadline`], so a domain
    /// fails on time rather than up to an hour late; a miss at or after the
    /// deadline fails it.
    ///
    /// Verified or failed: the check is recorded (its time and reason) and the
    /// status stays. A verified domain whose record disappears is not
    /// un-verified in this version: the operator removed the record after
    /// proving control, which many guides tell them they may do. A failed one
    /// waits for re-verification ([`CustomDomain::restarted`]).
    pub fn after_check(
        &self,
        answer: &Result<Vec<String>, DnsFailure>,
        now: DateTime<Utc>,
    ) -> (CustomDomain, Option<DomainStatus>) {
        let reason = match answer {
            Ok(records) if records.iter().any(|txt| self.token.matches(txt)) => None,
            Ok(records) if records.is_empty() => Some(CheckReason::NoRecord),
            Ok(_) => Some(CheckReason::WrongValue),
            Err(failure) => Some(CheckReason::from(*failure)),
        };
        let mut next = Self {
            last_checked_at: Some(now),
            last_reason: reason,
            checks: self.checks.saturating_add(1),
            ..self.clone()
        };
        if self.status != DomainStatus::Pending {
            return (next, None);
        }
        match reason {
            None => {
                next.status = DomainStatus::Verified;
                next.verified_at = Some(now);
                next.next_check_at = None;
            }
            Some(_) if now >= self.deadline() => {
                next.status = DomainStatus::Failed;
                next.next_check_at = None;
            }
            Some(_) => {
                let at = (now + retry_delay(next.checks)).min(self.deadline());
                next.next_check_at = Some(at);
            }
        }
        let changed = (next.status != self.status).then_some(next.status);
        (next, changed)
    }

    /// Re-verification: pending again from `now`, with a fresh window and
    /// backoff and the first check due at once; the token stays. From any
    /// status (the use case decides whom it lets restart a verified domain).
    pub fn restarted(&self, now: DateTime<Utc>) -> CustomDomain {
        Self::new(self.domain.clone(), self.token.clone(), now)
    }
}
