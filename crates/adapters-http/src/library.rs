//! The library (SPEC §4): `/v1/orgs/{org}/library/listings` (publish, grant,
//! read) and, for namespace keys, `/v1/namespace/resources`,
//! `/v1/namespace/library` (try, customize, upgrade) and `/v1/namespace/installs`.
//!
//! Content is any JSON value up to 1 MiB. It is stored as its canonical text
//! (object keys sorted, no insignificant whitespace), so two spellings of the
//! same document are the same version, and answered back exactly as stored.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use domain::{
    Description, Document, Grant, Install, Installed, InstalledContent, Listing, ListingDetail,
    ListingRef, ListingScope, ListingVersion, Name, NamespaceKey, NamespaceSelector, NewResource,
    OrgId, Provenance, PublishListing, Published, Resource, ResourceKey, ResourceType, Semver,
    StoredResource, Upgraded, VersionInfo,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, OptionalBody, OrgPath, QueryParams, Segments, path_parameter};
use crate::openapi::responses::{BadRequest, Conflict, Forbidden, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::Validator;

// --- Paths. ---------------------------------------------------------------------

/// `/v1/orgs/{org}/library/listings/{listing}`
#[derive(Debug)]
pub(crate) struct ListingPath {
    org: domain::OrgRef,
    listing: ListingRef,
}

/// `/v1/orgs/{org}/library/listings/{listing}/versions/{version}`
#[derive(Debug)]
pub(crate) struct ListingVersionPath {
    org: domain::OrgRef,
    listing: ListingRef,
    version: Semver,
}

/// `/v1/namespace/library/{listing}`, `/v1/namespace/installs/{listing}`
#[derive(Debug)]
pub(crate) struct GrantedPath {
    listing: ListingRef,
}

/// `/v1/namespace/resources/{key}`
#[derive(Debug)]
pub(crate) struct ResourcePath {
    key: ResourceKey,
}

/// `/v1/namespace/resources/{key}/versions/{version}`
#[derive(Debug)]
pub(crate) struct ResourceVersionPath {
    key: ResourceKey,
    version: Semver,
}

// A segment that cannot parse names nothing that can exist: 404.
fn semver(raw: &str) -> Result<Semver, ()> {
    Semver::parse(raw).map_err(|_| ())
}

impl<S: Send + Sync> FromRequestParts<S> for ListingPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", domain::OrgRef::parse)?,
            listing: segments.get("listing", ListingRef::parse)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListingVersionPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", domain::OrgRef::parse)?,
            listing: segments.get("listing", ListingRef::parse)?,
            version: segments.get("version", semver)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for GrantedPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            listing: segments.get("listing", ListingRef::parse)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ResourcePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            key: segments.get("key", ResourceKey::parse)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ResourceVersionPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            key: segments.get("key", ResourceKey::parse)?,
            version: segments.get("version", semver)?,
        })
    }
}

const ORG_PARAM: &str = "The org's key or id.";
const LISTING_PARAM: &str = "The listing's key or id.";
const VERSION_PARAM: &str = "A semantic version, e.g. `1.2.0`.";
const RESOURCE_PARAM: &str = "The resource's key.";

impl utoipa::IntoParams for ListingPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", ORG_PARAM),
            path_parameter("listing", LISTING_PARAM),
        ]
    }
}

impl utoipa::IntoParams for ListingVersionPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", ORG_PARAM),
            path_parameter("listing", LISTING_PARAM),
            path_parameter("version", VERSION_PARAM),
        ]
    }
}

impl utoipa::IntoParams for GrantedPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path_parameter("listing", LISTING_PARAM)]
    }
}

impl utoipa::IntoParams for ResourcePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path_parameter("key", RESOURCE_PARAM)]
    }
}

impl utoipa::IntoParams for ResourceVersionPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("key", RESOURCE_PARAM),
            path_parameter("version", VERSION_PARAM),
        ]
    }
}

