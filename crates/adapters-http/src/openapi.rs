//! The OpenAPI document: its description, security schemes and shared
//! responses, assembled from the route table in `routes.rs`, where every
//! endpoint is registered once, so the document cannot list a route that does
//! not exist or miss one that does. Also the handlers that serve it
//! (`/openapi.json`, `/docs`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{self as oa, Ref, RefOr};
use utoipa_scalar::Scalar;

use crate::problem::{Code, Extensions, FieldError, ProblemDocument};
use crate::{AppState, api_keys};

/// The bearer scheme of the platform admin token.
pub(crate) const ADMIN_TOKEN: &str = "adminToken";
/// The bearer scheme of org keys.
pub(crate) const ORG_KEY: &str = "orgKey";
/// The bearer scheme of namespace keys; requirements name the scope needed.
pub(crate) const NAMESPACE_KEY: &str = "namespaceKey";

/// The two groups of routes and the document describing both.
pub(crate) struct Api {
    /// Routes that need a bearer token, each already guarded by its [`Access`].
    pub authenticated: Router<AppState>,
    /// Routes anyone may call.
    pub public: Router<AppState>,
    pub document: oa::OpenApi,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenancy",
        description = "A multi-tenant control plane: orgs, their tenants and the tenants' \
            namespaces, with a lifecycle (suspend, reactivate, deactivate, restore, delete), \
            scoped API keys and an audit trail.\n\n\
            Authenticate with `Authorization: Bearer <token>`: the platform admin token, \
            an org key (`/v1/orgs/{org}/...` of its own org) or a namespace key \
            (`/v1/tenant`, `/v1/namespace/...`, within its scopes). Each operation lists \
            the schemes it accepts; a namespace key needs the scope named there.\n\n\
            Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`."
    ),
    tags(
        (name = "orgs", description = "Orgs: the SaaS builders that own tenants."),
        (name = "tenants", description = "Provisioning and the tenant inventory."),
        (name = "lifecycle", description = "Suspend, reactivate, deactivate, restore and delete."),
        (name = "namespaces", description = "Isolation units inside a tenant."),
        (name = "api-keys", description = "Org and namespace keys: issue, list, revoke, rotate, verify."),
        (name = "namespace-key", description = "What a namespace key reaches: its own tenant, \
            namespace and keys. The key decides which; no ids in the path."),
        (name = "library", description = "Shared, versioned blueprints: an org publishes \
            listings and grants them to namespaces; a namespace key keeps its own resources, \
            tries granted listings in place (a pin to one version, moved only by upgrade) and \
            customizes them into forks that record where they came from. Revoking a grant \
            hides the listing and stops new installs; existing pins keep resolving."),
        (name = "secrets", description = "Tenant secrets (integration credentials: SMTP, SSO, \
            webhook secrets), stored only encrypted with the tenant's data key (AES-256-GCM, \
            bound to the tenant, the name and the version). Reads show `****`, never a \
            character of the value; `?reveal=true` shows the value and is audited. A \
            namespace key needs `secrets:read` to read, `secrets:reveal` to write or \
            delete, and both to reveal; only a live key restricted to no resources may \
            use `secrets:reveal`, and only the `admin` role holds either. Deleting the tenant \
            destroys its data key, and with it every copy of its secrets."),
        (name = "domains", description = "A tenant's custom domain (one per tenant): added \
            pending, verified when the TXT record the answer names holds its token, failed \
            after 7 days without it. A verified domain names its tenant on \
            `GET /v1/public/tenant`."),
        (name = "audit", description = "Who did what, when, and why."),
        (name = "events", description = "What happened, for the builder's systems: the pull feed, and the webhooks that push the same events."),
        (name = "regions", description = "Where tenants can live."),
        (name = "health", description = "Probes for orchestrators."),
        (name = "meta", description = "This document and its browsable rendering."),
    ),
    components(
        schemas(ProblemDocument, Code, FieldError, Extensions, api_keys::ScopeName),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::IdempotencyKeyReused,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::SearchTooBroad,
            responses::TooManyRequests,
            responses::Unavailable,
            responses::NotReady,
        ),
    ),
    modifiers(&BearerSchemes),
)]
struct ApiDoc;

/// Declares the three bearer schemes.
struct BearerSchemes;

