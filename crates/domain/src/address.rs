//! Which IP addresses a webhook may never reach: the ranges of the SSRF guard.
//!
//! The rule is a table per address family, read top to bottom, each row a
//! network and the kind of range it is; an address in no row is a public
//! unicast address and may be a target. A table rather than the standard
//! library's `is_global`, which is unstable, and so the rule reads at a glance.
//! IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
//! `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by that address, as
//! the network would deliver them to it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of range a refused address lies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRange {
    Unspecified,
    Loopback,
    /// RFC 1918, and IPv6 site-local (deprecated).
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    Shared,
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    Broadcast,
    Multicast,
    Documentation,
    /// Set aside by IANA (protocol assignments, benchmarking, future use, ...).
    Reserved,
}

impl AddressRange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::Shared => "shared (carrier-grade NAT)",
            Self::LinkLocal => "link-local",
            Self::UniqueLocal => "unique-local",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

use AddressRange::*;

/// IPv4 networks no webhook may reach, most specific first.
const V4: &[([u8; 4], u8, AddressRange)] = &[
    ([255, 255, 255, 255], 32, Broadcast),
    ([0, 0, 0, 0], 8, Unspecified),
    ([10, 0, 0, 0], 8, Private),
    ([100, 64, 0, 0], 10, Shared),
    ([127, 0, 0, 0], 8, Loopback),
    ([169, 254, 0, 0], 16, LinkLocal),
    ([172, 16, 0, 0], 12, Private),
    ([192, 0, 0, 0], 24, Reserved),
    ([192, 0, 2, 0], 24, Documentation),
    ([192, 88, 99, 0], 24, Reserved),
    ([192, 168, 0, 0], 16, Private),
    ([198, 18, 0, 0], 15, Reserved),
    ([198, 51, 100, 0], 24, Documentation),
    ([203, 0, 113, 0], 24, Documentation),
    ([224, 0, 0, 0], 4, Multicast),
    ([240, 0, 0, 0], 4, Reserved),
];

/// IPv6 networks no webhook may reach, most specific first. The forms that
/// embed an IPv4 address are handled before this table.
const V6: &[(u128, u8, AddressRange)] = &[
    (0, 128, Unspecified),
    (1, 128, Loopback),
    // IPv4-compatible addresses (deprecated) and the rest of ::/96.
    (0, 96, Reserved),
    (0x0064_ff9b_0001 << 80, 48, Reserved),
    (0x0100 << 112, 64, Reserved),
    (0x2001 << 112, 23, Reserved),
    (0x2001_0db8 << 96, 32, Documentation),
    (0x3fff << 112, 20, Documentation),
    (0xfc00 << 112, 7, UniqueLocal),
    (0xfe80 << 112, 10, LinkLocal),
    (0xfec0 << 112, 10, Private),
    (0xff00 << 112, 8, Multicast),
];

/// The range `address` lies in when no webhook may reach it; `None` for a
/// public unicast address.
pub fn forbidden_range(address: IpAddr) -> Option<AddressRange> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => forbidden_v4(v4),
            None => {
                let bits = u128::from(v6);
                V6.iter()
                    .find(|(network, len, _)| within(bits, *network, *len, 128))
                    .map(|(_, _, range)| *range)
            }
        },
    }
}

fn forbidden_v4(address: Ipv4Addr) -> Option<AddressRange> {
    let bits = u128::from(u32::from(address));
    V4.iter()
        .find(|(network, len, _)| within(bits, u128::from(u32::from_be_bytes(*network)), *len, 32))
        .map(|(_, _, range)| *range)
}

/// Whether the first `len` of `width` bits of `bits` are those of `network`.
fn within(bits: u128, network: u128, len: u8, width: u32) -> bool {
    let shift = width - u32::from(len);
    bits.checked_shr(shift).unwrap_or(0) == network.checked_shr(shift).unwrap_or(0)
}

/// The IPv4 address an IPv6 address delivers to: IPv4-mapped
/// (`::ffff:0:0/96`), NAT64's well-known prefix (`64:ff9b::/96`) and 6to4
/// (`2002::/16`, the IPv4 address in bits 16 to 48).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(address);
    if let Some(v4) = address.to_ipv4_mapped() {
        return Some(v4);
    }
    if within(bits, 0x0064_ff9b << 96, 96, 128) {
        // Truncation keeps the low 32 bits, the embedded address.
        return Some(Ipv4Addr::from(bits as u32));
    }
    if within(bits, 0x2002 << 112, 16, 128) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Option<AddressRange> {
        forbidden_range(text.parse().expect("an IP address"))
    }

    #[test]
    fn every_forbidden_kind_is_refused_at_its_edges() {
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.255.255.255", Unspecified),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.64.0.1", Shared),
            ("100.127.255.255", Shared),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.169.254", LinkLocal),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.168.1.1", Private),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Broadcast),
            ("::", Unspecified),
            ("::1", Loopback),
            ("::127.0.0.1", Reserved),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", LinkLocal),
            ("64:ff9b::a00:1", Private),
            ("64:ff9b:1::1", Reserved),
            ("2002:7f00:1::", Loopback),
            ("2002:c0a8:101::1", Private),
            ("100::1", Reserved),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
        ];
        for (address, expected) in cases {
            assert_eq!(range(address), Some(expected), "{address}");
        }
    }

    #[test]
    fn public_addresses_next_to_forbidden_ranges_pass() {
        for address in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "fbff:ffff::1",
        ] {
            assert_eq!(range(address), None, "{address}");
        }
    }
}