// --- Bodies in. -----------------------------------------------------------------

/// The canonical text of a JSON value: what is stored and digested.
fn document(v: &mut Validator, field: &str, content: Option<Value>) -> Option<Document> {
    let Some(content) = content else {
        v.add(field, "is required");
        return None;
    };
    // `serde_json` orders object keys (its map is a `BTreeMap`), so this text
    // is canonical: a test pins that down.
    match serde_json::to_string(&content) {
        Ok(text) => v.check(field, Document::new(text)),
        Err(_) => {
            v.add(field, "must be a JSON value");
            None
        }
    }
}

/// Access to a listing for one org's namespaces.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = AccessGrant)]
pub(crate) struct GrantBody {
    /// The org whose namespaces may see the listing: the publisher's own, or
    /// (for `platform` listings only) another org.
    org_id: String,
    /// `"*"` for every namespace of the org, or a list of namespace keys
    /// (matching namespaces with that key in any of the org's tenants).
    #[schema(value_type = Value, example = "*")]
    namespace_keys: Value,
}

fn grants(v: &mut Validator, grants: Vec<GrantBody>) -> Option<Vec<Grant>> {
    let mut valid = Some(Vec::with_capacity(grants.len()));
    for (i, g) in grants.into_iter().enumerate() {
        let org = v.check(
            format!("accessGrants[{i}].orgId"),
            Uuid::try_parse(&g.org_id)
                .map(OrgId::from_uuid)
                .map_err(|_| "must be an org id (a UUID)"),
        );
        let field = format!("accessGrants[{i}].namespaceKeys");
        let namespaces = match g.namespace_keys {
            Value::String(s) if s == "*" => Some(NamespaceSelector::All),
            Value::Array(keys) => {
                let mut set = BTreeSet::new();
                let mut ok = true;
                for (j, key) in keys.iter().enumerate() {
                    let parsed = v.check(
                        format!("{field}[{j}]"),
                        key.as_str()
                            .ok_or_else(|| "must be a namespace key".to_owned())
                            .and_then(|k| NamespaceKey::parse(k).map_err(|e| e.to_string())),
                    );
                    match parsed {
                        Some(k) => {
                            set.insert(k);
                        }
                        None => ok = false,
                    }
                }
                if ok {
                    v.check(&field, NamespaceSelector::keys(set))
                } else {
                    None
                }
            }
            _ => {
                v.add(&field, "must be \"*\" or a list of namespace keys");
                None
            }
        };
        match (org, namespaces, valid.as_mut()) {
            (Some(org_id), Some(namespaces), Some(list)) => list.push(Grant { org_id, namespaces }),
            _ => valid = None,
        }
    }
    valid
}

/// A listing version to publish. The listing's title, description, scope and
/// grants become these; its key and resource type never change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = PublishListing)]
pub(crate) struct PublishBody {
    /// Unique within the org: 3–63 characters of `a-z`, `0-9`, `-` and `_`.
    #[schema(example = "standard_nda")]
    key: String,
    #[schema(example = "Standard NDA")]
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[schema(example = "blueprint")]
    resource_type: String,
    /// Semantic version, greater than every version published before.
    #[schema(example = "1.2.0")]
    version: String,
    /// Any JSON value, at most 1 MiB.
    #[schema(value_type = Value)]
    content: Option<Value>,
    /// `org` (the default): granted within the publishing org only.
    /// `platform`: may be granted to any org; published by platform admins.
    #[schema(value_type = Option<String>, example = "org")]
    scope: Option<String>,
    #[serde(default)]
    access_grants: Vec<GrantBody>,
}

/// New grants for a listing, replacing the old ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = ListingGrants)]
pub(crate) struct GrantsBody {
    access_grants: Vec<GrantBody>,
}