impl utoipa::Modify for BearerSchemes {
    fn modify(&self, openapi: &mut oa::OpenApi) {
        let components = openapi.components.get_or_insert_with(oa::Components::new);
        for (name, description) in [
            (
                ADMIN_TOKEN,
                "The platform admin token, as `Authorization: Bearer <token>`.",
            ),
            (
                ORG_KEY,
                "An org key (`{prefix}_org_...`): manages its own org and everything in it.",
            ),
            (
                NAMESPACE_KEY,
                "A namespace key (`{prefix}_live_...` or `{prefix}_test_...`): acts in its \
                 own namespace, within its scopes (listed per operation).",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// Builds both route groups and the document.
pub(crate) fn api() -> Api {
    let (authenticated, authenticated_paths) =
        crate::routes::authenticated_routes().split_for_parts();
    let (public, public_paths) = crate::routes::public_routes().split_for_parts();
    let mut document = ApiDoc::openapi();
    document.merge(authenticated_paths);
    document.merge(public_paths);
    for operation in document.paths.paths.values_mut().flat_map(operations) {
        if operation.request_body.is_some() {
            add_response(operation, "400", "BadRequest");
            add_response(operation, "413", "PayloadTooLarge");
            add_response(operation, "415", "UnsupportedMediaType");
        }
    }
    Api {
        authenticated,
        public,
        document,
    }
}

pub(crate) fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

pub(crate) fn add_response(operation: &mut Operation, status: &str, component: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
}

/// The document as served, rendered once.
#[derive(Debug)]
pub(crate) struct Published {
    json: Bytes,
    html: String,
}

impl Published {
    pub(crate) fn new(document: oa::OpenApi) -> Self {
        let json = document
            .to_pretty_json()
            .expect("an OpenAPI document always serializes");
        Self {
            json: Bytes::from(json),
            // The page embeds the same document /openapi.json serves.
            html: Scalar::new(document).to_html(),
        }
    }
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        state.docs.json.clone(),
    )
}

/// A browsable rendering of the OpenAPI document.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "getDocsPage",
    tag = "meta",
    responses((status = 200, description = "An HTML page.", content_type = "text/html", body = String))
)]
pub(crate) async fn docs(State(state): State<AppState>) -> Html<String> {
    Html(state.docs.html.clone())
}

/// Reusable problem responses, referenced as `response = BadRequest` in
/// `#[utoipa::path]` and registered as components above.
pub(crate) mod responses {
    use utoipa::ToResponse;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

    use crate::problem::PROBLEM_JSON;

    fn problem_response(description: &str) -> RefOr<Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
            .into()
    }

    macro_rules! problem_responses {
        ($($name:ident => $description:literal,)*) => {$(
            /// Names a problem response in the document; never built.
            #[derive(Debug)]
            pub(crate) enum $name {}

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    (stringify!($name), problem_response($description))
                }
            }
        )*};
    }

    problem_responses! {
        BadRequest => "The request is invalid: `validation_failed` (see `errors`), \
            `malformed_json`, `invalid_query`, `invalid_cursor`, `confirmation_required`, \
            `unknown_region`, `region_unavailable`, `duplicate_namespace` or `invalid_metadata`.",
        Unauthorized => "`unauthorized`: the bearer token is missing, malformed, unknown, \
            revoked or expired; `reason` says which.",
        Forbidden => "The caller may not do this: `forbidden` (the wrong kind of key for \
            this endpoint), `missing_scope` (see `scope`), `scope_escalation`, or the key's \
            tenant is `tenant_suspended` or `tenant_deactivated`.",
        NotFound => "`not_found`: no resource has this key or id, or none the caller may see.",
        Conflict => "The request conflicts with the current state: `key_taken`, `conflict` \
            (same key, other specification; see `tenantId`), `invalid_transition` (see \
            `currentState` and `action`), `tenant_deleted`, `tenant_not_active`, \
            `key_inactive`, or `idempotency_in_progress` (the first request with this \
            `Idempotency-Key` is still running; retry after `Retry-After` seconds).",
        IdempotencyKeyReused => "`idempotency_key_reused`: this `Idempotency-Key` was first \
            sent with another request (method, path or body).",
        PayloadTooLarge => "`payload_too_large`: the body is over 1 MiB.",
        UnsupportedMediaType => "`unsupported_media_type`: the body is not sent as JSON.",
        SearchTooBroad => "`search_too_broad`: the listing examined more tenants than one \
            query may and was stopped; narrow the search.",
        TooManyRequests => "`rate_limited`: the caller has as many of these requests running \
            as it may; retry after `Retry-After` seconds.",
        Unavailable => "`unavailable`: a dependency failed; `overloaded`: the server is \
            handling as many requests as it allows at once; `timed_out`: the request ran past \
            the server's request timeout and was stopped. Retry after `Retry-After` seconds.",
        NotReady => "`not_ready`: the server cannot reach a dependency (its database) right \
            now; retry after `Retry-After` seconds.",
    }
}
