//! The storage port of the library: resources, listings, grants and installs.

use async_trait::async_trait;

use super::{DataScope, StoreError};
use crate::audit::AuditRecord;
use crate::ids::ListingRef;
use crate::ids::{InstallId, ListingId, NamespaceId, OrgId};
use crate::library::{Install, Listing, ListingVersion, Resource, Semver, VersionInfo};
use crate::slug::{NamespaceKey, ResourceKey};

/// The library: namespace resources, listings with their versions and grants,
/// and installs. Versions are immutable: nothing here updates or deletes one.
///
/// Visibility follows [`DataScope`] with one addition for listings: a listing
/// (and its versions) is an org-level row of its publisher, and is visible
/// besides to the tenant scopes of every org it is granted to; a version is
/// visible as well to a tenant that has installed the listing, so a pin keeps
/// resolving after its grant is revoked.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LibraryStore: Send + Sync {
    /// The stored versions of resource `key` of `namespace`, without content,
    /// oldest first.
    async fn resource_history(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
    ) -> Result<Vec<VersionInfo>, StoreError>;

    /// Stores a resource version with its audit record, atomically checking:
    /// the tenant is active and the greatest stored version of the key is
    /// `after` (`Stale` otherwise); when the key is new to the namespace, the
    /// tenant holds fewer than `max_resources` resources (distinct keys over all
    /// its namespaces; `LimitReached` otherwise); `Taken(Version)` if that
    /// version is stored.
    async fn create_resource(
        &self,
        scope: &DataScope,
        resource: &Resource,
        after: Option<Semver>,
        max_resources: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Resource `key` of `namespace` at `version`, or at its greatest version.
    async fn get_resource(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
        version: Option<Semver>,
    ) -> Result<Option<Resource>, StoreError>;

    /// The greatest version of each resource of `namespace`, in key order,
    /// strictly after `after`, at most `limit`.
    async fn list_resources(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Publishes a version: inserts `listing` when `listing.version` is 1
    /// (`Taken(ListingKey)` if its org has the key), otherwise replaces the
    /// listing whose stored version is `listing.version - 1` (`Stale` if it
    /// differs); stores `version` (`Taken(Version)` if stored); with the audit
    /// record; all or nothing.
    async fn publish_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        version: &ListingVersion,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// Replaces the listing whose stored version is `listing.version - 1`
    /// (its description or grants), with its audit record. `Stale` otherwise.
    async fn update_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The listing of `org` with this key, if visible.
    async fn get_listing(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &ResourceKey,
    ) -> Result<Option<Listing>, StoreError>;

    /// The listing with this id, if visible.
    async fn get_listing_by_id(
        &self,
        scope: &DataScope,
        id: ListingId,
    ) -> Result<Option<Listing>, StoreError>;

    /// The listings `org` published, in key order, strictly after `after`, at
    /// most `limit`.
    async fn list_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError>;

    /// The listings granted to namespaces keyed `namespace` of `org`, whoever
    /// published them (only those keyed `key` when given), in id order,
    /// strictly after `after`, at most `limit`.
    async fn granted_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        namespace: &NamespaceKey,
        key: Option<ResourceKey>,
        after: Option<ListingId>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError>;

    /// The versions of a listing, without content, oldest first.
    async fn listing_history(
        &self,
        scope: &DataScope,
        listing: ListingId,
    ) -> Result<Vec<VersionInfo>, StoreError>;

    /// One version of a listing, with its content, if visible.
    async fn listing_version(
        &self,
        scope: &DataScope,
        listing: ListingId,
        version: &Semver,
    ) -> Result<Option<ListingVersion>, StoreError>;

    /// Stores an install with its audit record. `Stale` if the tenant is not
    /// active; `Taken(Install)` if the namespace has installed the listing, or
    /// a listing with the same key.
    async fn create_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;

    /// The install of `namespace` of the listing with this id, or with this
    /// key, if any.
    async fn get_install(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        listing: &ListingRef,
    ) -> Result<Option<Install>, StoreError>;

    /// The installs of `namespace` in id order, strictly after `after`, at most
    /// `limit`.
    async fn list_installs(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<InstallId>,
        limit: usize,
    ) -> Result<Vec<Install>, StoreError>;

    /// Replaces the install whose stored version is `install.version - 1` (an
    /// upgrade), with its audit record. `Stale` otherwise, or if the tenant is
    /// not active.
    async fn update_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError>;
}