/// A resource version to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewResource)]
pub(crate) struct ResourceBody {
    /// 3–63 characters of `a-z`, `0-9`, `-` and `_`.
    #[schema(example = "welcome_email")]
    key: String,
    #[serde(rename = "type")]
    #[schema(example = "blueprint")]
    resource_type: String,
    #[schema(example = "1.0.0")]
    version: String,
    #[schema(value_type = Value)]
    content: Option<Value>,
}

/// Which version to try or upgrade to (the latest when left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = PickVersion)]
pub(crate) struct VersionBody {
    #[schema(example = "1.2.0")]
    version: Option<String>,
}

/// Which version to fork (the latest when left out) and the new resource's key
/// (the listing's when left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = Customize)]
pub(crate) struct CustomizeBody {
    version: Option<String>,
    key: Option<String>,
}

fn optional_version(v: &mut Validator, raw: Option<&str>) -> Option<Option<Semver>> {
    match raw {
        None => Some(None),
        Some(raw) => v.check("version", Semver::parse(raw)).map(Some),
    }
}

// --- Views out. -----------------------------------------------------------------

fn raw_json(document: &Document) -> Box<RawValue> {
    RawValue::from_string(document.as_str().to_owned())
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"))
}

/// Where a fork came from.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Provenance)]
pub(crate) struct ProvenanceView {
    org_id: Uuid,
    listing_id: Uuid,
    listing_key: String,
    version: String,
}

impl From<Provenance> for ProvenanceView {
    fn from(p: Provenance) -> Self {
        Self {
            org_id: p.org_id.as_uuid(),
            listing_id: p.listing_id.as_uuid(),
            listing_key: p.listing_key.to_string(),
            version: p.version.to_string(),
        }
    }
}

/// One version of a namespace resource.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Resource)]
pub(crate) struct ResourceView {
    id: Uuid,
    key: String,
    #[serde(rename = "type")]
    resource_type: String,
    version: String,
    #[schema(value_type = Value)]
    content: Box<RawValue>,
    /// Set on forks of a library listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<ProvenanceView>,
    created_at: DateTime<Utc>,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id.as_uuid(),
            key: r.key.to_string(),
            resource_type: r.resource_type.to_string(),
            version: r.version.to_string(),
            content: raw_json(&r.content),
            provenance: r.provenance.map(ProvenanceView::from),
            created_at: r.created_at,
        }
    }
}

/// Access to a listing for one org's namespaces.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AccessGrantView)]
pub(crate) struct GrantView {
    org_id: Uuid,
    /// `"*"` or a list of namespace keys.
    #[schema(value_type = Value)]
    namespace_keys: Value,
}

impl From<&Grant> for GrantView {
    fn from(g: &Grant) -> Self {
        Self {
            org_id: g.org_id.as_uuid(),
            namespace_keys: match &g.namespaces {
                NamespaceSelector::All => Value::from("*"),
                NamespaceSelector::Keys(keys) => keys.iter().map(|k| k.as_str()).collect(),
            },
        }
    }
}

/// A published version, without its content.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListingVersionSummary)]
pub(crate) struct VersionView {
    version: String,
    published_at: DateTime<Utc>,
}

impl From<VersionInfo> for VersionView {
    fn from(v: VersionInfo) -> Self {
        Self {
            version: v.version.to_string(),
            published_at: v.at,
        }
    }
}

