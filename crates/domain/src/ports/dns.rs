//! The DNS lookups that verify a custom domain ([`crate::custom_domain`]).

use async_trait::async_trait;

use crate::custom_domain::DomainName;

/// Why a lookup got no records to look at. A name that exists without TXT
/// records is not a failure: it answers `Ok(vec![])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    /// The name does not exist (NXDOMAIN).
    #[error("the name does not exist")]
    NxDomain,
    /// The nameservers failed (SERVFAIL), refused the query (REFUSED), answered
    /// with another error, or could not be reached.
    #[error("the nameservers failed to answer")]
    ServFail,
    /// No nameserver answered within the configured time.
    #[error("no nameserver answered in time")]
    Timeout,
}

/// Looks up DNS records as the world sees them now.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait DnsResolver: Send + Sync {
    /// The TXT records at `name`, one string each: a record's character
    /// strings joined without separator (how long values are split into
    /// 255-byte pieces), bytes that are not UTF-8 replaced. Implementations
    /// MUST NOT answer from a cache, positive or negative: a record the
    /// operator has just created (or changed) must be seen by the very next
    /// call. `Ok(vec![])` when the name exists without TXT records; a
    /// [`DnsFailure`] otherwise when no records could be read.
    async fn txt(&self, name: &DomainName) -> Result<Vec<String>, DnsFailure>;
}
