//! The `security` settings group (SPEC §5): multi-factor authentication, the
//! sign-in methods a tenant allows, the IP allowlist its API keys are held to,
//! and how long a session lasts; with the values only this group uses.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use serde_json::Value;

use super::SettingsGroup;
use super::patch::{FieldVisitor, Fields, SettingValue, strings};
use crate::values::{InvalidValue, check_list_len};

/// The `security` settings of a tenant. Every field is optional: `None` is
/// "not set", and the product's default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritySettings {
    /// `requireMfa`: whether members must sign in with a second factor.
    pub require_mfa: Option<bool>,
    /// `allowedAuthMethods`: how members may sign in.
    pub allowed_auth_methods: Option<AuthMethods>,
    /// `ipAllowlist`: the networks the tenant's API keys are accepted from.
    pub ip_allowlist: Option<IpAllowlist>,
    /// `sessionTimeoutMinutes`: how long a signed-in session lasts.
    pub session_timeout: Option<SessionTimeout>,
}

impl SecuritySettings {
    /// Whether a request from `ip` may use the tenant's API keys: yes when no
    /// allowlist is set or the list is empty, else only from a listed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.ip_allowlist
            .as_ref()
            .is_none_or(|allowlist| allowlist.allows(ip))
    }
}

impl Fields for SecuritySettings {
    fn visit<V: FieldVisitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        visitor.field("requireMfa", &mut self.require_mfa)?;
        visitor.field("allowedAuthMethods", &mut self.allowed_auth_methods)?;
        visitor.field("ipAllowlist", &mut self.ip_allowlist)?;
        visitor.field("sessionTimeoutMinutes", &mut self.session_timeout)
    }
}

impl SettingsGroup for SecuritySettings {
    const NAME: &'static str = "security";
}

/// A way to sign in to the tenant's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthMethod {
    /// `password`: a password kept by the product's identity provider.
    Password,
    /// `sso`: single sign-on through the tenant's own identity provider.
    Sso,
    /// `passkey`: a WebAuthn credential.
    Passkey,
    /// `magic_link`: a one-time link sent by email.
    MagicLink,
}

impl AuthMethod {
    /// Every method, in the order documents list them.
    pub const ALL: [Self; 4] = [Self::Password, Self::Sso, Self::Passkey, Self::MagicLink];

    /// Reads a method from its name in the API (`magic_link`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|method| method.as_str() == raw)
            .ok_or_else(|| InvalidValue::new("must be one of password, sso, passkey, magic_link"))
    }

    /// The method's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Sso => "sso",
            Self::Passkey => "passkey",
            Self::MagicLink => "magic_link",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sign-in methods a tenant allows: a set holding at least one method, so
/// a tenant cannot lock every member out by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMethods(BTreeSet<AuthMethod>);

impl AuthMethods {
    /// At most this many items in the JSON array (there are that many
    /// methods); a repeated method counts once in the set.
    pub const MAX_ITEMS: usize = AuthMethod::ALL.len();

    /// The set of `methods`; refuses an empty one.
    pub fn new(methods: impl IntoIterator<Item = AuthMethod>) -> Result<Self, InvalidValue> {
        let set: BTreeSet<AuthMethod> = methods.into_iter().collect();
        if set.is_empty() {
            return Err(InvalidValue::new(
                "must name at least one of password, sso, passkey, magic_link",
            ));
        }
        Ok(Self(set))
    }

    /// Whether the tenant allows `method`.
    pub fn contains(&self, method: AuthMethod) -> bool {
        self.0.contains(&method)
    }

    /// The methods, in the order of [`AuthMethod::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = AuthMethod> + '_ {
        self.0.iter().copied()
    }
}

impl SettingValue for AuthMethods {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        let methods = strings(value, Self::MAX_ITEMS)?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                AuthMethod::parse(raw)
                    .map_err(|e| InvalidValue::new(format!("item at index {i} {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(methods)
    }

    fn to_json(&self) -> Value {
        self.iter().map(AuthMethod::as_str).collect()
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`203.0.113.0/24`,
/// `2001:db8::/32`); a bare address is the network of that one address (`/32`
/// or `/128`). Host bits after the prefix are cleared: `203.0.113.7/24` is
/// the network `203.0.113.0/24`, as the stored (and answered) text shows.
/// Kept in canonical text (`2001:DB8::/32` is stored as `2001:db8::/32`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cidr {
    net: IpNet,
    text: String,
}

impl Cidr {
    /// Reads a network (`203.0.113.0/24`) or a single address (`203.0.113.7`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let expected = || {
            InvalidValue::new(
                "must be an IPv4 or IPv6 network such as 203.0.113.0/24 or 2001:db8::/32, \
                 or a single address",
            )
        };
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        // The standard library's parser is strict: no leading zeros in IPv4
        // octets (some tools read them as octal), no IPv6 zone.
        let address: IpAddr = address.parse().map_err(|_| expected())?;
        let max = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => max,
            Some(digits) => parse_prefix(digits).filter(|p| *p <= max).ok_or_else(|| {
                InvalidValue::new(format!(
                    "must have a prefix length from 0 to {max} after the '/' (got {digits:?})"
                ))
            })?,
        };
        let net = IpNet::new(address, prefix).map_err(|_| expected())?.trunc();
        Ok(Self {
            net,
            text: net.to_string(),
        })
    }

