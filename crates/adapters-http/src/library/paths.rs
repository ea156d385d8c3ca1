//! The library's path extractors: each parses its segments into domain
//! references (a segment that cannot parse answers `404`) and documents them
//! as OpenAPI path parameters.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use domain::{ListingRef, ResourceKey, Semver};
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::extract::{Segments, path_parameter};
use crate::problem::Problem;

/// `/v1/orgs/{org}/library/listings/{listing}`
#[derive(Debug)]
pub(crate) struct ListingPath {
    pub(super) org: domain::OrgRef,
    pub(super) listing: ListingRef,
}

/// `/v1/orgs/{org}/library/listings/{listing}/versions/{version}`
#[derive(Debug)]
pub(crate) struct ListingVersionPath {
    pub(super) org: domain::OrgRef,
    pub(super) listing: ListingRef,
    pub(super) version: Semver,
}

/// `/v1/namespace/library/{listing}`, `/v1/namespace/installs/{listing}`
#[derive(Debug)]
pub(crate) struct GrantedPath {
    pub(super) listing: ListingRef,
}

/// `/v1/namespace/resources/{key}`
#[derive(Debug)]
pub(crate) struct ResourcePath {
    pub(super) key: ResourceKey,
}

/// `/v1/namespace/resources/{key}/versions/{version}`
#[derive(Debug)]
pub(crate) struct ResourceVersionPath {
    pub(super) key: ResourceKey,
    pub(super) version: Semver,
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
