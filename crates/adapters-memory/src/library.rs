//! `LibraryStore` in memory: resources, listings with their versions, installs.
//!
//! Visibility mirrors the Postgres policies: resources and installs are tenant
//! rows; a listing is an org-level row of its publisher, also visible to the
//! tenant scopes of the orgs it is granted to; a listing version is visible
//! where its listing is, and to a tenant that installed the listing.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use domain::ports::{DataScope, LibraryStore, StoreError, Unique};
use domain::{
    AuditRecord, Install, InstallId, Listing, ListingId, ListingRef, ListingVersion, NamespaceId,
    NamespaceKey, OrgId, Resource, ResourceKey, Semver, TenantId, VersionInfo,
};

use crate::store::{MemoryStore, State, in_scope};

#[derive(Default)]
pub(crate) struct LibraryState {
    /// Each resource's versions, oldest first.
    resources: BTreeMap<(NamespaceId, ResourceKey), Vec<Resource>>,
    listings: BTreeMap<ListingId, Listing>,
    listing_keys: HashMap<(OrgId, ResourceKey), ListingId>,
    /// Each listing's versions, in the order published (ascending).
    versions: HashMap<ListingId, Vec<ListingVersion>>,
    installs: BTreeMap<InstallId, Install>,
}

impl LibraryState {
    /// Forgets everything a deleted tenant owned.
    pub(crate) fn purge_tenant(&mut self, tenant: TenantId) {
        self.resources
            .retain(|_, versions| versions.first().is_none_or(|r| r.tenant_id != tenant));
        self.installs.retain(|_, i| i.tenant_id != tenant);
    }

    fn listing_visible(&self, scope: &DataScope, listing: &Listing) -> bool {
        scope.sees_org_level(listing.org_id)
            || match scope {
                DataScope::Tenant { org, .. } => listing.grants.iter().any(|g| g.org_id == *org),
                _ => false,
            }
    }

    fn version_visible(&self, scope: &DataScope, listing: &Listing) -> bool {
        self.listing_visible(scope, listing)
            || match scope {
                DataScope::Tenant { tenant, .. } => self
                    .installs
                    .values()
                    .any(|i| i.tenant_id == *tenant && i.listing_id == listing.id),
                _ => false,
            }
    }

    fn visible_listing(&self, scope: &DataScope, id: ListingId) -> Option<Listing> {
        self.listings
            .get(&id)
            .filter(|l| self.listing_visible(scope, l))
            .map(|l| as_seen(scope, l))
    }

    fn resource_versions(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
    ) -> &[Resource] {
        match self.resources.get(&(namespace, key.clone())) {
            Some(versions)
                if versions
                    .first()
                    .is_some_and(|r| scope.sees_tenant(r.org_id, r.tenant_id)) =>
            {
                versions
            }
            _ => &[],
        }
    }

    fn resources_of_tenant(&self, tenant: TenantId) -> u64 {
        self.resources
            .values()
            .filter(|v| v.first().is_some_and(|r| r.tenant_id == tenant))
            .count() as u64
    }
}

/// `listing` as `scope` sees it: a tenant scope sees only the grants to its own
/// org (as row-level security shows the grant rows in Postgres), never which
/// other orgs the publisher granted.
fn as_seen(scope: &DataScope, listing: &Listing) -> Listing {
    match scope {
        DataScope::Tenant { org, .. } => Listing {
            grants: listing
                .grants
                .iter()
                .filter(|g| g.org_id == *org)
                .cloned()
                .collect(),
            ..listing.clone()
        },
        _ => listing.clone(),
    }
}

fn latest(versions: &[Resource]) -> Option<&Resource> {
    versions.iter().max_by(|a, b| a.version.cmp(&b.version))
}

impl State {
    /// Whether `namespace` exists, belongs to `tenant` of `org`, and the tenant is active.
    fn namespace_writable(&self, org: OrgId, tenant: TenantId, namespace: NamespaceId) -> bool {
        self.namespaces
            .get(&namespace)
            .is_some_and(|ns| ns.tenant_id == tenant && ns.org_id == org)
            && self.tenant_is_active(tenant)
    }
}

