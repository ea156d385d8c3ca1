//! Who sent a request: the client address ([`ClientAddress`]) and the host it
//! is for ([`request_host`]), with the forwarding headers believed only from
//! the deployment's trusted proxies (the domain's rule,
//! [`domain::TrustedProxies`]).
//!
//! The socket's peer comes from [`serve`](crate::serve), which puts a
//! [`ConnectInfo`] in every request's extensions. A router driven some other
//! way (a test calling it in process) has none: its requests have no known
//! client, which a tenant's IP allowlist refuses.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::http::request::Parts;

use crate::AppState;

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";
/// The header a proxy names the host it was asked for in.
const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// The request's client address: the socket's peer, or what a trusted proxy
/// forwarded; `None` when the request came through no socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// The client of a request with these `extensions` and `headers`.
    pub(crate) fn of(
        state: &AppState,
        extensions: &axum::http::Extensions,
        headers: &HeaderMap,
    ) -> Self {
        let Some(peer) = peer(extensions) else {
            return Self(None);
        };
        let forwarded = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','));
        Self(Some(state.trusted_proxies.client(peer, forwarded)))
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state, &parts.extensions, &parts.headers))
    }
}

/// The socket's peer, as `serve` recorded it.
fn peer(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())
}

/// The host a request is for: `X-Forwarded-Host` from a trusted proxy, else
/// `Host`; empty when neither is readable.
pub(crate) fn request_host<'a>(state: &AppState, parts: &'a Parts) -> &'a str {
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|value: &axum::http::HeaderValue| value.to_str().ok())
    };
    state
        .trusted_proxies
        .host(
            peer(&parts.extensions),
            header(HOST.as_str()),
            header(X_FORWARDED_HOST),
        )
        .unwrap_or("")
}
