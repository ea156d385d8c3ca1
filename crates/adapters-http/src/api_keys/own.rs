//! The calling namespace key's own namespace: `/v1/namespace/api-keys`.

use axum::Json;
use axum::extract::State;
use domain::KeyLocation;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, KeyIdPath, OptionalBody, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams};
use crate::problem::Problem;

use super::{
    ApiKeyView, Created, IssuedView, NewNamespaceKeyBody, RotateBody, issue, list, revoke, rotate,
};

/// Issues a key in the calling key's namespace, with no more scopes or
/// resources than the calling key holds.
///
/// Asking for more is `403 scope_escalation`.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/namespace/api-keys",
    operation_id = "createOwnApiKey",
    tag = "namespace-key",
    request_body = NewNamespaceKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Body(body): Body<NewNamespaceKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, KeyLocation::OwnNamespace, new).await
}

/// Lists the keys of the calling key's namespace, oldest first.
#[utoipa::path(
    get,
    path = "/v1/namespace/api-keys",
    operation_id = "listOwnApiKeys",
    tag = "namespace-key",
    params(PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn list_own_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, KeyLocation::OwnNamespace, query).await
}

/// Revokes a key of the calling key's namespace (possibly the calling key).
///
/// The caller must cover the key: a namespace key may revoke its own key, or a
/// key whose scopes it holds, whose resources lie within its own and which
/// expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/namespace/api-keys/{id}",
    operation_id = "revokeOwnApiKey",
    tag = "namespace-key",
    params(KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, KeyLocation::OwnNamespace, id).await
}

/// Replaces the secret of a key of the calling key's namespace.
///
/// The caller must cover the key: a namespace key may rotate its own key, or a
/// key whose scopes it holds, whose resources lie within its own and which
/// expires no later than itself; the new key keeps the old key's name, access and
/// expiry, and never outlives the calling key. Otherwise `403 scope_escalation`,
/// and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/namespace/api-keys/{id}/rotate",
    operation_id = "rotateOwnApiKey",
    tag = "namespace-key",
    params(KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, KeyLocation::OwnNamespace, id, &body).await
}
