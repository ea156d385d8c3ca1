//! The SSRF guard: which URLs a webhook may be sent to, and the DNS resolver
//! that makes the check hold at the moment of connecting.
//!
//! A URL must be `https` (or `http` too when private addresses are allowed,
//! for tests and local development), carry no user name or password, and name
//! a host. An IP literal is judged as it stands ([`domain::address`]). A name is
//! resolved by [`GuardedResolver`], the HTTP client's only resolver: it checks
//! every address the name resolves to and hands the client exactly those, so
//! the client connects to nothing else and a DNS answer that changes between
//! a check and the connection (rebinding) cannot slip past. A name with any
//! forbidden address is refused as a whole.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use domain::address::{AddressRange, forbidden_range};

/// Why a URL may not receive webhooks. Its text is safe to show to whoever
/// gave the URL: it never repeats a user name or password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an absolute URL")]
    InvalidUrl,
    #[error("the scheme must be https, not `{scheme}`")]
    Scheme { scheme: String },
    #[error("a webhook URL may not carry a user name or password")]
    UserInfo,
    #[error("the URL names no host")]
    NoHost,
    #[error("`{host}` is {address}, a {range} address, which webhooks may not reach")]
    Address {
        host: String,
        address: IpAddr,
        range: AddressRange,
    },
    #[error("`{host}` does not resolve to an address")]
    Unresolved { host: String },
}

/// The rules of a sender's guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    pub(crate) allow_private: bool,
}

impl Guard {
    /// The URL when its form may receive webhooks and, when its host is an IP
    /// literal, that address may be reached. A name is checked when it is
    /// resolved.
    pub(crate) fn url(self, text: &str) -> Result<Url, Refusal> {
        let url = Url::parse(text).map_err(|_| Refusal::InvalidUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            other => {
                return Err(Refusal::Scheme {
                    scheme: other.to_owned(),
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo);
        }
        match url.host() {
            None => return Err(Refusal::NoHost),
            Some(url::Host::Domain(_)) => {}
            Some(url::Host::Ipv4(v4)) => self.address(&url, IpAddr::V4(v4))?,
            Some(url::Host::Ipv6(v6)) => self.address(&url, IpAddr::V6(v6))?,
        }
        Ok(url)
    }

    fn address(self, url: &Url, address: IpAddr) -> Result<(), Refusal> {
        check(self, url.host_str().unwrap_or_default(), address)
    }

    /// Resolves `host` and checks every address, within `timeout`.
    pub(crate) async fn resolve(
        self,
        host: &str,
        timeout: Duration,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let unresolved = || {
            ResolveError::Unresolved(Refusal::Unresolved {
                host: host.to_owned(),
            })
        };
        let found = tokio::time::timeout(timeout, tokio::net::lookup_host((host, 0)))
            .await
            .map_err(|_| unresolved())?
            .map_err(|_| unresolved())?;
        let addresses: Vec<SocketAddr> = found.collect();
        if addresses.is_empty() {
            return Err(unresolved());
        }
        for address in &addresses {
            check(self, host, address.ip()).map_err(ResolveError::Refused)?;
        }
        Ok(addresses)
    }
}

fn check(guard: Guard, host: &str, address: IpAddr) -> Result<(), Refusal> {
    match forbidden_range(address) {
        Some(range) if !guard.allow_private => Err(Refusal::Address {
            host: host.to_owned(),
            address,
            range,
        }),
        _ => Ok(()),
    }
}

/// A name that could not be used: not resolved, or refused by the guard.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// DNS gave no address (a failure to report, maybe to retry).
    #[error("{0}")]
    Unresolved(Refusal),
    /// An address the name resolved to is forbidden.
    #[error("{0}")]
    Refused(Refusal),
}

/// The HTTP client's DNS resolver: [`Guard::resolve`], so every connection the
/// client opens goes to an address the guard has just checked.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) guard: Guard,
    pub(crate) timeout: Duration,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (guard, timeout) = (self.guard, self.timeout);
        Box::pin(async move {
            let addresses = guard.resolve(name.as_str(), timeout).await?;
            // The client puts the URL's port on each address.
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Guard = Guard {
        allow_private: false,
    };
    const LOOSE: Guard = Guard {
        allow_private: true,
    };

    #[test]
    fn only_https_unless_private_addresses_are_allowed() {
        assert!(STRICT.url("https://example.com/hook").is_ok());
        assert_eq!(
            STRICT.url("http://example.com/hook"),
            Err(Refusal::Scheme {
                scheme: "http".into()
            })
        );
        assert!(LOOSE.url("http://example.com/hook").is_ok());
        for guard in [STRICT, LOOSE] {
            assert_eq!(
                guard.url("ftp://example.com/hook"),
                Err(Refusal::Scheme {
                    scheme: "ftp".into()
                })
            );
            assert_eq!(guard.url("example.com/hook"), Err(Refusal::InvalidUrl));
            assert_eq!(
                guard.url("file:///etc/passwd").unwrap_err(),
                Refusal::Scheme {
                    scheme: "file".into()
                }
            );
        }
    }

    #[test]
    fn user_names_and_passwords_are_refused_and_never_repeated() {
        for guard in [STRICT, LOOSE] {
            for url in [
                "https://user:hunter2@example.com/",
                "https://user@example.com/",
                "https://:hunter2@example.com/",
            ] {
                let refusal = guard.url(url).unwrap_err();
                assert_eq!(refusal, Refusal::UserInfo, "{url}");
                assert!(!refusal.to_string().contains("hunter2"));
            }
        }
    }

    #[test]
    fn ip_literals_are_judged_without_resolving() {
        let refused = STRICT.url("https://169.254.169.254/latest").unwrap_err();
        assert_eq!(
            refused,
            Refusal::Address {
                host: "169.254.169.254".into(),
                address: "169.254.169.254".parse().unwrap(),
                range: AddressRange::LinkLocal
            }
        );
        assert_eq!(
            refused.to_string(),
            "`169.254.169.254` is 169.254.169.254, a link-local address, which webhooks may not reach"
        );
        assert!(matches!(
            STRICT.url("https://[::ffff:7f00:1]:8443/"),
            Err(Refusal::Address {
                range: AddressRange::Loopback,
                ..
            })
        ));
        // Forms the URL parser turns into dotted IPv4.
        assert!(matches!(
            STRICT.url("https://2130706433/"),
            Err(Refusal::Address {
                range: AddressRange::Loopback,
                ..
            })
        ));
        assert!(matches!(
            STRICT.url("https://0x0a.1/"),
            Err(Refusal::Address {
                range: AddressRange::Private,
                ..
            })
        ));
        assert!(STRICT.url("https://93.184.215.14/").is_ok());
        assert!(LOOSE.url("http://127.0.0.1:8080/").is_ok());
    }
}
