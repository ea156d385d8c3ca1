//! The library's response bodies: listings (as their publisher and as a
//! granted namespace see them), versions, resources and installs. Stored
//! documents are answered back as their exact stored text.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::{
    Document, Grant, Install, Listing, ListingVersion, NamespaceSelector, Provenance, Resource,
    VersionInfo,
};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) fn raw_json(document: &Document) -> Box<RawValue> {
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
    pub(super) fn new(l: Listing, versions: Option<Vec<VersionInfo>>) -> Self {
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
    pub(super) fn new(l: Listing, versions: Option<Vec<VersionInfo>>) -> Self {
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
    pub(super) listing: ListingView,
    pub(super) version: ListingVersionView,
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
    pub(super) install: InstallView,
    #[schema(value_type = Value)]
    pub(super) content: Box<RawValue>,
}

/// An upgrade: the pin before and after.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Upgrade)]
pub(crate) struct UpgradeView {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) install: InstallView,
}

pub(super) fn created_or_replayed(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}
