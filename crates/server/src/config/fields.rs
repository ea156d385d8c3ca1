//! The field parsers: one validated type per kind of setting, deserialized
//! straight from the merged layers with `#[serde(try_from = ...)]`. A refusal
//! is the `TryFrom` error, a sentence that figment attaches to the key and that
//! `error::from_figment_error` prefixes with the setting's name.
//!
//! Numbers and flags are read from a figment [`Value`] rather than a typed
//! field because the file and the environment spell them differently: `30` or
//! `true` in TOML, text in the environment.

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::RangeInclusive;

use domain::{KeyPrefix, Name, Region, RegionCode, Regions};
use figment::value::Value;
use serde::Deserialize;

use super::error::explain;

/// Longest retention accepted; far beyond any real policy, and it keeps date
/// arithmetic clear of overflow.
const MAX_RETENTION_DAYS: i128 = 36_500;

/// Largest verification cache accepted: about a few GiB of memory at most.
const MAX_CACHE_KEYS: i128 = 10_000_000;

/// Largest resource quota accepted.
const MAX_RESOURCES: i128 = 100_000_000;
const MAX_MEMBERS: i128 = 10_000_000;

/// The unit and bounds of a [`Whole`] setting.
pub(super) trait Bounds {
    /// What is counted, as the refusal names it ("days", "milliseconds").
    const UNIT: &'static str;
    const RANGE: RangeInclusive<i128>;
}

/// Declares marker types for [`Whole`], one line each:
/// `Name: "unit", least..=most;`.
macro_rules! bounds {
    ($($(#[$doc:meta])* $name:ident: $unit:literal, $range:expr;)*) => {$(
        $(#[$doc])*
        pub(super) enum $name {}

        impl $crate::config::fields::Bounds for $name {
            const UNIT: &'static str = $unit;
            const RANGE: std::ops::RangeInclusive<i128> = $range;
        }
    )*};
}
pub(super) use bounds;

bounds! {
    /// `retention_days`.
    RetentionDays: "days", 1..=MAX_RETENTION_DAYS;
    /// `verify_cache_keys` and `verify_unknown_keys`.
    CacheKeys: "keys", 1..=MAX_CACHE_KEYS;
    /// `max_resources_per_tenant`.
    Resources: "resources", 1..=MAX_RESOURCES;
    /// `max_members_per_tenant`.
    Members: "members", 1..=MAX_MEMBERS;
    /// `dns_timeout_ms`: one nameserver's answer, up to a minute.
    DnsMillis: "milliseconds", 1..=60_000;
    /// `domain_check_interval_ms`: from a tenth of a second to a day.
    CheckMillis: "milliseconds", 100..=86_400_000;
}

/// A whole number within `B`'s bounds, from TOML (a number) or the environment
/// (text).
#[derive(Deserialize)]
#[serde(try_from = "Value", bound = "")]
pub(super) struct Whole<B: Bounds> {
    number: i128,
    bounds: PhantomData<B>,
}

impl<B: Bounds> Whole<B> {
    /// The number as the type its setting is used as; every range fits them.
    pub(super) fn get<T: TryFrom<i128>>(&self) -> T {
        T::try_from(self.number)
            .unwrap_or_else(|_| unreachable!("{} is within {:?}", self.number, B::RANGE))
    }

    /// The number as a duration, for settings counted in milliseconds.
    pub(super) fn millis(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.get())
    }
}

impl<B: Bounds> TryFrom<Value> for Whole<B> {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        whole_number(&value, B::UNIT, B::RANGE).map(|number| Self {
            number,
            bounds: PhantomData,
        })
    }
}

/// A whole number within `range`, from TOML (a number) or the environment (text).
fn whole_number(value: &Value, unit: &str, range: RangeInclusive<i128>) -> Result<i128, String> {
    let number = match value {
        Value::String(_, text) => text.trim().parse::<i128>().ok(),
        other => other
            .to_i128()
            .or_else(|| other.to_u128().and_then(|n| i128::try_from(n).ok())),
    };
    let Some(number) = number else {
        return Err(format!(
            "{} is not a whole number of {unit}",
            match value {
                Value::String(_, text) => format!("{text:?}"),
                _ => "the value".to_owned(),
            }
        ));
    };
    if !range.contains(&number) {
        return Err(format!(
            "must be between {} and {} {unit} (got {number})",
            range.start(),
            range.end()
        ));
    }
    Ok(number)
}

/// `true` or `false`, from TOML (a boolean) or the environment (text).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "Value")]
pub(super) struct Flag(pub(super) bool);

impl TryFrom<Value> for Flag {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(_, b) => Ok(Self(b)),
            Value::String(_, text) => match text.trim() {
                "true" => Ok(Self(true)),
                "false" => Ok(Self(false)),
                other => Err(format!("{other:?} is not `true` or `false`")),
            },
            _ => Err("expected `true` or `false`".to_owned()),
        }
    }
}

/// The address to listen on.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Listen(pub(super) SocketAddr);