#[async_trait]
impl LibraryStore for MemoryStore {
    async fn resource_history(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let s = self.read();
        let mut history: Vec<VersionInfo> = s
            .library
            .resource_versions(scope, namespace, key)
            .iter()
            .map(VersionInfo::from)
            .collect();
        history.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(history)
    }

    async fn create_resource(
        &self,
        scope: &DataScope,
        resource: &Resource,
        after: Option<Semver>,
        max_resources: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_tenant(resource.org_id, resource.tenant_id),
            scope,
            audit,
        )?;
        if !s.namespace_writable(resource.org_id, resource.tenant_id, resource.namespace_id) {
            return Err(StoreError::Stale);
        }
        let versions = s
            .library
            .resource_versions(scope, resource.namespace_id, &resource.key);
        if versions.iter().any(|r| r.version == resource.version) {
            return Err(StoreError::Taken(Unique::Version));
        }
        if latest(versions).map(|r| &r.version) != after.as_ref() {
            return Err(StoreError::Stale);
        }
        if versions.is_empty() {
            let used = s.library.resources_of_tenant(resource.tenant_id);
            if used >= max_resources {
                return Err(StoreError::LimitReached { used });
            }
        }
        s.library
            .resources
            .entry((resource.namespace_id, resource.key.clone()))
            .or_default()
            .push(resource.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_resource(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
        version: Option<Semver>,
    ) -> Result<Option<Resource>, StoreError> {
        let s = self.read();
        let versions = s.library.resource_versions(scope, namespace, key);
        let found = match version {
            Some(v) => versions.iter().find(|r| r.version == v),
            None => latest(versions),
        };
        Ok(found.cloned())
    }

    async fn list_resources(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let s = self.read();
        Ok(s.library
            .resources
            .iter()
            .filter(|((ns, key), _)| *ns == namespace && after.as_ref().is_none_or(|a| key > a))
            .filter_map(|(_, versions)| latest(versions))
            .filter(|r| scope.sees_tenant(r.org_id, r.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn publish_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        version: &ListingVersion,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_org_level(listing.org_id) && version.listing_id == listing.id,
            scope,
            audit,
        )?;
        if !s.orgs.contains_key(&listing.org_id) {
            return Err(StoreError::Stale);
        }
        let lib = &mut s.library;
        if listing.version == 1 {
            if lib
                .listing_keys
                .contains_key(&(listing.org_id, listing.key.clone()))
            {
                return Err(StoreError::Taken(Unique::ListingKey));
            }
        } else {
            match lib.listings.get(&listing.id) {
                Some(stored)
                    if stored.version + 1 == listing.version
                        && stored.org_id == listing.org_id
                        && stored.key == listing.key => {}
                _ => return Err(StoreError::Stale),
            }
        }
        let versions = lib.versions.entry(listing.id).or_default();
        if versions.iter().any(|v| v.version == version.version) {
            return Err(StoreError::Taken(Unique::Version));
        }
        versions.push(version.clone());
        lib.listing_keys
            .insert((listing.org_id, listing.key.clone()), listing.id);
        lib.listings.insert(listing.id, listing.clone());
        s.append(audit);
        Ok(())
    }

    async fn update_listing(
        &self,
        scope: &DataScope,
        listing: &Listing,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.library.listings.get(&listing.id) {
            Some(stored)
                if stored.version + 1 == listing.version
                    && stored.org_id == listing.org_id
                    && stored.key == listing.key
                    && scope.sees_org_level(stored.org_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        s.library.listings.insert(listing.id, listing.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_listing(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &ResourceKey,
    ) -> Result<Option<Listing>, StoreError> {
        let s = self.read();
        Ok(s.library
            .listing_keys
            .get(&(org, key.clone()))
            .and_then(|id| s.library.visible_listing(scope, *id)))
    }

    async fn get_listing_by_id(
        &self,
        scope: &DataScope,
        id: ListingId,
    ) -> Result<Option<Listing>, StoreError> {
        Ok(self.read().library.visible_listing(scope, id))
    }

    async fn list_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError> {
        let s = self.read();
        let mut found: Vec<&Listing> = s
            .library
            .listings
            .values()
            .filter(|l| l.org_id == org && after.as_ref().is_none_or(|a| &l.key > a))
            .filter(|l| s.library.listing_visible(scope, l))
            .collect();
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found.into_iter().take(limit).cloned().collect())
    }

    async fn granted_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        namespace: &NamespaceKey,
        key: Option<ResourceKey>,
        after: Option<ListingId>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError> {
        let s = self.read();
        Ok(s.library
            .listings
            .values()
            .filter(|l| after.is_none_or(|a| l.id > a) && key.as_ref().is_none_or(|k| &l.key == k))
            .filter(|l| l.grants_to(org, namespace) && s.library.listing_visible(scope, l))
            .take(limit)
            .map(|l| as_seen(scope, l))
            .collect())
    }

    async fn listing_history(
        &self,
        scope: &DataScope,
        listing: ListingId,
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let s = self.read();
        let lib = &s.library;
        let Some(found) = lib.listings.get(&listing) else {
            return Ok(Vec::new());
        };
        if !lib.version_visible(scope, found) {
            return Ok(Vec::new());
        }
        let mut history: Vec<VersionInfo> = lib
            .versions
            .get(&listing)
            .into_iter()
            .flatten()
            .map(VersionInfo::from)
            .collect();
        history.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(history)
    }

    async fn listing_version(
        &self,
        scope: &DataScope,
        listing: ListingId,
        version: &Semver,
    ) -> Result<Option<ListingVersion>, StoreError> {
        let s = self.read();
        let lib = &s.library;
        let visible = lib
            .listings
            .get(&listing)
            .is_some_and(|l| lib.version_visible(scope, l));
        Ok(visible
            .then(|| lib.versions.get(&listing))
            .flatten()
            .and_then(|vs| vs.iter().find(|v| &v.version == version))
            .cloned())
    }

    async fn create_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(
            scope.sees_tenant(install.org_id, install.tenant_id),
            scope,
            audit,
        )?;
        if !s.namespace_writable(install.org_id, install.tenant_id, install.namespace_id) {
            return Err(StoreError::Stale);
        }
        let clash = s.library.installs.values().any(|i| {
            i.namespace_id == install.namespace_id
                && (i.listing_id == install.listing_id || i.listing_key == install.listing_key)
        });
        if clash {
            return Err(StoreError::Taken(Unique::Install));
        }
        s.library.installs.insert(install.id, install.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_install(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        listing: &ListingRef,
    ) -> Result<Option<Install>, StoreError> {
        let s = self.read();
        Ok(s.library
            .installs
            .values()
            .filter(|i| i.namespace_id == namespace && scope.sees_tenant(i.org_id, i.tenant_id))
            .find(|i| match listing {
                ListingRef::Id(id) => i.listing_id == *id,
                ListingRef::Key(key) => &i.listing_key == key,
            })
            .cloned())
    }

    async fn list_installs(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<InstallId>,
        limit: usize,
    ) -> Result<Vec<Install>, StoreError> {
        let s = self.read();
        Ok(s.library
            .installs
            .range(crate::store::after(after))
            .map(|(_, i)| i)
            .filter(|i| i.namespace_id == namespace && scope.sees_tenant(i.org_id, i.tenant_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_install(
        &self,
        scope: &DataScope,
        install: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.library.installs.get(&install.id) {
            Some(stored)
                if stored.version + 1 == install.version
                    && stored.namespace_id == install.namespace_id
                    && stored.listing_id == install.listing_id
                    && scope.sees_tenant(stored.org_id, stored.tenant_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        if !s.namespace_writable(install.org_id, install.tenant_id, install.namespace_id) {
            return Err(StoreError::Stale);
        }
        s.library.installs.insert(install.id, install.clone());
        s.append(audit);
        Ok(())
    }
}
