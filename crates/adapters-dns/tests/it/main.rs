//! The DNS adapter against a real nameserver on 127.0.0.1: hickory-server,
//! started in-process on a free port (UDP and TCP) and serving an in-memory
//! zone whose records each test changes between lookups. Nothing is faked
//! between the adapter and the wire.

mod failures;
mod lookups;

use std::net::SocketAddr;
use std::time::Duration;

use adapters_dns::{DnsConfig, HickoryDns};
use domain::custom_domain::{ChallengePrefix, DomainName};

/// An adapter asking only `nameservers`, each for at most `timeout`.
pub fn resolver(nameservers: Vec<SocketAddr>, timeout: Duration) -> HickoryDns {
    HickoryDns::new(&DnsConfig {
        nameservers,
        timeout,
    })
    .expect("build the resolver")
}

pub fn name(raw: &str) -> DomainName {
    DomainName::parse(raw).expect("a valid name")
}

/// Where the TXT record for `domain` lives under the default prefix.
pub fn challenge(domain: &str) -> DomainName {
    name(domain)
        .challenge_name(&ChallengePrefix::default())
        .expect("short enough")
}