/// A listing as its publisher sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Listing)]
pub(crate) struct ListingView {
    id: Uuid,
    org_id: Uuid,
    key: String,
    title: String,
    description: String,
    resource_type: String,
    #[schema(example = "org")]
    scope: &'static str,
    access_grants: Vec<GrantView>,
    latest_version: String,
    /// Oldest first; present when one listing is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    versions: Option<Vec<VersionView>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ListingView {
    fn new(l: Listing, versions: Option<Vec<VersionInfo>>) -> Self {
        Self {
            id: l.id.as_uuid(),
            org_id: l.org_id.as_uuid(),
            key: l.key.to_string(),
            title: l.title.to_string(),
            description: l.description.as_str().to_owned(),
            resource_type: l.resource_type.to_string(),
            scope: l.scope.as_str(),
            access_grants: l.grants.iter().map(GrantView::from).collect(),
            latest_version: l.latest.to_string(),
            versions: versions.map(|vs| vs.into_iter().map(VersionView::from).collect()),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A listing as a namespace it is granted to sees it (grants are the
/// publisher's business).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LibraryListing)]
pub(crate) struct LibraryListingView {
    id: Uuid,
    /// The publisher.
    org_id: Uuid,
    key: String,
    title: String,
    description: String,
    resource_type: String,
    latest_version: String,
    /// Oldest first; present when one listing is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    versions: Option<Vec<VersionView>>,
    updated_at: DateTime<Utc>,
}

impl LibraryListingView {
    fn new(l: Listing, versions: Option<Vec<VersionInfo>>) -> Self {
        Self {
            id: l.id.as_uuid(),
            org_id: l.org_id.as_uuid(),
            key: l.key.to_string(),
            title: l.title.to_string(),
            description: l.description.as_str().to_owned(),
            resource_type: l.resource_type.to_string(),
            latest_version: l.latest.to_string(),
            versions: versions.map(|vs| vs.into_iter().map(VersionView::from).collect()),
            updated_at: l.updated_at,
        }
    }
}

/// One published version with its content.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListingVersion)]
pub(crate) struct ListingVersionView {
    listing_id: Uuid,
    version: String,
    #[schema(value_type = Value)]
    content: Box<RawValue>,
    published_at: DateTime<Utc>,
}

impl From<ListingVersion> for ListingVersionView {
    fn from(v: ListingVersion) -> Self {
        Self {
            listing_id: v.listing_id.as_uuid(),
            version: v.version.to_string(),
            content: raw_json(&v.content),
            published_at: v.published_at,
        }
    }
}

/// What a publication stored: the listing now, and the version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Publication)]
pub(crate) struct PublishedView {
    listing: ListingView,
    version: ListingVersionView,
}

/// A namespace's pin of a listing to one version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Install)]
pub(crate) struct InstallView {
    id: Uuid,
    listing_id: Uuid,
    listing_key: String,
    /// The publisher.
    listing_org_id: Uuid,
    /// The pinned version: new versions of the listing never move it.
    version: String,
    installed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Install> for InstallView {
    fn from(i: Install) -> Self {
        Self {
            id: i.id.as_uuid(),
            listing_id: i.listing_id.as_uuid(),
            listing_key: i.listing_key.to_string(),
            listing_org_id: i.listing_org_id.as_uuid(),
            version: i.pinned.to_string(),
            installed_at: i.installed_at,
            updated_at: i.updated_at,
        }
    }
}

/// An install and the content of its pinned version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = InstalledContent)]
pub(crate) struct InstalledContentView {
    install: InstallView,
    #[schema(value_type = Value)]
    content: Box<RawValue>,
}

/// An upgrade: the pin before and after.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Upgrade)]
pub(crate) struct UpgradeView {
    from: String,
    to: String,
    install: InstallView,
}

fn created_or_replayed(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

// --- The org side. ----------------------------------------------------------------

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

// --- The namespace side. ------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_stored_as_canonical_text() {
        let a: Value = serde_json::from_str(r#"{ "b": [1, {"z": 1, "y": 2}], "a": "x" }"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":"x","b":[1,{"y":2,"z":1}]}"#).unwrap();
        let mut v = Validator::body();
        let da = document(&mut v, "content", Some(a)).unwrap();
        let db = document(&mut v, "content", Some(b)).unwrap();
        assert_eq!(da.as_str(), r#"{"a":"x","b":[1,{"y":2,"z":1}]}"#);
        assert_eq!(da.digest(), db.digest());
    }
}