    /// [`Cidr::parse`]'s rule as a regular expression, as the API documents
    /// it: an IPv4 address in dotted decimal without leading zeros, or an
    /// IPv6 address in any of RFC 4291's forms (RFC 3986's `IPv6address`:
    /// compressed or not, with an IPv4 address in its last 32 bits or not),
    /// each with an optional `/` and a prefix length in plain decimal.
    pub fn pattern() -> &'static str {
        static PATTERN: LazyLock<String> = LazyLock::new(|| {
            let v4 = ipv4_pattern();
            let v6 = ipv6_pattern(&v4);
            format!(
                "^(?:{v4}(?:/(?:3[0-2]|[12][0-9]|[0-9]))?|{v6}(?:/(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9]))?)$"
            )
        });
        &PATTERN
    }

    /// Whether `ip` is in the network. An IPv4 address that arrives as an
    /// IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as a dual-stack socket
    /// reports it) is matched as the IPv4 address it is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.net.contains(&ip) || self.net.contains(&ip.to_canonical())
    }

    /// The network in canonical CIDR text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An IPv4 address as the standard library reads it: four decimal octets,
/// no leading zeros.
fn ipv4_pattern() -> String {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    format!("(?:{octet}\\.){{3}}{octet}")
}

/// RFC 3986's `IPv6address`, alternative by alternative: `n` 16-bit groups
/// before `::` (none: no `::`) and the groups after it, the last 32 bits
/// possibly an IPv4 address.
fn ipv6_pattern(v4: &str) -> String {
    let h16 = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("(?:{h16}:{h16}|{v4})");
    // `m` groups, each followed by a colon.
    let groups = |m: usize| format!("(?:{h16}:){{{m}}}");
    // Up to `n` groups before the `::`, separated by colons.
    let before = |n: usize| match n {
        0 => String::new(),
        1 => format!("(?:{h16})?"),
        n => format!("(?:(?:{h16}:){{0,{}}}{h16})?", n - 1),
    };
    let mut forms = vec![format!("{}{ls32}", groups(6))];
    for after in (0..=5).rev() {
        forms.push(format!("{}::{}{ls32}", before(5 - after), groups(after)));
    }
    forms.push(format!("{}::{h16}", before(6)));
    forms.push(format!("{}::", before(7)));
    format!("(?:{})", forms.join("|"))
}

/// A prefix length in plain decimal: 1 to 3 digits, no sign, no leading zero.
fn parse_prefix(digits: &str) -> Option<u8> {
    let plain = (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    plain.then(|| digits.parse().ok()).flatten()
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The networks a tenant's API keys are accepted from: at most
/// [`IpAllowlist::MAX_ITEMS`] networks, each once (a repeat is dropped, the
/// first spelling's position kept). An empty list restricts nothing, like an
/// absent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllowlist(Vec<Cidr>);

impl IpAllowlist {
    /// Most networks in one list, counted as sent (repeats included).
    pub const MAX_ITEMS: usize = 100;

    /// The list of `networks`, repeats dropped; refuses more than
    /// [`IpAllowlist::MAX_ITEMS`].
    pub fn new(networks: Vec<Cidr>) -> Result<Self, InvalidValue> {
        check_list_len(networks.len(), Self::MAX_ITEMS)?;
        let mut kept: Vec<Cidr> = Vec::with_capacity(networks.len());
        for network in networks {
            if !kept.contains(&network) {
                kept.push(network);
            }
        }
        Ok(Self(kept))
    }

    /// Whether `ip` may use the tenant's keys: any address when the list is
    /// empty, else one inside a listed network.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.is_empty() || self.0.iter().any(|network| network.contains(ip))
    }

    /// The allowlist a stored `security` document's `ipAllowlist` member
    /// holds, as the key lookup reads it: `None` when the member is absent,
    /// `null` or an empty list (none of which restricts anything).
    pub fn from_stored(member: Option<&Value>) -> Result<Option<Self>, InvalidValue> {
        match member {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let list = <Self as SettingValue>::from_json(value)?;
                Ok((!list.is_empty()).then_some(list))
            }
        }
    }

    /// The networks, in the order they were first listed.
    pub fn networks(&self) -> &[Cidr] {
        &self.0
    }

    /// Whether the list holds no network (and so restricts nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many networks the list holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl SettingValue for IpAllowlist {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        let networks = strings(value, Self::MAX_ITEMS)?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                Cidr::parse(raw).map_err(|e| InvalidValue::new(format!("item at index {i} {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(networks)
    }

    fn to_json(&self) -> Value {
        self.0.iter().map(Cidr::as_str).collect()
    }
}

