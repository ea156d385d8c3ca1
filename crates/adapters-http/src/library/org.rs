//! The org side of the library: publishing listing versions, reading them
//! and replacing their grants, under `/v1/orgs/{org}/library/listings`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{
    Description, ListingDetail, ListingScope, Name, PublishListing, Published, ResourceKey,
    ResourceType, Semver,
};

use super::bodies::{GrantsBody, PublishBody, document, grants};
use super::paths::{ListingPath, ListingVersionPath};
use super::views::{ListingVersionView, ListingView, PublishedView, created_or_replayed};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, Forbidden, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::Validator;

/// Publishes a listing version: a new listing, or the next version of one.
///
/// Versions must increase (semver precedence) and are immutable: publishing a
/// stored version again with the same content answers `200` and changes
/// nothing; with other content, `409 version_conflict`. The listing's title,
/// description, scope and grants become the request's. A `platform` listing
/// (grantable to other orgs) needs the platform admin.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/library/listings",
    operation_id = "publishListing",
    tag = "library",
    params(OrgPath),
    request_body = PublishBody,
    responses(
        (status = 201, description = "Published.", body = PublishedView),
        (status = 200, description = "This version was published before with the same content.", body = PublishedView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn publish(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    Body(body): Body<PublishBody>,
) -> Result<(StatusCode, Json<PublishedView>), Problem> {
    let mut v = Validator::body();
    let key = v.check("key", ResourceKey::parse(&body.key));
    let title = v.check("title", Name::parse(&body.title));
    let description = v.check(
        "description",
        Description::parse(body.description.as_deref().unwrap_or("")),
    );
    let resource_type = v.check("resourceType", ResourceType::parse(&body.resource_type));
    let version = v.check("version", Semver::parse(&body.version));
    let content = document(&mut v, "content", body.content);
    let scope = match body.scope.as_deref() {
        None => Some(ListingScope::Org),
        Some(raw) => v.check(
            "scope",
            ListingScope::parse(raw).ok_or("must be `org` or `platform`"),
        ),
    };
    let grants = grants(&mut v, body.access_grants);
    let (
        Some(key),
        Some(title),
        Some(description),
        Some(resource_type),
        Some(version),
        Some(content),
        Some(scope),
        Some(grants),
    ) = (
        key,
        title,
        description,
        resource_type,
        version,
        content,
        scope,
        grants,
    )
    else {
        return Err(v.into_problem());
    };
    let Published {
        listing,
        version,
        created,
    } = state
        .tenancy
        .publish_listing(
            &ctx,
            &path.org,
            PublishListing {
                key,
                title,
                description,
                resource_type,
                version,
                content,
                scope,
                grants,
            },
        )
        .await?;
    Ok((
        created_or_replayed(created),
        Json(PublishedView {
            listing: ListingView::new(listing, None),
            version: version.into(),
        }),
    ))
}

/// Lists the org's listings in key order.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/library/listings",
    operation_id = "listListings",
    tag = "library",
    params(OrgPath, PageParams),
    responses(
        (status = 200, description = "A page of listings.", body = ListBody<ListingView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_listings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<ListingView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let listings = state
        .tenancy
        .list_listings(&ctx, &path.org, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(listings, |l| {
        ListingView::new(l, None)
    })))
}

/// Reads one of the org's listings with its version history.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/library/listings/{listing}",
    operation_id = "getListing",
    tag = "library",
    params(ListingPath),
    responses(
        (status = 200, description = "The listing and its versions.", body = ListingView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_listing(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: ListingPath,
) -> Result<Json<ListingView>, Problem> {
    let ListingDetail { listing, versions } = state
        .tenancy
        .get_listing(&ctx, &path.org, &path.listing)
        .await?;
    Ok(Json(ListingView::new(listing, Some(versions))))
}

/// Reads one version of one of the org's listings, with its content.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/library/listings/{listing}/versions/{version}",
    operation_id = "getListingVersion",
    tag = "library",
    params(ListingVersionPath),
    responses(
        (status = 200, description = "The version.", body = ListingVersionView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_listing_version(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: ListingVersionPath,
) -> Result<Json<ListingVersionView>, Problem> {
    let version = state
        .tenancy
        .get_listing_version(&ctx, &path.org, &path.listing, &path.version)
        .await?;
    Ok(Json(version.into()))
}

/// Replaces a listing's grants.
///
/// A namespace whose grant is revoked stops seeing the listing at once and can
/// no longer try, customize or upgrade it; **its existing installs keep
/// resolving** to their pinned version (`GET /v1/namespace/installs/{listing}/content`),
/// and its forks are its own resources.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org}/library/listings/{listing}/grants",
    operation_id = "setListingGrants",
    tag = "library",
    params(ListingPath),
    request_body = GrantsBody,
    responses(
        (status = 200, description = "The listing with its new grants.", body = ListingView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn set_grants(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: ListingPath,
    Body(body): Body<GrantsBody>,
) -> Result<Json<ListingView>, Problem> {
    let mut v = Validator::body();
    let Some(grants) = grants(&mut v, body.access_grants) else {
        return Err(v.into_problem());
    };
    let listing = state
        .tenancy
        .set_listing_grants(&ctx, &path.org, &path.listing, grants)
        .await?;
    Ok(Json(ListingView::new(listing, None)))
}
