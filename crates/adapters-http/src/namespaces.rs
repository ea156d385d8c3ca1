//! `/v1/orgs/{org}/tenants/{tenant}/namespaces`: a tenant's namespaces; and
//! `/v1/namespace`, the calling namespace key's own.

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderName, StatusCode};
use chrono::{DateTime, Utc};
use domain::{Mode, Name, Namespace, NamespaceKey, NamespacePatch, NewNamespace};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, MergePatch, NamespacePath, QueryParams, TenantPath};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::{Validator, present};

/// Whether a namespace serves real traffic or tests. Fixed at creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Mode)]
pub(crate) enum ModeBody {
    #[default]
    Live,
    Test,
}

impl From<ModeBody> for Mode {
    fn from(mode: ModeBody) -> Self {
        match mode {
            ModeBody::Live => Self::Live,
            ModeBody::Test => Self::Test,
        }
    }
}

impl From<Mode> for ModeBody {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Live => Self::Live,
            Mode::Test => Self::Test,
        }
    }
}

/// A namespace: an isolation unit inside a tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Namespace)]
pub(crate) struct NamespaceView {
    id: Uuid,
    org_id: Uuid,
    tenant_id: Uuid,
    #[schema(example = "acme-prod")]
    key: String,
    name: String,
    mode: ModeBody,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Namespace> for NamespaceView {
    fn from(ns: Namespace) -> Self {
        Self {
            id: ns.id.as_uuid(),
            org_id: ns.org_id.as_uuid(),
            tenant_id: ns.tenant_id.as_uuid(),
            key: ns.key.to_string(),
            name: ns.name.to_string(),
            mode: ns.mode.into(),
            created_at: ns.created_at,
            updated_at: ns.updated_at,
        }
    }
}

/// A namespace to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewNamespace)]
pub(crate) struct NewNamespaceBody {
    /// 3–63 characters of `a-z`, `0-9` and `-`, unique within the tenant.
    #[schema(example = "acme-prod")]
    key: String,
    /// Defaults to the key.
    name: Option<String>,
    /// `live` unless given.
    mode: Option<ModeBody>,
}

impl NewNamespaceBody {
    /// Validates into `v`, naming fields under `prefix` (`namespaces[1].`).
    pub(crate) fn validate(self, v: &mut Validator, prefix: &str) -> Option<NewNamespace> {
        let key = v.check(format!("{prefix}key"), NamespaceKey::parse(&self.key));
        let name = v.check(
            format!("{prefix}name"),
            self.name.as_deref().map(Name::parse).transpose(),
        );
        Some(NewNamespace {
            key: key?,
            name: name?,
            mode: self.mode.unwrap_or_default().into(),
        })
    }
}

/// Changes to a namespace (JSON merge-patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NamespacePatch)]
pub(crate) struct NamespacePatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
}

/// Adds a namespace to an active tenant.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces",
    operation_id = "createNamespace",
    tag = "namespaces",
    params(TenantPath),
    request_body = NewNamespaceBody,
    responses(
        (status = 201, description = "Created.", body = NamespaceView,
            headers(("Location" = String, description = "The namespace's URL."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<NewNamespaceBody>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<NamespaceView>), Problem> {
    let mut v = Validator::body();
    let Some(new) = body.validate(&mut v, "") else {
        return Err(v.into_problem());
    };
    let ns = state
        .tenancy
        .create_namespace(&ctx, &path.org, &path.tenant, new)
        .await?;
    let location = format!(
        "/v1/orgs/{}/tenants/{}/namespaces/{}",
        ns.org_id, ns.tenant_id, ns.id
    );
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(ns.into())))
}

/// Lists a tenant's namespaces, oldest first.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces",
    operation_id = "listNamespaces",
    tag = "namespaces",
    params(TenantPath, PageParams),
    responses(
        (status = 200, description = "A page of namespaces.", body = ListBody<NamespaceView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<NamespaceView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let namespaces = state
        .tenancy
        .list_namespaces(
            &ctx,
            &path.org,
            &path.tenant,
            page.cursor.as_ref(),
            page.limit,
        )
        .await?;
    Ok(Json(ListBody::from_page(namespaces, NamespaceView::from)))
}

/// Reads a namespace.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}",
    operation_id = "getNamespace",
    tag = "namespaces",
    params(NamespacePath),
    responses(
        (status = 200, description = "The namespace.", body = NamespaceView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
) -> Result<Json<NamespaceView>, Problem> {
    let ns = state
        .tenancy
        .get_namespace(&ctx, &path.org, &path.tenant, &path.ns)
        .await?;
    Ok(Json(ns.into()))
}

/// Renames a namespace of an active tenant; key and mode never change.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}",
    operation_id = "updateNamespace",
    tag = "namespaces",
    params(NamespacePath),
    request_body(content(
        (NamespacePatchBody = "application/merge-patch+json"),
        (NamespacePatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The namespace after the change.", body = NamespaceView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    MergePatch(body): MergePatch<NamespacePatchBody>,
) -> Result<Json<NamespaceView>, Problem> {
    let mut v = Validator::body();
    let Some(name) = v.patch("name", body.name, Name::parse) else {
        return Err(v.into_problem());
    };
    let ns = state
        .tenancy
        .update_namespace(
            &ctx,
            &path.org,
            &path.tenant,
            &path.ns,
            NamespacePatch { name },
        )
        .await?;
    Ok(Json(ns.into()))
}

/// The calling namespace key's namespace.
#[utoipa::path(
    get,
    path = "/v1/namespace",
    operation_id = "getOwnNamespace",
    tag = "namespace-key",
    responses(
        (status = 200, description = "The namespace the key belongs to.", body = NamespaceView),
    )
)]
pub(crate) async fn own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<NamespaceView>, Problem> {
    let ns = state.tenancy.own_namespace(&ctx).await?;
    Ok(Json(ns.into()))
}
