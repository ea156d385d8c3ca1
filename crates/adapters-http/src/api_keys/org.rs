//! An org's own keys: `/v1/orgs/{org}/api-keys`.

use axum::Json;
use axum::extract::State;
use domain::KeyLocation;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, KeyIdPath, OptionalBody, OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams};
use crate::problem::Problem;

use super::{
    ApiKeyView, Created, IssuedView, NewOrgKeyBody, RotateBody, issue, list, revoke, rotate,
};

/// Issues an org key; its secret is in this response only.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/api-keys",
    operation_id = "createOrgApiKey",
    tag = "api-keys",
    params(OrgPath),
    request_body = NewOrgKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn create_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    Body(body): Body<NewOrgKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, KeyLocation::Org(path.org), new).await
}

/// Lists an org's keys, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/api-keys",
    operation_id = "listOrgApiKeys",
    tag = "api-keys",
    params(OrgPath, PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_org_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, KeyLocation::Org(path.org), query).await
}

/// Revokes an org key for good; revoking it again changes nothing.
///
/// The caller must cover the key: an org key may revoke its own key, or a key of
/// its org that expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/api-keys/{id}",
    operation_id = "revokeOrgApiKey",
    tag = "api-keys",
    params(OrgPath, KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, KeyLocation::Org(path.org), id).await
}

/// Replaces an org key's secret; the old one works on for the grace period.
///
/// The caller must cover the key: an org key may rotate its own key, or a key
/// of its org that expires no later than itself; the new key keeps the old key's
/// name, access and expiry, and never outlives the calling key. Otherwise
/// `403 scope_escalation`, and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/api-keys/{id}/rotate",
    operation_id = "rotateOrgApiKey",
    tag = "api-keys",
    params(OrgPath, KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, KeyLocation::Org(path.org), id, &body).await
}
