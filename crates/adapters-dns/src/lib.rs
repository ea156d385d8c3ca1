//! Looks up the TXT records that verify a tenant's custom domain: the
//! [`domain::ports::DnsResolver`] port on `hickory-resolver`, over plain DNS
//! (UDP, and TCP when an answer is truncated) on tokio.
//!
//! - `resolver.rs`: [`HickoryDns`], built from a [`DnsConfig`] (the
//!   nameservers to ask, or the system's resolv.conf; a timeout). It keeps no
//!   cache at all, positive or negative, so a record the operator has just
//!   created is seen by the very next check, and it asks each nameserver once
//!   per lookup: the background job's backoff is the retry.
//! - `answers.rs`: how hickory's answers and errors become the port's
//!   [`DnsFailure`](domain::ports::DnsFailure)s: NXDOMAIN, SERVFAIL (and
//!   REFUSED, or any other error code, or no nameserver reachable) and
//!   timeouts; a name without TXT records is an empty answer, not a failure.
//! - `testing.rs` (feature `testing`): `testing::Nameserver`, a real
//!   authoritative nameserver on 127.0.0.1 whose zone a test changes, and a
//!   silent one, for tests here and in the crates that verify domains.

mod answers;
mod resolver;
#[cfg(feature = "testing")]
pub mod testing;

pub use resolver::{BuildError, DnsConfig, HickoryDns};
