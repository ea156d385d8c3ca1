//! The lifecycle: suspend, reactivate, deactivate, restore and delete, each one
//! transition the domain decides.

use axum::Json;
use axum::extract::State;
use domain::{LifecycleAction, Reason};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, QueryParams, TenantPath};
use crate::openapi::responses::{BadRequest, Conflict, Forbidden, NotFound};
use crate::page::query_parameter;
use crate::problem::Problem;
use crate::validate::Validator;

use super::AnyTenantView;

/// Why a lifecycle transition happens.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = Transition)]
pub(crate) struct TransitionBody {
    /// 1–500 characters; kept in the tenant's status and the audit trail.
    #[schema(example = "billing failure")]
    reason: String,
}

async fn transition(
    state: AppState,
    ctx: domain::Context,
    path: TenantPath,
    action: LifecycleAction,
    body: TransitionBody,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let Some(reason) = v.check("reason", Reason::parse(&body.reason)) else {
        return Err(v.into_problem());
    };
    let tenant = state
        .tenancy
        .transition(&ctx, &path.org, &path.tenant, action, reason)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Suspends an active tenant: its keys are refused until it is reactivated.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/suspend",
    operation_id = "suspendTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The suspended tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn suspend(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Suspend, body).await
}

/// Reactivates a suspended tenant.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/reactivate",
    operation_id = "reactivateTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The active tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Reactivate, body).await
}

/// Deactivates (offboards) a tenant: its keys are revoked for good and the
/// retention period starts (`retentionEndsAt`).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/deactivate",
    operation_id = "deactivateTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The deactivated tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Deactivate, body).await
}

/// Restores a deactivated tenant before its retention ends (platform admin only).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/restore",
    operation_id = "restoreTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The active tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn restore(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Restore, body).await
}

/// Documents the delete query string.
#[derive(Debug)]
pub(crate) enum DeleteParams {}

impl utoipa::IntoParams for DeleteParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut confirm = query_parameter("confirm", "The tenant's key, repeated.");
        confirm.required = utoipa::openapi::Required::True;
        vec![
            confirm,
            query_parameter("reason", "Why; kept in the tombstone's audit event."),
        ]
    }
}

/// Deletes a deactivated tenant for good; what remains is a tombstone.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "deleteTenant",
    tag = "lifecycle",
    params(TenantPath, DeleteParams),
    responses(
        (status = 200, description = "The tombstone.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    mut query: QueryParams,
) -> Result<Json<AnyTenantView>, Problem> {
    // The domain checks the lifecycle before the confirmation, so deleting an
    // active tenant says why it cannot be deleted even without `confirm`.
    let confirm = query.take("confirm").unwrap_or_default();
    let reason = query.parse("reason", Reason::parse);
    query.finish()?;
    let tenant = state
        .tenancy
        .delete_tenant(&ctx, &path.org, &path.tenant, &confirm, reason)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}
