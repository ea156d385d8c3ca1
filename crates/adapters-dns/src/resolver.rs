//! [`HickoryDns`]: the resolver, its configuration and how it is built.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use domain::custom_domain::DomainName;
use domain::ports::{DnsFailure, DnsResolver};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Name, Resolver, ResolverBuilder, TokioResolver};

use crate::answers;

/// Where and how long to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// The nameservers to ask (recursive resolvers, or the zone's own servers),
    /// each over UDP and, for truncated answers, TCP. Empty: the system's
    /// (resolv.conf on Unix).
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one nameserver's answer.
    pub timeout: Duration,
}

impl Default for DnsConfig {
    /// The system's nameservers, five seconds each (resolv.conf's default).
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why a resolver could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No nameserver was configured and the system's configuration could not
    /// be read.
    #[error("reading the system's DNS configuration: {0}")]
    SystemConfig(String),
}

/// The [`DnsResolver`] on hickory-resolver. Cheap to share behind an `Arc`;
/// it must be used inside a tokio runtime.
pub struct HickoryDns {
    resolver: TokioResolver,
}

impl HickoryDns {
    /// A resolver asking `config.nameservers`, or the system's when there are
    /// none.
    pub fn new(config: &DnsConfig) -> Result<Self, BuildError> {
        let builder = if config.nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| BuildError::SystemConfig(e.to_string()))?
        } else {
            let mut servers = ResolverConfig::new();
            for addr in &config.nameservers {
                servers.add_name_server(NameServerConfig::new(*addr, Protocol::Udp));
                servers.add_name_server(NameServerConfig::new(*addr, Protocol::Tcp));
            }
            Resolver::builder_with_config(servers, TokioConnectionProvider::default())
        };
        Ok(Self {
            resolver: with_options(builder, config.timeout).build(),
        })
    }
}

/// Our options over the system's (or the defaults): what this resolver is for
/// is seeing the zone as it is now, once per check.
fn with_options(
    mut builder: ResolverBuilder<TokioConnectionProvider>,
    timeout: Duration,
) -> ResolverBuilder<TokioConnectionProvider> {
    let options: &mut ResolverOpts = builder.options_mut();
    options.timeout = timeout;
    // No retry after a failed pass over the nameservers: each is asked once,
    // and the background job's backoff decides when to ask again.
    options.attempts = 0;
    // No cache, positive or negative: a cache of size 0 keeps nothing, and
    // TTL bounds of zero make anything kept stale at once. Either alone passes
    // the tests (which fail without both); both, so that a change in how
    // hickory bounds its cache or reads TTLs cannot bring caching back.
    options.cache_size = 0;
    options.positive_min_ttl = None;
    options.negative_min_ttl = None;
    options.positive_max_ttl = Some(Duration::ZERO);
    options.negative_max_ttl = Some(Duration::ZERO);
    // EDNS(0), as every modern resolver: answers up to the advertised size
    // come over UDP, and larger ones arrive truncated and are asked again over
    // TCP. (Without it the buffer is 512 bytes, and a server that ignores that
    // limit, as some do, sends a datagram the resolver cannot read.)
    options.edns0 = true;
    // The zone is what counts, never a local hosts file.
    options.use_hosts_file = ResolveHosts::Never;
    builder
}

#[async_trait]
impl DnsResolver for HickoryDns {
    async fn txt(&self, name: &DomainName) -> Result<Vec<String>, DnsFailure> {
        // Fully qualified (the trailing dot), so no search domain is appended.
        let Ok(fqdn) = Name::from_ascii(format!("{name}.")) else {
            // A `DomainName` is always a valid DNS name; should hickory still
            // refuse one, no lookup was possible, which the check records as
            // a failure to answer rather than a fault of the operator's zone.
            return Err(DnsFailure::ServFail);
        };
        match self.resolver.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(answers::texts(&lookup)),
            Err(error) => answers::failure(&error),
        }
    }
}
