//! Tenant secrets: `/v1/tenant/secrets/{name}` for namespace keys and
//! `/v1/orgs/{org}/tenants/{tenant}/secrets[/{name}]` for the org side.
//! Values are sealed by the domain before they are stored; responses carry
//! `****`, and the value itself only for `?reveal=true`.

use std::fmt;

use axum::Json;
use axum::extract::State;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use domain::{SecretName, SecretOwner, SecretValue, SecretView as DomainView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, QueryParams, TenantPath, path_parameter};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest, query_parameter};
use crate::problem::{Code, FieldError, Problem};

/// A secret's name from the path: validated, a 400 when invalid.
#[derive(Debug)]
pub(crate) struct NamePath(SecretName);

impl<S: Send + Sync> FromRequestParts<S> for NamePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::not_found("secret"))?;
        let raw = params
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        SecretName::parse(raw).map(Self).map_err(|why| {
            Problem::fields(
                Code::ValidationFailed,
                vec![FieldError {
                    field: "name".to_owned(),
                    message: why.to_string(),
                }],
            )
        })
    }
}

impl utoipa::IntoParams for NamePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path_parameter(
            "name",
            "The secret's name: 1–128 ASCII letters, digits, `_`, `-` and `.`, starting \
             with a letter or digit.",
        )]
    }
}

/// A secret's value, to store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, expecting = "a JSON object")]
#[schema(as = SecretInput)]
pub(crate) struct SecretBody {
    /// 1 byte to 64 KiB of text. Stored only encrypted; never echoed back.
    #[schema(example = "smtp-password-value")]
    value: String,
}

impl fmt::Debug for SecretBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBody { value: <redacted> }")
    }
}

/// A secret's metadata, its masked value and, when revealed, its value.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Secret)]
pub(crate) struct SecretView {
    id: Uuid,
    #[schema(example = "smtp-password")]
    name: String,
    /// Always `****`: no character of the value shows without a reveal.
    #[schema(example = "****")]
    masked: String,
    /// Present only with `?reveal=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
}

impl fmt::Debug for SecretView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretView")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl From<DomainView> for SecretView {
    fn from(v: DomainView) -> Self {
        Self {
            id: v.id,
            name: v.name.to_string(),
            masked: v.masked,
            value: v.value.map(|value| value.expose().to_owned()),
            created_at: v.created_at,
            updated_at: v.updated_at,
            version: v.version,
        }
    }
}

/// Documents `?reveal=`.
#[derive(Debug)]
pub(crate) enum RevealParams {}

impl utoipa::IntoParams for RevealParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query_parameter(
            "reveal",
            "`true` to include the value itself: needs `secrets:reveal` from a live key \
             restricted to no resources for namespace keys, and is audited \
             (`secret.revealed`).",
        )]
    }
}

fn reveal(query: &mut QueryParams) -> bool {
    query
        .parse("reveal", |raw| match raw {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("must be true or false"),
        })
        .unwrap_or(false)
}

fn value(body: SecretBody) -> Result<SecretValue, Problem> {
    SecretValue::new(body.value).map_err(|why| {
        Problem::fields(
            Code::ValidationFailed,
            vec![FieldError {
                field: "value".to_owned(),
                message: why.to_string(),
            }],
        )
    })
}

async fn put(
    state: &AppState,
    ctx: &domain::Context,
    owner: SecretOwner<'_>,
    name: SecretName,
    body: SecretBody,
) -> Result<(StatusCode, Json<SecretView>), Problem> {
    let value = value(body)?;
    let (view, created) = state.tenancy.put_secret(ctx, owner, name, value).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view.into())))
}

/// Stores or replaces a secret of the key's tenant.
#[utoipa::path(
    put,
    path = "/v1/tenant/secrets/{name}",
    operation_id = "putOwnSecret",
    tag = "secrets",
    params(NamePath),
    request_body = SecretBody,
    responses(
        (status = 201, description = "Stored; masked.", body = SecretView),
        (status = 200, description = "Replaced; masked.", body = SecretView),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn put_own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NamePath(name): NamePath,
    Body(body): Body<SecretBody>,
) -> Result<(StatusCode, Json<SecretView>), Problem> {
    put(&state, &ctx, SecretOwner::Own, name, body).await
}

/// Reads a secret of the key's tenant, masked (or revealed).
#[utoipa::path(
    get,
    path = "/v1/tenant/secrets/{name}",
    operation_id = "getOwnSecret",
    tag = "secrets",
    params(NamePath, RevealParams),
    responses(
        (status = 200, description = "The secret.", body = SecretView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NamePath(name): NamePath,
    mut query: QueryParams,
) -> Result<Json<SecretView>, Problem> {
    let reveal = reveal(&mut query);
    query.finish()?;
    let view = state
        .tenancy
        .get_secret(&ctx, SecretOwner::Own, &name, reveal)
        .await?;
    Ok(Json(view.into()))
}

/// Deletes a secret of the key's tenant.
#[utoipa::path(
    delete,
    path = "/v1/tenant/secrets/{name}",
    operation_id = "deleteOwnSecret",
    tag = "secrets",
    params(NamePath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete_own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NamePath(name): NamePath,
) -> Result<StatusCode, Problem> {
    state
        .tenancy
        .delete_secret(&ctx, SecretOwner::Own, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores or replaces a secret of a tenant.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}",
    operation_id = "putTenantSecret",
    tag = "secrets",
    params(TenantPath, NamePath),
    request_body = SecretBody,
    responses(
        (status = 201, description = "Stored; masked.", body = SecretView),
        (status = 200, description = "Replaced; masked.", body = SecretView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn put_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    NamePath(name): NamePath,
    Body(body): Body<SecretBody>,
) -> Result<(StatusCode, Json<SecretView>), Problem> {
    let owner = SecretOwner::Tenant {
        org: &path.org,
        tenant: &path.tenant,
    };
    put(&state, &ctx, owner, name, body).await
}

/// Reads a secret of a tenant, masked (or revealed, audited).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}",
    operation_id = "getTenantSecret",
    tag = "secrets",
    params(TenantPath, NamePath, RevealParams),
    responses(
        (status = 200, description = "The secret.", body = SecretView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    NamePath(name): NamePath,
    mut query: QueryParams,
) -> Result<Json<SecretView>, Problem> {
    let reveal = reveal(&mut query);
    query.finish()?;
    let owner = SecretOwner::Tenant {
        org: &path.org,
        tenant: &path.tenant,
    };
    let view = state.tenancy.get_secret(&ctx, owner, &name, reveal).await?;
    Ok(Json(view.into()))
}

/// Deletes a secret of a tenant.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}/secrets/{name}",
    operation_id = "deleteTenantSecret",
    tag = "secrets",
    params(TenantPath, NamePath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    NamePath(name): NamePath,
) -> Result<StatusCode, Problem> {
    let owner = SecretOwner::Tenant {
        org: &path.org,
        tenant: &path.tenant,
    };
    state.tenancy.delete_secret(&ctx, owner, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists a tenant's secrets in name order, masked.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/secrets",
    operation_id = "listTenantSecrets",
    tag = "secrets",
    params(TenantPath, PageParams),
    responses(
        (status = 200, description = "A page of secrets.", body = ListBody<SecretView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_tenant(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<SecretView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let owner = SecretOwner::Tenant {
        org: &path.org,
        tenant: &path.tenant,
    };
    let secrets = state
        .tenancy
        .list_secrets(&ctx, owner, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(secrets, SecretView::from)))
}
