//! One tenant's record: reading it, patching its name, plan or metadata, setting
//! its owner, and the calling namespace key's own tenant.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use domain::{Name, Plan, TenantPatch};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, MergePatch, TenantPath};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::problem::Problem;
use crate::validate::{Validator, present};

use super::{AnyTenantView, OwnerBody};

/// Reads a tenant (a tombstone once deleted).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "getTenant",
    tag = "tenants",
    params(TenantPath),
    responses(
        (status = 200, description = "The tenant.", body = AnyTenantView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<Json<AnyTenantView>, Problem> {
    let tenant = state
        .tenancy
        .get_tenant(&ctx, &path.org, &path.tenant)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Changes to a tenant (JSON merge-patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = TenantPatch)]
pub(crate) struct TenantPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    plan: Option<Option<String>>,
    /// Keys to set; a `null` value removes the key.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    metadata: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// Changes a tenant's name, plan or metadata.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "updateTenant",
    tag = "tenants",
    params(TenantPath),
    request_body(content(
        (TenantPatchBody = "application/merge-patch+json"),
        (TenantPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The tenant after the change.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    MergePatch(body): MergePatch<TenantPatchBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let name = v.patch("name", body.name, Name::parse);
    let plan = v.patch("plan", body.plan, Plan::parse);
    let metadata = match body.metadata {
        None => Some(BTreeMap::new()),
        Some(None) => {
            v.add(
                "metadata",
                "cannot be null; set a key to null to remove that key",
            );
            None
        }
        Some(Some(patch)) => Some(patch),
    };
    let (Some(name), Some(plan), Some(metadata)) = (name, plan, metadata) else {
        return Err(v.into_problem());
    };
    let patch = TenantPatch {
        name,
        plan,
        metadata,
    };
    let tenant = state
        .tenancy
        .update_tenant(&ctx, &path.org, &path.tenant, patch)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Assigns the tenant's owner.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org}/tenants/{tenant}/owner",
    operation_id = "setTenantOwner",
    tag = "tenants",
    params(TenantPath),
    request_body = OwnerBody,
    responses(
        (status = 200, description = "The tenant with its new owner.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn set_owner(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<OwnerBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let Some(owner) = body.validate(&mut v, "") else {
        return Err(v.into_problem());
    };
    let tenant = state
        .tenancy
        .set_owner(&ctx, &path.org, &path.tenant, owner)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// The calling namespace key's tenant.
#[utoipa::path(
    get,
    path = "/v1/tenant",
    operation_id = "getOwnTenant",
    tag = "namespace-key",
    responses(
        (status = 200, description = "The tenant the key belongs to.", body = AnyTenantView),
    )
)]
pub(crate) async fn own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<AnyTenantView>, Problem> {
    let tenant = state.tenancy.own_tenant(&ctx).await?;
    Ok(Json(state.tenant_view(tenant)))
}