impl TryFrom<String> for Listen {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.trim().parse().map(Self).map_err(|_| {
            format!(
                "{raw:?} is not an address to listen on; expected an IP address and port \
                 such as 127.0.0.1:8080 or [::]:8080"
            )
        })
    }
}

/// The first part of every API key.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Prefix(pub(super) KeyPrefix);

impl TryFrom<String> for Prefix {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        KeyPrefix::parse(raw.trim())
            .map(Self)
            .map_err(|e| format!("{raw:?}: {e}"))
    }
}

/// A DNS name such as `tenancy.example.com`, lowercased, without a trailing dot.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct BaseDomain(pub(super) domain::custom_domain::DomainName);

impl TryFrom<String> for BaseDomain {
    type Error = String;

    /// The domain's own rule for a domain name (`domain::custom_domain`).
    fn try_from(raw: String) -> Result<Self, String> {
        domain::custom_domain::DomainName::parse(&raw)
            .map(Self)
            .map_err(|e| format!("{raw:?} is not a domain name such as tenancy.example.com: {e}"))
    }
}

/// The label custom domains' TXT records live under.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct ChallengeLabel(pub(super) domain::ChallengePrefix);

impl TryFrom<String> for ChallengeLabel {
    type Error = String;

    /// The domain's own rule (`domain::custom_domain::ChallengePrefix`).
    fn try_from(raw: String) -> Result<Self, String> {
        domain::ChallengePrefix::parse(raw.trim())
            .map(Self)
            .map_err(|e| format!("{raw:?} is not a DNS label such as _tenancy-challenge: {e}"))
    }
}

/// The nameservers that verify custom domains: comma-separated `ip:port` (or
/// `ip`, port 53; IPv6 as `[::1]:53`); empty, the system's.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Nameservers(pub(super) Vec<SocketAddr>);

impl TryFrom<String> for Nameservers {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<SocketAddr>()
                    .or_else(|_| {
                        entry
                            .parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| {
                        format!(
                            "{entry:?} is not a nameserver address; expected ip:port such as \
                             10.0.0.2:53 or [2001:db8::53]:53, comma-separated"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The reverse proxies whose forwarding headers are believed: a
/// comma-separated list of networks or addresses, checked by the domain's rule
/// (`domain::TrustedProxies`).
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Proxies(pub(super) domain::TrustedProxies);

impl TryFrom<String> for Proxies {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        domain::TrustedProxies::parse(&raw).map(Self).map_err(|e| {
            format!("must list networks such as 10.0.0.0/8, 2001:db8::/32 (comma-separated): {e}")
        })
    }
}

/// The regions, from the environment's syntax (also accepted in the file) or
/// `[[regions]]` tables.
#[derive(Deserialize)]
#[serde(try_from = "Value")]
pub(super) struct RegionList(pub(super) Regions);

/// One `[[regions]]` table of the TOML file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    code: String,
    name: Option<String>,
    available: Option<bool>,
}

impl TryFrom<Value> for RegionList {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let regions = match &value {
            Value::String(_, spec) => parse_region_list(spec)?,
            Value::Array(_, entries) => entries
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    let entry: RegionEntry = entry
                        .deserialize()
                        .map_err(|e| format!("region {}: {}", i + 1, explain(&e.kind)))?;
                    region(
                        &entry.code,
                        entry.name.as_deref(),
                        entry.available.unwrap_or(true),
                    )
                    .map_err(|m| format!("region {}: {m}", i + 1))
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(
                    "expected a list such as \"eu-west=Europe West,us-east=US East:unavailable\" \
                     or [[regions]] tables"
                        .to_owned(),
                );
            }
        };
        Regions::new(regions).map(Self).map_err(|e| e.to_string())
    }
}

/// The environment's syntax: comma-separated `code[=Display Name][:unavailable]`.
fn parse_region_list(spec: &str) -> Result<Vec<Region>, String> {
    spec.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, entry)| {
            if entry.is_empty() {
                return Err(format!(
                    "region {} is empty; expected code[=Display Name][:unavailable]",
                    i + 1
                ));
            }
            let (rest, available) = match entry.rsplit_once(':') {
                None => (entry, true),
                Some((rest, flag)) => match flag.trim() {
                    "unavailable" => (rest, false),
                    "available" => (rest, true),
                    other => {
                        return Err(format!(
                            "{entry:?}: unknown flag {other:?} after ':' (expected `unavailable`)"
                        ));
                    }
                },
            };
            let (code, name) = match rest.split_once('=') {
                Some((code, name)) => (code, Some(name)),
                None => (rest, None),
            };
            region(code.trim(), name, available).map_err(|m| format!("{entry:?}: {m}"))
        })
        .collect()
}

/// A region from its parts; without a display name, the code doubles as one.
fn region(code: &str, name: Option<&str>, available: bool) -> Result<Region, String> {
    let code = RegionCode::parse(code).map_err(|e| e.to_string())?;
    let name = Name::parse(name.unwrap_or(code.as_str()))
        .map_err(|e| format!("the display name of {code} {e}"))?;
    Ok(Region {
        code,
        name,
        available,
    })
}