/// How long a signed-in session lasts: from 5 minutes to 30 days (43,200
/// minutes), in whole minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionTimeout(u32);

impl SessionTimeout {
    /// The shortest session, in minutes.
    pub const MIN_MINUTES: u32 = 5;
    /// The longest session, in minutes (30 days).
    pub const MAX_MINUTES: u32 = 43_200;

    /// A timeout of `minutes`; refuses one outside the bounds.
    pub fn from_minutes(minutes: u64) -> Result<Self, InvalidValue> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| (Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(m))
            .map(Self)
            .ok_or_else(Self::expected)
    }

    fn expected() -> InvalidValue {
        InvalidValue::new(format!(
            "must be a whole number of minutes from {} to {}",
            Self::MIN_MINUTES,
            Self::MAX_MINUTES
        ))
    }

    /// The timeout in minutes.
    pub fn minutes(self) -> u32 {
        self.0
    }

    /// The timeout as a duration, to compare with a session's age.
    pub fn as_duration(self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.0))
    }
}

impl fmt::Display for SessionTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} minutes", self.0)
    }
}

impl SettingValue for SessionTimeout {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        if let Some(minutes) = value.as_u64() {
            return Self::from_minutes(minutes);
        }
        // JSON Schema counts `30.0` as an integer; so does this.
        match value.as_f64() {
            // Whole, non-negative and small: the cast is exact.
            Some(minutes) if minutes.fract() == 0.0 && (0.0..=1e9).contains(&minutes) => {
                Self::from_minutes(minutes as u64)
            }
            _ => Err(Self::expected()),
        }
    }

    fn to_json(&self) -> Value {
        Value::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_networks_their_host_bits_cleared() {
        for (raw, kept) in [
            ("203.0.113.0/24", "203.0.113.0/24"),
            ("203.0.113.7", "203.0.113.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8::/32", "2001:db8::/32"),
            ("2001:db8::1", "2001:db8::1/128"),
            ("::/0", "::/0"),
            ("10.0.0.1/8", "10.0.0.0/8"),
            ("2001:db8::1/32", "2001:db8::/32"),
        ] {
            assert_eq!(Cidr::parse(raw).unwrap().as_str(), kept, "{raw}");
        }
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "010.0.0.0/8",
            "10.0.0/8",
            "2001:db8::/129",
            "fe80::1%eth0",
            "example.com/24",
            "10.0.0.0/8/8",
            " 10.0.0.0/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_network_contains_its_addresses_in_either_family_spelling() {
        let v4 = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(v4.contains("203.0.113.255".parse().unwrap()));
        assert!(!v4.contains("203.0.114.0".parse().unwrap()));
        assert!(v4.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert!(!v4.contains("2001:db8::1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("203.0.113.9".parse().unwrap()));
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// Whatever parses, parses back from its kept text to the same
        /// network, and contains exactly the addresses its prefix covers.
        #[test]
        fn a_network_parses_back_and_contains_what_its_prefix_covers(
            raw in proptest::prop_oneof![
                (proptest::arbitrary::any::<u32>(), 0u32..=32).prop_map(|(bits, prefix)| {
                    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                    format!("{}/{prefix}", std::net::Ipv4Addr::from(bits & mask))
                }),
                "[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?",
                "[0-9a-fA-F:]{2,20}(/[0-9]{1,3})?",
                proptest::arbitrary::any::<String>(),
            ],
            probe in proptest::arbitrary::any::<u32>(),
        ) {
            if let Ok(network) = Cidr::parse(&raw) {
                proptest::prop_assert_eq!(Cidr::parse(network.as_str()), Ok(network.clone()));
                if let IpAddr::V4(base) = network.net.network() {
                    let prefix = u32::from(network.net.prefix_len());
                    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                    let inside = (probe & mask) == u32::from(base);
                    let ip = IpAddr::V4(probe.into());
                    proptest::prop_assert_eq!(network.contains(ip), inside);
                }
            }
        }
    }

    #[test]
    fn session_timeouts_are_whole_minutes_within_bounds() {
        for ok in [5, 30, 43_200] {
            assert_eq!(
                SessionTimeout::from_json(&Value::from(ok))
                    .unwrap()
                    .minutes(),
                ok
            );
        }
        assert_eq!(
            SessionTimeout::from_json(&serde_json::json!(30.0))
                .unwrap()
                .minutes(),
            30
        );
        for bad in [
            serde_json::json!(4),
            serde_json::json!(43_201),
            serde_json::json!(-5),
            serde_json::json!(30.5),
            serde_json::json!(u64::MAX),
            serde_json::json!(1e300),
            serde_json::json!("30"),
        ] {
            assert!(SessionTimeout::from_json(&bad).is_err(), "{bad}");
        }
    }
}
