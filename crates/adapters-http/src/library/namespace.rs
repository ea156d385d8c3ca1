//! The namespace side of the library, for namespace keys: its own resources
//! (`/v1/namespace/resources`), the listings granted to it
//! (`/v1/namespace/library`: try, customize, upgrade) and its installs
//! (`/v1/namespace/installs`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{
    Installed, InstalledContent, ListingDetail, NewResource, ResourceKey, ResourceType, Semver,
    StoredResource, Upgraded,
};

use super::bodies::{CustomizeBody, ResourceBody, VersionBody, document, optional_version};
use super::paths::{GrantedPath, ResourcePath, ResourceVersionPath};
use super::views::{
    InstallView, InstalledContentView, LibraryListingView, ResourceView, UpgradeView,
    created_or_replayed, raw_json,
};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, OptionalBody, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, Forbidden, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::Validator;

/// Stores a version of a resource in the calling namespace.
///
/// A new key starts a resource (counted against the tenant's `max_resources`
/// quota: `403 quota_exceeded` past it); a known key takes a greater version of
/// the same type. Re-sending a stored version with the same content answers
/// `200` and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/namespace/resources",
    operation_id = "createResource",
    tag = "library",
    request_body = ResourceBody,
    responses(
        (status = 201, description = "Stored.", body = ResourceView),
        (status = 200, description = "This version was stored before with the same content.", body = ResourceView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create_resource(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Body(body): Body<ResourceBody>,
) -> Result<(StatusCode, Json<ResourceView>), Problem> {
    let mut v = Validator::body();
    let key = v.check("key", ResourceKey::parse(&body.key));
    let resource_type = v.check("type", ResourceType::parse(&body.resource_type));
    let version = v.check("version", Semver::parse(&body.version));
    let content = document(&mut v, "content", body.content);
    let (Some(key), Some(resource_type), Some(version), Some(content)) =
        (key, resource_type, version, content)
    else {
        return Err(v.into_problem());
    };
    let StoredResource { resource, created } = state
        .tenancy
        .create_resource(
            &ctx,
            NewResource {
                key,
                resource_type,
                version,
                content,
            },
        )
        .await?;
    Ok((created_or_replayed(created), Json(resource.into())))
}

/// Lists the calling namespace's resources (latest versions) in key order.
#[utoipa::path(
    get,
    path = "/v1/namespace/resources",
    operation_id = "listResources",
    tag = "library",
    params(PageParams),
    responses(
        (status = 200, description = "A page of resources.", body = ListBody<ResourceView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn list_resources(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut query: QueryParams,
) -> Result<Json<ListBody<ResourceView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let resources = state
        .tenancy
        .list_resources(&ctx, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(resources, ResourceView::from)))
}

/// Reads a resource at its latest version.
#[utoipa::path(
    get,
    path = "/v1/namespace/resources/{key}",
    operation_id = "getResource",
    tag = "library",
    params(ResourcePath),
    responses(
        (status = 200, description = "The latest version.", body = ResourceView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_resource(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: ResourcePath,
) -> Result<Json<ResourceView>, Problem> {
    let resource = state.tenancy.get_resource(&ctx, &path.key, None).await?;
    Ok(Json(resource.into()))
}

/// Reads one version of a resource.
#[utoipa::path(
    get,
    path = "/v1/namespace/resources/{key}/versions/{version}",
    operation_id = "getResourceVersion",
    tag = "library",
    params(ResourceVersionPath),
    responses(
        (status = 200, description = "The version.", body = ResourceView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get_resource_version(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: ResourceVersionPath,
) -> Result<Json<ResourceView>, Problem> {
    let resource = state
        .tenancy
        .get_resource(&ctx, &path.key, Some(&path.version))
        .await?;
    Ok(Json(resource.into()))
}

/// Lists the listings granted to the calling namespace, whoever published them.
/// Listings not granted to it do not appear, and read as `404` everywhere.
#[utoipa::path(
    get,
    path = "/v1/namespace/library",
    operation_id = "listLibrary",
    tag = "library",
    params(PageParams),
    responses(
        (status = 200, description = "A page of granted listings.", body = ListBody<LibraryListingView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn library(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut query: QueryParams,
) -> Result<Json<ListBody<LibraryListingView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let listings = state
        .tenancy
        .library(&ctx, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(listings, |l| {
        LibraryListingView::new(l, None)
    })))
}

/// Reads a listing granted to the calling namespace, with its versions.
#[utoipa::path(
    get,
    path = "/v1/namespace/library/{listing}",
    operation_id = "getLibraryListing",
    tag = "library",
    params(GrantedPath),
    responses(
        (status = 200, description = "The listing and its versions.", body = LibraryListingView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn library_listing(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: GrantedPath,
) -> Result<Json<LibraryListingView>, Problem> {
    let ListingDetail { listing, versions } =
        state.tenancy.library_listing(&ctx, &path.listing).await?;
    Ok(Json(LibraryListingView::new(listing, Some(versions))))
}

/// Tries a granted listing in place: installs a pin to `version` (the latest
/// when left out), no copy. Publishing new versions never moves the pin;
/// upgrade does. Trying it again at the pinned version answers `200`.
#[utoipa::path(
    post,
    path = "/v1/namespace/library/{listing}/try",
    operation_id = "tryListing",
    tag = "library",
    params(GrantedPath),
    request_body(content = Option<VersionBody>, description = "Optional."),
    responses(
        (status = 201, description = "Installed.", body = InstallView),
        (status = 200, description = "Installed at this version already.", body = InstallView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn try_listing(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: GrantedPath,
    OptionalBody(body): OptionalBody<VersionBody>,
) -> Result<(StatusCode, Json<InstallView>), Problem> {
    let mut v = Validator::body();
    let Some(version) = optional_version(&mut v, body.version.as_deref()) else {
        return Err(v.into_problem());
    };
    let Installed { install, created } = state
        .tenancy
        .try_listing(&ctx, &path.listing, version.as_ref())
        .await?;
    Ok((created_or_replayed(created), Json(install.into())))
}

/// Moves the calling namespace's pin of a listing forward to `version` (the
/// latest when left out), reporting both versions. Never backwards
/// (`409 downgrade_refused`); already there, nothing changes.
#[utoipa::path(
    post,
    path = "/v1/namespace/library/{listing}/upgrade",
    operation_id = "upgradeInstall",
    tag = "library",
    params(GrantedPath),
    request_body(content = Option<VersionBody>, description = "Optional."),
    responses(
        (status = 200, description = "The pin before and after.", body = UpgradeView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: GrantedPath,
    OptionalBody(body): OptionalBody<VersionBody>,
) -> Result<Json<UpgradeView>, Problem> {
    let mut v = Validator::body();
    let Some(version) = optional_version(&mut v, body.version.as_deref()) else {
        return Err(v.into_problem());
    };
    let Upgraded { from, to, install } = state
        .tenancy
        .upgrade_install(&ctx, &path.listing, version.as_ref())
        .await?;
    Ok(Json(UpgradeView {
        from: from.to_string(),
        to: to.to_string(),
        install: install.into(),
    }))
}

/// Customizes a granted listing: forks its `version` (the latest when left out)
/// into the calling namespace as a new resource `key` (the listing's key when
/// left out), with provenance. Later listing versions never touch the fork. The
/// fork counts against the tenant's `max_resources` quota, and a key restricted
/// to some resources may only fork into one of them.
#[utoipa::path(
    post,
    path = "/v1/namespace/library/{listing}/customize",
    operation_id = "customizeListing",
    tag = "library",
    params(GrantedPath),
    request_body(content = Option<CustomizeBody>, description = "Optional."),
    responses(
        (status = 201, description = "The fork.", body = ResourceView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn customize(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: GrantedPath,
    OptionalBody(body): OptionalBody<CustomizeBody>,
) -> Result<(StatusCode, Json<ResourceView>), Problem> {
    let mut v = Validator::body();
    let version = optional_version(&mut v, body.version.as_deref());
    let key = match body.key.as_deref() {
        None => Some(None),
        Some(raw) => v.check("key", ResourceKey::parse(raw)).map(Some),
    };
    let (Some(version), Some(key)) = (version, key) else {
        return Err(v.into_problem());
    };
    let fork = state
        .tenancy
        .customize_listing(&ctx, &path.listing, version.as_ref(), key)
        .await?;
    Ok((StatusCode::CREATED, Json(fork.into())))
}

/// Lists the calling namespace's installs, oldest first.
#[utoipa::path(
    get,
    path = "/v1/namespace/installs",
    operation_id = "listInstalls",
    tag = "library",
    params(PageParams),
    responses(
        (status = 200, description = "A page of installs.", body = ListBody<InstallView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn list_installs(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut query: QueryParams,
) -> Result<Json<ListBody<InstallView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let installs = state
        .tenancy
        .list_installs(&ctx, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(installs, InstallView::from)))
}

/// Reads the content of an install's pinned version. An install keeps
/// resolving after the listing's grant to this namespace is revoked.
#[utoipa::path(
    get,
    path = "/v1/namespace/installs/{listing}/content",
    operation_id = "getInstalledContent",
    tag = "library",
    params(GrantedPath),
    responses(
        (status = 200, description = "The install and its pinned content.", body = InstalledContentView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn install_content(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: GrantedPath,
) -> Result<Json<InstalledContentView>, Problem> {
    let InstalledContent { install, version } =
        state.tenancy.install_content(&ctx, &path.listing).await?;
    Ok(Json(InstalledContentView {
        install: install.into(),
        content: raw_json(&version.content),
    }))
}
