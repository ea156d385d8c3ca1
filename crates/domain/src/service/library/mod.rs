//! Library use cases (docs/api.md §4): an org publishes listings and grants them; a
//! namespace key stores its own resources, sees the listings granted to it,
//! tries them in place (a pin), upgrades pins, and customizes listings into
//! forks that carry their provenance.
//!
//! Every write retries on a fresh read when the store reports that what it was
//! based on changed meanwhile (`Stale`, or a unique key taken by a racing
//! writer), so concurrent identical requests converge on one result.
//!
//! `publish.rs` holds the org side (listings, versions, grants), `resources.rs`
//! a namespace's own resources, and `installs.rs` the library a namespace sees,
//! its installs (pins, upgrades) and forks.

mod installs;
mod publish;
mod resources;

use super::errors::{ApiKeyError, LibraryError};
use crate::audit::Context;
use crate::auth::{NamespacePrincipal, Principal};
use crate::library::{
    Grant, Install, Listing, ListingVersion, NamespaceSelector, Resource, Semver, VersionInfo,
};
use crate::page::{Cursor, Limit, Page, fetch_page_by_text};
use crate::scope::Scope;
use crate::slug::ResourceKey;

/// The sort order of key-ordered pages (resources, an org's listings).
const ORDER_BY_KEY: &str = "key";

/// How many listings with one key a namespace may be granted (from different
/// publishers) before a lookup by key is refused as ambiguous.
const SAME_KEY_LOOKUP: usize = 8;

/// A published version, and whether this call stored it (`false`: a replay of
/// a version stored with the same content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub listing: Listing,
    pub version: ListingVersion,
    pub created: bool,
}

/// A stored resource version, and whether this call stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResource {
    pub resource: Resource,
    pub created: bool,
}

/// An install, and whether this call created it (`false`: already installed
/// at the requested version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub install: Install,
    pub created: bool,
}

/// The outcome of an upgrade: the pin before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub from: Semver,
    pub to: Semver,
    pub install: Install,
}

/// A listing with its version history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingDetail {
    pub listing: Listing,
    pub versions: Vec<VersionInfo>,
}

/// An install with the content of its pinned version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledContent {
    pub install: Install,
    pub version: ListingVersion,
}

impl From<ApiKeyError> for LibraryError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::NotANamespaceKey => Self::NotANamespaceKey,
            ApiKeyError::MissingScope(s) => Self::MissingScope(s),
            ApiKeyError::Unavailable(m) => Self::Unavailable(m),
            _ => Self::NamespaceNotFound,
        }
    }
}

/// [`fetch_page_by_text`] for listings and resources, in key order.
async fn fetch_page_by_key<T, F>(
    cursor: Option<&Cursor>,
    limit: Limit,
    fetch: impl FnOnce(Option<ResourceKey>, usize) -> F,
    key_of: impl Fn(&T) -> (&str, uuid::Uuid),
) -> Result<Page<T>, LibraryError>
where
    F: Future<Output = Result<Vec<T>, LibraryError>>,
{
    let parse = |text: &str| ResourceKey::parse(text).ok();
    fetch_page_by_text(ORDER_BY_KEY, cursor, limit, parse, fetch, key_of).await
}

/// The caller as a namespace key holding `needs`.
fn namespace_caller(ctx: &Context, needs: Scope) -> Result<&NamespacePrincipal, LibraryError> {
    let Principal::Namespace(me) = &ctx.principal else {
        return Err(LibraryError::NotANamespaceKey);
    };
    if !me.has(needs) {
        return Err(LibraryError::MissingScope(needs));
    }
    Ok(me)
}

/// Whether the key's resource restriction (if any) lets it at `key`.
fn may_touch(me: &NamespacePrincipal, key: &ResourceKey) -> Result<(), LibraryError> {
    match &me.resources {
        Some(allowed) if !allowed.iter().any(|a| a == key.as_str()) => {
            Err(LibraryError::ResourceNotAllowed(key.clone()))
        }
        _ => Ok(()),
    }
}

fn show_grants(grants: &[Grant]) -> Option<String> {
    let shown: Vec<String> = grants
        .iter()
        .map(|g| match &g.namespaces {
            NamespaceSelector::All => format!("{}:*", g.org_id),
            NamespaceSelector::Keys(keys) => {
                let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
                format!("{}:{}", g.org_id, keys.join(","))
            }
        })
        .collect();
    Some(shown.join(" "))
}
