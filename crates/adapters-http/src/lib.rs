//! # Tenancy's HTTP API
//!
//! The axum adapter in front of [`domain::Tenancy`]: JSON endpoints under `/v1`
//! (docs/api.md §6), RFC 9457 problems for every error, bearer authentication (the
//! platform admin token and API keys) with per-route authorization, request ids,
//! tracing, and an OpenAPI 3.1 document generated from the handlers.
//!
//! [`router`] builds the whole service; [`openapi()`] returns the same document the
//! router serves at `/openapi.json`, for tools that want it without a server.
//!
//! Code map:
//! - `orgs`, `tenants`, `namespaces`, `api_keys`, `library`, `audit`, `events`, `regions`, `health`: one
//!   module per resource, each with its handlers and its request/response bodies;
//! - `verify`: `POST /v1/keys/verify`, the hot path;
//! - `export`: a tenant's data streamed as NDJSON;
//! - `openapi`: which routes exist, who may call each (and with which scope), and
//!   the document;
//! - `problem`: error codes, domain error translation, rendering;
//! - `extract`, `validate`, `page`: turning raw requests into domain values;
//! - `auth`, `request_id`, `telemetry`, `limits`: the cross-cutting layers;
//! - `serve`: the HTTP server itself, with its connection limits.

mod api_keys;
mod audit;
mod audit_chain;
mod auth;
mod client;
mod domains;
mod events;
mod export;
mod extract;
mod fields;
mod health;
mod idempotency;
mod library;
mod limits;
mod members;
mod namespaces;
mod openapi;
mod orgs;
mod page;
mod problem;
mod public;
mod regions;
mod registrations;
mod request_id;
mod routes;
mod secrets;
mod serve;
mod settings;
mod telemetry;
mod tenants;
mod validate;
mod verify;
mod webhooks;

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use domain::Tenancy;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::AdminToken;
pub use crate::health::Readiness;
pub use crate::limits::{RequestLimitLayer, RequestLimits};
pub use crate::registrations::RegistrationRate;
pub use crate::serve::{ConnectionLimits, serve};

/// Largest request body accepted (docs/security.md): 1 MiB.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// What the HTTP adapter needs from configuration.
pub struct HttpConfig {
    /// The platform admin bearer token (compared in constant time; never logged).
    /// Every other bearer token is verified as an API key.
    pub admin_token: String,
    /// When set, tenant responses include `subdomain: "{tenant key}.{base_domain}"`.
    pub base_domain: Option<String>,
    /// The reverse proxies whose `X-Forwarded-For` (the client address a
    /// tenant's IP allowlist judges) and `X-Forwarded-Host` are believed.
    pub trusted_proxies: domain::TrustedProxies,
    /// Asked by `/readyz` at every probe; `None`: ready as soon as the router runs.
    pub readiness: Option<Arc<dyn Readiness>>,
    /// How long a request may run and how many may run at once.
    pub limits: RequestLimits,
    /// How many registration requests one client address may make.
    pub registration_rate: RegistrationRate,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("admin_token", &"<redacted>")
            .field("base_domain", &self.base_domain)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("readiness", &self.readiness.is_some())
            .field("limits", &self.limits)
            .field("registration_rate", &self.registration_rate)
            .finish()
    }
}

/// What every handler can reach. One `Arc`: axum clones the state for every
/// extractor and middleware of every request, so a clone must be a single
/// reference count, not one per port (it showed in the verification profile).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub tenancy: Tenancy,
    pub admin: AdminToken,
    pub base_domain: Option<Arc<str>>,
    pub trusted_proxies: domain::TrustedProxies,
    pub docs: Arc<openapi::Published>,
    pub readiness: Option<Arc<dyn Readiness>>,
    /// Self-service registration's budget per client address.
    pub registration_limiter: registrations::RegistrationLimiter,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole HTTP service: every route, its middleware, the OpenAPI document at
/// `/openapi.json` and a browsable rendering of it at `/docs`.
pub fn router(tenancy: Tenancy, config: HttpConfig) -> Router {
    if config.admin_token.is_empty() {
        tracing::warn!("the admin token is empty: only API keys will be accepted");
    }
    let api = openapi::api();
    let docs = openapi::Published::new(fields::with_regions(
        api.document,
        &tenancy.settings().regions,
    ));
    let state = AppState(Arc::new(Shared {
        tenancy,
        admin: AdminToken::new(&config.admin_token),
        base_domain: config.base_domain.filter(|d| !d.is_empty()).map(Arc::from),
        trusted_proxies: config.trusted_proxies,
        docs: Arc::new(docs),
        readiness: config.readiness,
        registration_limiter: registrations::RegistrationLimiter::new(config.registration_rate),
    }));
    // Around each route's own guard: authentication runs first.
    let authenticated = api
        .authenticated
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    authenticated
        .merge(api.public)
        .fallback(problem::route_not_found)
        // After every route: it sets the fallback of the routes registered so far.
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(
            // Outermost first.
            ServiceBuilder::new()
                // Secrets travel in responses (a tenant's first key, a new or
                // rotated key, a revealed secret, their idempotent replays):
                // no cache, shared or private, may keep any response. Every
                // response rather than a list of the secret ones, so that none
                // is forgotten; a static header costs nothing to add.
                .layer(SetResponseHeaderLayer::if_not_present(
                    CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(middleware::from_fn(request_id::drop_unacceptable))
                .layer(SetRequestIdLayer::new(request_id::HEADER, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id::HEADER))
                .layer(telemetry::trace_layer())
                .layer(middleware::from_fn(problem::finish))
                .layer(CatchPanicLayer::custom(telemetry::panic_response))
                // Inside `finish` and the trace: a refused or stopped request
                // is logged and its problem carries the request id.
                .layer(config.limits.layer())
                .layer(middleware::from_fn(refuse_oversized_bodies))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

/// The OpenAPI 3.1 document of [`router`]'s API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::api().document
}

/// Refuses a body announced as too large before reading any of it. Bodies without
/// a length (chunked) are cut at the same size by `DefaultBodyLimit` when read.
async fn refuse_oversized_bodies(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return problem::payload_too_large().into_response();
    }
    next.run(request).await
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("base_domain", &self.base_domain)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_never_shows_the_admin_token() {
        let config = HttpConfig {
            admin_token: "super-secret".to_owned(),
            base_domain: Some("tenancy.example".to_owned()),
            trusted_proxies: domain::TrustedProxies::default(),
            readiness: None,
            limits: RequestLimits::default(),
            registration_rate: RegistrationRate::default(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("tenancy.example"), "{shown}");
    }
}
