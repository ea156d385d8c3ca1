//! API keys: issuing, listing, revoking and rotating them at the three places
//! keys live (docs/api.md §3) — an org's own keys (`/v1/orgs/{org}/api-keys`), a
//! namespace's keys reached from the org side
//! (`/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys`) and the calling
//! namespace key's own namespace (`/v1/namespace/api-keys`).
//!
//! The secret is in the one response that creates it (issue or rotate) and in no
//! other: views carry the display prefix, never the secret or its hash.
//!
//! The handlers live by where the keys are (`org`, `namespace`, `own`), the wire
//! shapes in `bodies` and `views`; the steps the three places share are here.

mod bodies;
mod namespace;
mod org;
mod own;
mod views;

use axum::Json;
use axum::http::StatusCode;
use domain::{ApiKeyId, KeyLocation, NewApiKey};

use crate::AppState;
use crate::extract::{NamespacePath, QueryParams};
use crate::page::{ListBody, PageRequest};
use crate::problem::Problem;

pub(crate) use bodies::*;
pub(crate) use namespace::*;
pub(crate) use org::*;
pub(crate) use own::*;
pub(crate) use views::*;

type Created = (StatusCode, Json<IssuedView>);

async fn issue(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    new: NewApiKey,
) -> Result<Created, Problem> {
    let issued = state.tenancy.issue_key(ctx, &location, new).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

async fn list(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    mut query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let keys = state
        .tenancy
        .list_keys(ctx, &location, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(keys, ApiKeyView::from)))
}

async fn revoke(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    id: ApiKeyId,
) -> Result<Json<ApiKeyView>, Problem> {
    let key = state.tenancy.revoke_key(ctx, &location, id).await?;
    Ok(Json(key.into()))
}

async fn rotate(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    id: ApiKeyId,
    body: &RotateBody,
) -> Result<Created, Problem> {
    let grace = body.grace();
    let issued = state.tenancy.rotate_key(ctx, &location, id, grace).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

fn namespace_location(path: NamespacePath) -> KeyLocation {
    KeyLocation::Namespace {
        org: path.org,
        tenant: path.tenant,
        namespace: path.ns,
    }
}
