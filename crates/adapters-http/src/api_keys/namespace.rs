//! A namespace's keys reached from the org side:
//! `/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys`.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, KeyIdPath, NamespacePath, OptionalBody, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams};
use crate::problem::Problem;

use super::{
    ApiKeyView, Created, IssuedView, NewNamespaceKeyBody, RotateBody, issue, list,
    namespace_location, revoke, rotate,
};

/// Issues a namespace key; its secret is in this response only.
///
/// Needs an active tenant.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    operation_id = "createNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath),
    request_body = NewNamespaceKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    Body(body): Body<NewNamespaceKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, namespace_location(path), new).await
}

/// Lists a namespace's keys, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    operation_id = "listNamespaceApiKeys",
    tag = "api-keys",
    params(NamespacePath, PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_namespace_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, namespace_location(path), query).await
}

/// Revokes a namespace key for good.
///
/// The caller must cover the key: an org key may revoke its own key, or a key of
/// its org that expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}",
    operation_id = "revokeNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath, KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, namespace_location(path), id).await
}

/// Replaces a namespace key's secret; the old one works on for the grace period.
///
/// The caller must cover the key: an org key may rotate its own key, or a key
/// of its org that expires no later than itself; the new key keeps the old key's
/// name, access and expiry, and never outlives the calling key. Otherwise
/// `403 scope_escalation`, and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}/rotate",
    operation_id = "rotateNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath, KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, namespace_location(path), id, &body).await
}
