//! `GET /v1/public/tenant`: the tenant a request's `Host` names (its subdomain
//! under the deployment's base domain) and its public branding, for its
//! login page. Public: no token. Unknown hosts and tenants that are not
//! active are `404` alike.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::openapi::responses::NotFound;
use crate::problem::{Code, Problem};
use crate::settings::BrandingSchema;

/// A tenant as its own pages show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PublicTenant)]
pub(crate) struct PublicTenantView {
    #[schema(example = "acme")]
    key: String,
    #[schema(example = "Acme Corp")]
    name: String,
    /// The tenant's branding over its org's defaults.
    #[schema(value_type = BrandingSchema)]
    branding: Value,
}

/// The tenant this request's host names, with its branding.
#[utoipa::path(
    get,
    path = "/v1/public/tenant",
    operation_id = "getPublicTenant",
    tag = "public",
    params(
        ("Host" = String, Header, description = "The tenant's subdomain, `{key}.{base domain}`."),
        ("X-Forwarded-Host" = Option<String>, Header, description = "The host a trusted proxy \
            (`TENANCY_TRUSTED_PROXIES`) was asked for; ignored from any other peer."),
    ),
    responses(
        (status = 200, description = "The tenant and its branding.", body = PublicTenantView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn tenant(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Json<PublicTenantView>, Problem> {
    let host = crate::client::request_host(&state, &parts);
    let found =
        state.tenancy.public_tenant(host).await?.ok_or_else(|| {
            Problem::new(Code::NotFound, "No active tenant is served at this host.")
        })?;
    Ok(Json(PublicTenantView {
        key: found.key.to_string(),
        name: found.name.to_string(),
        branding: domain::settings::SettingsGroup::to_json(&found.branding),
    }))
}
