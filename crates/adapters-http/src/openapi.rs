//! The route table and the OpenAPI document, built from the same registrations.
//!
//! Every endpoint is registered here through utoipa-axum, once: the axum route and
//! its OpenAPI operation come from the same `#[utoipa::path]`, so the document
//! cannot list a route that does not exist or miss one that does. Routes sit in
//! one of two groups: `admin_routes` (the router puts the admin-token check in
//! front of all of them, and this module marks all of them with the `adminToken`
//! security requirement) and `public_routes`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{self as oa, Ref, RefOr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_scalar::Scalar;

use crate::problem::{Code, Extensions, FieldError, ProblemDocument};
use crate::{AppState, audit, health, namespaces, orgs, regions, tenants};

/// The name of the admin bearer scheme in the document.
pub(crate) const ADMIN_TOKEN: &str = "adminToken";

/// The two groups of routes and the document describing both.
pub(crate) struct Api {
    /// Routes that need the admin token.
    pub admin: Router<AppState>,
    /// Routes anyone may call.
    pub public: Router<AppState>,
    pub document: oa::OpenApi,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenancy",
        description = "A multi-tenant control plane: orgs, their tenants and the tenants' \
            namespaces, with a lifecycle (suspend, reactivate, deactivate, restore, delete) \
            and an audit trail.\n\nErrors are RFC 9457 problems \
            (`application/problem+json`) with a stable `code`."
    ),
    tags(
        (name = "orgs", description = "Orgs: the SaaS builders that own tenants."),
        (name = "tenants", description = "Provisioning and the tenant inventory."),
        (name = "lifecycle", description = "Suspend, reactivate, deactivate, restore and delete."),
        (name = "namespaces", description = "Isolation units inside a tenant."),
        (name = "audit", description = "Who did what, when, and why."),
        (name = "regions", description = "Where tenants can live."),
        (name = "health", description = "Probes for orchestrators."),
        (name = "meta", description = "This document and its browsable rendering."),
    ),
    components(
        schemas(ProblemDocument, Code, FieldError, Extensions),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::Unavailable,
        ),
    ),
    modifiers(&AdminTokenScheme),
)]
struct ApiDoc;

/// Declares the `adminToken` bearer scheme.
struct AdminTokenScheme;

impl utoipa::Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut oa::OpenApi) {
        let components = openapi.components.get_or_insert_with(oa::Components::new);
        components.add_security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The platform admin token, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(orgs::create, orgs::list))
        .routes(routes!(orgs::get, orgs::update))
        .routes(routes!(tenants::inventory))
        .routes(routes!(tenants::provision, tenants::org_inventory))
        .routes(routes!(tenants::get, tenants::update, tenants::delete))
        .routes(routes!(tenants::set_owner))
        .routes(routes!(tenants::suspend))
        .routes(routes!(tenants::reactivate))
        .routes(routes!(tenants::deactivate))
        .routes(routes!(tenants::restore))
        .routes(routes!(namespaces::create, namespaces::list))
        .routes(routes!(namespaces::get, namespaces::update))
        .routes(routes!(audit::list))
}

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(regions::list))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(docs))
}

/// Builds both route groups and the document.
pub(crate) fn api() -> Api {
    let (admin, mut admin_paths) = admin_routes().split_for_parts();
    for operation in admin_paths.paths.paths.values_mut().flat_map(operations) {
        operation.security = Some(vec![SecurityRequirement::new(
            ADMIN_TOKEN,
            Vec::<String>::new(),
        )]);
        add_response(operation, "401", "Unauthorized");
        // Every admin route reaches the store.
        add_response(operation, "503", "Unavailable");
    }
    let (public, public_paths) = public_routes().split_for_parts();
    let mut document = ApiDoc::openapi();
    document.merge(admin_paths);
    document.merge(public_paths);
    for operation in document.paths.paths.values_mut().flat_map(operations) {
        if operation.request_body.is_some() {
            add_response(operation, "400", "BadRequest");
            add_response(operation, "413", "PayloadTooLarge");
            add_response(operation, "415", "UnsupportedMediaType");
        }
    }
    Api {
        admin,
        public,
        document,
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
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

fn add_response(operation: &mut Operation, status: &str, component: &str) {
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
async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
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
async fn docs(State(state): State<AppState>) -> Html<String> {
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
        Unauthorized => "`unauthorized`: the admin bearer token is missing or wrong.",
        Forbidden => "`forbidden`: the caller may not do this.",
        NotFound => "`not_found`: no resource has this key or id.",
        Conflict => "The request conflicts with the current state: `key_taken`, `conflict` \
            (same key, other specification; see `tenantId`), `invalid_transition` (see \
            `currentState` and `action`), `tenant_deleted` or `tenant_not_active`.",
        PayloadTooLarge => "`payload_too_large`: the body is over 1 MiB.",
        UnsupportedMediaType => "`unsupported_media_type`: the body is not sent as JSON.",
        Unavailable => "`unavailable`: a dependency failed; retry after `Retry-After` seconds.",
    }
}
