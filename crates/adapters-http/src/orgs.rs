//! `/v1/orgs`: creating, listing, reading and renaming orgs (platform admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use chrono::{DateTime, Utc};
use domain::{Name, NewOrg, Org, OrgKey, OrgPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, MergePatch, OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::{Validator, present};

/// An org: a SaaS builder that owns tenants.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Org)]
pub(crate) struct OrgView {
    id: Uuid,
    #[schema(example = "signstack")]
    key: String,
    #[schema(example = "SignStack")]
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Org> for OrgView {
    fn from(org: Org) -> Self {
        Self {
            id: org.id.as_uuid(),
            key: org.key.to_string(),
            name: org.name.to_string(),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A new org.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewOrg)]
pub(crate) struct NewOrgBody {
    /// 3–63 characters of `a-z`, `0-9` and `-`; unique on the platform; never changes.
    #[schema(example = "signstack")]
    key: String,
    #[schema(example = "SignStack")]
    name: String,
}

/// Changes to an org (JSON merge-patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = OrgPatch)]
pub(crate) struct OrgPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
}

/// Creates an org.
#[utoipa::path(
    post,
    path = "/v1/orgs",
    operation_id = "createOrg",
    tag = "orgs",
    request_body = NewOrgBody,
    responses(
        (status = 201, description = "Created.", body = OrgView,
            headers(("Location" = String, description = "The org's URL."))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Body(body): Body<NewOrgBody>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, String); 1],
        Json<OrgView>,
    ),
    Problem,
> {
    let mut v = Validator::body();
    let key = v.check("key", OrgKey::parse(&body.key));
    let name = v.check("name", Name::parse(&body.name));
    let (Some(key), Some(name)) = (key, name) else {
        return Err(v.into_problem());
    };
    let org = state.tenancy.create_org(&ctx, NewOrg { key, name }).await?;
    let location = format!("/v1/orgs/{}", org.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(OrgView::from(org)),
    ))
}

/// Lists orgs, oldest first.
#[utoipa::path(
    get,
    path = "/v1/orgs",
    operation_id = "listOrgs",
    tag = "orgs",
    params(PageParams),
    responses(
        (status = 200, description = "A page of orgs.", body = ListBody<OrgView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut query: QueryParams,
) -> Result<Json<ListBody<OrgView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let orgs = state
        .tenancy
        .list_orgs(&ctx, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(orgs, OrgView::from)))
}

/// Reads an org.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}",
    operation_id = "getOrg",
    tag = "orgs",
    params(OrgPath),
    responses(
        (status = 200, description = "The org.", body = OrgView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
) -> Result<Json<OrgView>, Problem> {
    let org = state.tenancy.get_org(&ctx, &path.org).await?;
    Ok(Json(org.into()))
}

/// Renames an org; its id and key never change.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}",
    operation_id = "updateOrg",
    tag = "orgs",
    params(OrgPath),
    request_body(content(
        (OrgPatchBody = "application/merge-patch+json"),
        (OrgPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The org after the change.", body = OrgView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    MergePatch(body): MergePatch<OrgPatchBody>,
) -> Result<Json<OrgView>, Problem> {
    let mut v = Validator::body();
    let Some(name) = v.patch("name", body.name, Name::parse) else {
        return Err(v.into_problem());
    };
    let org = state
        .tenancy
        .update_org(&ctx, &path.org, OrgPatch { name })
        .await?;
    Ok(Json(org.into()))
}
