//! Who a request comes from (SPEC §5): the client address a tenant's
//! `ipAllowlist` is judged against, and the host a public page is served for.
//!
//! The socket's peer is the client unless it is one of the deployment's
//! [`TrustedProxies`]. Only then are the forwarding headers believed:
//! `X-Forwarded-For` is read from the right (each proxy appends the address
//! it received the request from), skipping trusted proxies, and the first
//! address that is not one is the client. Anything further left was written
//! by the client itself and proves nothing. `X-Forwarded-Host` likewise
//! counts only from a trusted peer.

use std::net::IpAddr;

use crate::settings::Cidr;
use crate::values::InvalidValue;

/// The networks of the reverse proxies in front of the deployment
/// (`TENANCY_TRUSTED_PROXIES`): the only peers whose forwarding headers are
/// believed. Empty by default: every peer is the client itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Most networks a deployment may list.
    pub const MAX_NETWORKS: usize = 100;

    /// Reads a comma-separated list of networks or single addresses
    /// (`10.0.0.0/8, 2001:db8::1`); blank reads as none.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let networks = raw
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Cidr::parse(item).map_err(|e| InvalidValue::new(format!("{item:?} {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        crate::values::check_list_len(networks.len(), Self::MAX_NETWORKS)?;
        Ok(Self(networks))
    }

    /// Whether `peer` is one of the proxies.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(peer))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client of a request that came from `peer` with `forwarded_for`,
    /// the `X-Forwarded-For` entries in the order they stand in the headers
    /// (every header's comma-separated items, first header first).
    ///
    /// From an untrusted peer the headers are ignored. From a trusted one the
    /// entries are walked from the right: trusted proxies are skipped, and the
    /// first other address is the client. When every entry is a trusted proxy,
    /// the leftmost is. An entry that is not an address ends the walk, as the
    /// hops left of it cannot be read: the last address read is the client.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer;
        if !self.trusts(peer) {
            return client;
        }
        for entry in forwarded_for.rev() {
            let Some(hop) = parse_hop(entry) else {
                break;
            };
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }

    /// The host a request from `peer` is for: the last `X-Forwarded-Host`
    /// item (the one the nearest proxy wrote) when the peer is trusted and
    /// sent one, else the `Host` header.
    pub fn host<'a>(
        &self,
        peer: Option<IpAddr>,
        host: Option<&'a str>,
        forwarded_host: Option<&'a str>,
    ) -> Option<&'a str> {
        let forwarded = forwarded_host
            .filter(|_| peer.is_some_and(|peer| self.trusts(peer)))
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim)
            .filter(|value| !value.is_empty());
        forwarded.or(host)
    }
}

/// One `X-Forwarded-For` item: an address, IPv6 possibly in brackets, with a
/// port possibly after it (some proxies write `203.0.113.7:41234`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok();
    }
    let (ip, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn proxies(raw: &str) -> TrustedProxies {
        TrustedProxies::parse(raw).unwrap()
    }

    #[test]
    fn the_list_reads_networks_and_addresses_and_names_a_bad_item() {
        let list = proxies(" 10.0.0.0/8, 2001:db8::1 ,");
        assert!(list.trusts(ip("10.1.2.3")));
        assert!(list.trusts(ip("2001:db8::1")));
        assert!(!list.trusts(ip("2001:db8::2")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let error = TrustedProxies::parse("10.0.0.0/8, nope").unwrap_err();
        assert!(error.to_string().contains("\"nope\""), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let list = proxies("10.0.0.0/8");
        let forwarded = ["198.51.100.1"];
        assert_eq!(
            list.client(ip("203.0.113.9"), forwarded.into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), forwarded.into_iter()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_is_read_from_the_right_past_trusted_hops() {
        let list = proxies("10.0.0.0/8");
        let client = |entries: &[&str]| list.client(ip("10.0.0.1"), entries.iter().copied());
        // The client forged the leftmost entry; the proxy appended the truth.
        assert_eq!(client(&["1.1.1.1", "203.0.113.9"]), ip("203.0.113.9"));
        // Two proxies: the inner one is skipped.
        assert_eq!(client(&["203.0.113.9", "10.0.0.7"]), ip("203.0.113.9"));
        // Nothing forwarded: the proxy itself.
        assert_eq!(client(&[]), ip("10.0.0.1"));
        // Only proxies: the leftmost.
        assert_eq!(client(&["10.0.0.3", "10.0.0.7"]), ip("10.0.0.3"));
        // Garbage ends the walk at the last address read.
        assert_eq!(client(&["203.0.113.9", "junk", "10.0.0.7"]), ip("10.0.0.7"));
        assert_eq!(client(&["junk"]), ip("10.0.0.1"));
        // Ports and brackets.
        assert_eq!(client(&["203.0.113.9:4711"]), ip("203.0.113.9"));
        assert_eq!(client(&["[2001:db8::9]:4711"]), ip("2001:db8::9"));
        assert_eq!(client(&[" 2001:db8::9 "]), ip("2001:db8::9"));
    }

    #[test]
    fn the_forwarded_host_counts_only_from_a_trusted_peer() {
        let list = proxies("10.0.0.0/8");
        let host = Some("acme.example");
        let forwarded = Some("evil.example, login.acme.com");
        assert_eq!(
            list.host(Some(ip("10.0.0.1")), host, forwarded),
            Some("login.acme.com")
        );
        assert_eq!(list.host(Some(ip("203.0.113.9")), host, forwarded), host);
        assert_eq!(list.host(None, host, forwarded), host);
        assert_eq!(list.host(Some(ip("10.0.0.1")), host, Some(" ")), host);
        assert_eq!(list.host(Some(ip("10.0.0.1")), host, None), host);
    }
}
