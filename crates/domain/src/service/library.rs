//! Library use cases (SPEC §4): an org publishes listings and grants them; a
//! namespace key stores its own resources, sees the listings granted to it,
//! tries them in place (a pin), upgrades pins, and customizes listings into
//! forks that carry their provenance.
//!
//! Every write retries on a fresh read when the store reports that what it was
//! based on changed meanwhile (`Stale`, or a unique key taken by a racing
//! writer), so concurrent identical requests converge on one result.

use chrono::{DateTime, Utc};

use super::audit::SealFailed;
use super::errors::{ApiKeyError, LibraryError};
use super::orgs::{decode_id_cursor, id_position};
use super::{MAX_WRITE_ATTEMPTS, Subject, Tenancy};
use crate::audit::{AuditAction, AuditRecord, Change, Context, TargetKind};
use crate::auth::{NamespacePrincipal, Principal};
use crate::ids::{InstallId, ListingId, ListingRef, OrgRef, ResourceId};
use crate::keys::ResourceKey;
use crate::library::{
    Admitted, Grant, Install, Listing, ListingScope, ListingVersion, NamespaceSelector,
    NewResource, Provenance, PublishListing, Resource, Semver, VersionInfo, admit_version,
};
use crate::lifecycle::TenantStatus;
use crate::namespace::Namespace;
use crate::org::Org;
use crate::page::{Cursor, Limit, Page, PageError, Position};
use crate::ports::{DataScope, StoreError, Unique};
use crate::scope::Scope;

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

fn key_position(key: &ResourceKey, id: uuid::Uuid) -> Position {
    Position {
        order: ORDER_BY_KEY.to_owned(),
        id,
        text: Some(key.as_str().to_owned()),
    }
}

fn decode_key_cursor(cursor: Option<&Cursor>) -> Result<Option<ResourceKey>, PageError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let position = cursor.decode(ORDER_BY_KEY)?;
    let text = position.text.ok_or(PageError::Cursor)?;
    ResourceKey::parse(&text)
        .map(Some)
        .map_err(|_| PageError::Cursor)
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

impl Tenancy {
    // --- The org side: publishing and granting. -------------------------------

    /// The org `org` as its manager sees it.
    async fn library_org(&self, ctx: &Context, org: &OrgRef) -> Result<Org, LibraryError> {
        self.find_org(ctx, org)
            .await?
            .ok_or(LibraryError::OrgNotFound)
    }

    /// Checks who may publish or grant a listing of `scope` with `grants`: a
    /// platform listing needs the platform admin; an org listing may only be
    /// granted within its org; a granted org must exist.
    async fn check_grants(
        &self,
        ctx: &Context,
        org: &Org,
        scope: ListingScope,
        grants: &[Grant],
    ) -> Result<(), LibraryError> {
        if scope == ListingScope::Platform && !ctx.principal.is_platform_admin() {
            return Err(LibraryError::PlatformAdminOnly);
        }
        for (index, grant) in grants.iter().enumerate() {
            if grants[..index].iter().any(|g| g.org_id == grant.org_id) {
                return Err(LibraryError::InvalidGrant {
                    index,
                    reason: "names an org an earlier grant names; give each org one grant",
                });
            }
            if grant.org_id == org.id {
                continue;
            }
            if scope == ListingScope::Org {
                return Err(LibraryError::InvalidGrant {
                    index,
                    reason: "an org-scoped listing can only be granted to its own org; \
                             publish it with scope `platform` to grant it to others",
                });
            }
            let exists = self
                .ports
                .orgs
                .get_org(&DataScope::Platform, &OrgRef::Id(grant.org_id))
                .await?
                .is_some();
            if !exists {
                return Err(LibraryError::InvalidGrant {
                    index,
                    reason: "no org has this id",
                });
            }
        }
        Ok(())
    }

    /// Publishes a listing version: a new listing, or the next version of one.
    /// The listing's title, description, scope and grants become the request's.
    /// Publishing a stored version again with the same content changes nothing.
    pub async fn publish_listing(
        &self,
        ctx: &Context,
        org: &OrgRef,
        new: PublishListing,
    ) -> Result<Published, LibraryError> {
        let org = self.library_org(ctx, org).await?;
        self.check_grants(ctx, &org, new.scope, &new.grants).await?;
        let scope = ctx.principal.scope_in(org.id);
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self
                .ports
                .library
                .get_listing(&scope, org.id, &new.key)
                .await?;
            let now = self.now();
            let (listing, changes) = match current {
                None => {
                    let listing = Listing {
                        id: ListingId::from_uuid(self.new_id()),
                        org_id: org.id,
                        key: new.key.clone(),
                        title: new.title.clone(),
                        description: new.description.clone(),
                        resource_type: new.resource_type.clone(),
                        scope: new.scope,
                        grants: new.grants.clone(),
                        latest: new.version.clone(),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    let change = Change::of("version", &None, &Some(&new.version), |v| {
                        v.map(|v| v.to_string())
                    });
                    (listing, change.into_iter().collect::<Vec<_>>())
                }
                Some(current) => {
                    if current.resource_type != new.resource_type {
                        return Err(LibraryError::TypeMismatch {
                            key: new.key,
                            stored: current.resource_type,
                        });
                    }
                    if current.scope == ListingScope::Platform && !ctx.principal.is_platform_admin()
                    {
                        return Err(LibraryError::PlatformAdminOnly);
                    }
                    let history = self
                        .ports
                        .library
                        .listing_history(&scope, current.id)
                        .await?;
                    if admit_version(&history, &new.version, new.content.digest())?
                        == Admitted::Replay
                    {
                        let version = self
                            .ports
                            .library
                            .listing_version(&scope, current.id, &new.version)
                            .await?
                            .ok_or(LibraryError::Unavailable(
                                "a listed version could not be read".into(),
                            ))?;
                        return Ok(Published {
                            listing: current,
                            version,
                            created: false,
                        });
                    }
                    let mut changes: Vec<Change> = Vec::new();
                    changes.extend(Change::of("version", &current.latest, &new.version, |v| {
                        Some(v.to_string())
                    }));
                    changes.extend(Change::of("grants", &current.grants, &new.grants, |g| {
                        show_grants(g)
                    }));
                    changes.extend(Change::of("title", &current.title, &new.title, |t| {
                        Some(t.to_string())
                    }));
                    let listing = Listing {
                        title: new.title.clone(),
                        description: new.description.clone(),
                        scope: new.scope,
                        grants: new.grants.clone(),
                        latest: new.version.clone(),
                        updated_at: now,
                        version: current.version + 1,
                        ..current
                    };
                    (listing, changes)
                }
            };
            let version = ListingVersion {
                listing_id: listing.id,
                org_id: org.id,
                version: new.version.clone(),
                content: new.content.clone(),
                published_at: now,
                published_by: ctx.actor(),
            };
            let audit =
                self.listing_audit(ctx, now, &listing, AuditAction::ListingPublished, changes);
            match self
                .ports
                .library
                .publish_listing(&scope, &listing, &version, &audit)
                .await
            {
                Ok(()) => {
                    return Ok(Published {
                        listing,
                        version,
                        created: true,
                    });
                }
                // Someone published meanwhile: decide again on what is stored now.
                Err(
                    StoreError::Stale
                    | StoreError::Taken(Unique::ListingKey)
                    | StoreError::Taken(Unique::Version),
                ) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LibraryError::Unavailable(
            "the listing kept changing during publication".into(),
        ))
    }

    /// Replaces a listing's grants. Namespaces no longer granted stop seeing
    /// the listing and cannot install it; their existing pins keep resolving.
    pub async fn set_listing_grants(
        &self,
        ctx: &Context,
        org: &OrgRef,
        listing: &ListingRef,
        grants: Vec<Grant>,
    ) -> Result<Listing, LibraryError> {
        let org = self.library_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.org_listing(&scope, &org, listing).await?;
            self.check_grants(ctx, &org, current.scope, &grants).await?;
            let changes: Vec<Change> =
                Change::of("grants", &current.grants, &grants, |g| show_grants(g))
                    .into_iter()
                    .collect();
            if changes.is_empty() {
                return Ok(current);
            }
            let now = self.now();
            let next = Listing {
                grants: grants.clone(),
                updated_at: now,
                version: current.version + 1,
                ..current
            };
            let audit =
                self.listing_audit(ctx, now, &next, AuditAction::ListingGrantsChanged, changes);
            match self
                .ports
                .library
                .update_listing(&scope, &next, &audit)
                .await
            {
                Ok(()) => return Ok(next),
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LibraryError::Unavailable(
            "too many concurrent listing updates".into(),
        ))
    }

    async fn org_listing(
        &self,
        scope: &DataScope,
        org: &Org,
        listing: &ListingRef,
    ) -> Result<Listing, LibraryError> {
        let found = match listing {
            ListingRef::Key(key) => self.ports.library.get_listing(scope, org.id, key).await?,
            ListingRef::Id(id) => self.ports.library.get_listing_by_id(scope, *id).await?,
        };
        found
            .filter(|l| l.org_id == org.id)
            .ok_or(LibraryError::ListingNotFound)
    }

    /// One of the org's listings with its version history.
    pub async fn get_listing(
        &self,
        ctx: &Context,
        org: &OrgRef,
        listing: &ListingRef,
    ) -> Result<ListingDetail, LibraryError> {
        let org = self.library_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        let listing = self.org_listing(&scope, &org, listing).await?;
        let versions = self
            .ports
            .library
            .listing_history(&scope, listing.id)
            .await?;
        Ok(ListingDetail { listing, versions })
    }

    /// One version of one of the org's listings, with its content.
    pub async fn get_listing_version(
        &self,
        ctx: &Context,
        org: &OrgRef,
        listing: &ListingRef,
        version: &Semver,
    ) -> Result<ListingVersion, LibraryError> {
        let org = self.library_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        let listing = self.org_listing(&scope, &org, listing).await?;
        self.ports
            .library
            .listing_version(&scope, listing.id, version)
            .await?
            .ok_or(LibraryError::VersionNotFound(version.clone()))
    }

    /// The org's listings in key order.
    pub async fn list_listings(
        &self,
        ctx: &Context,
        org: &OrgRef,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Listing>, LibraryError> {
        let after = decode_key_cursor(cursor)?;
        let org = self.library_org(ctx, org).await?;
        let items = self
            .ports
            .library
            .list_listings(
                &ctx.principal.scope_in(org.id),
                org.id,
                after,
                limit.get() + 1,
            )
            .await?;
        Ok(Page::from_fetched(items, limit, |l| {
            key_position(&l.key, l.id.as_uuid())
        }))
    }

    fn listing_audit(
        &self,
        ctx: &Context,
        at: DateTime<Utc>,
        listing: &Listing,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> AuditRecord {
        self.audit(
            ctx,
            at,
            Subject {
                action,
                target_kind: TargetKind::Listing,
                target_id: listing.id.as_uuid(),
                org_id: listing.org_id,
                tenant_id: None,
                changes,
            },
        )
    }
}

impl Tenancy {
    // --- The namespace side: resources, the library, installs and forks. ------

    /// The calling key's namespace, refusing writes unless its tenant is active.
    async fn calling_namespace(
        &self,
        ctx: &Context,
        me: &NamespacePrincipal,
        writing: bool,
    ) -> Result<Namespace, LibraryError> {
        let (tenant, ns) = self.namespace_of(ctx, me).await?;
        if writing && tenant.lifecycle.status != TenantStatus::Active {
            return Err(LibraryError::TenantNotActive(tenant.lifecycle.status));
        }
        Ok(ns)
    }

    /// Stores a version of a resource in the calling namespace (`resources:write`).
    /// A new key starts a resource (counted against the tenant's quota); a known
    /// key takes a greater version of the same type. Sending a stored version
    /// again with the same content changes nothing.
    pub async fn create_resource(
        &self,
        ctx: &Context,
        new: NewResource,
    ) -> Result<StoredResource, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesWrite)?;
        may_touch(me, &new.key)?;
        let scope = ctx.principal.base_scope();
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let ns = self.calling_namespace(ctx, me, true).await?;
            let latest = self
                .ports
                .library
                .get_resource(&scope, ns.id, &new.key, None)
                .await?;
            let mut provenance = None;
            if let Some(latest) = &latest {
                if latest.resource_type != new.resource_type {
                    return Err(LibraryError::TypeMismatch {
                        key: new.key,
                        stored: latest.resource_type.clone(),
                    });
                }
                let history = self
                    .ports
                    .library
                    .resource_history(&scope, ns.id, &new.key)
                    .await?;
                if admit_version(&history, &new.version, new.content.digest())? == Admitted::Replay
                {
                    let resource = self
                        .ports
                        .library
                        .get_resource(&scope, ns.id, &new.key, Some(new.version.clone()))
                        .await?
                        .ok_or(LibraryError::Unavailable(
                            "a listed version could not be read".into(),
                        ))?;
                    return Ok(StoredResource {
                        resource,
                        created: false,
                    });
                }
                // Later versions of a fork stay a fork of the same origin.
                provenance = latest.provenance.clone();
            }
            let resource = self.new_resource(ctx, &ns, &new, provenance);
            let after = latest.as_ref().map(|l| &l.version);
            match self
                .store_resource(ctx, &resource, after, AuditAction::ResourceCreated)
                .await
            {
                Ok(()) => {
                    return Ok(StoredResource {
                        resource,
                        created: true,
                    });
                }
                Err(StoreError::Stale | StoreError::Taken(Unique::Version)) => continue,
                Err(e) => return Err(self.resource_refusal(e)),
            }
        }
        Err(LibraryError::Unavailable(
            "the resource kept changing during the write".into(),
        ))
    }

    fn new_resource(
        &self,
        ctx: &Context,
        ns: &Namespace,
        new: &NewResource,
        provenance: Option<Provenance>,
    ) -> Resource {
        Resource {
            id: ResourceId::from_uuid(self.new_id()),
            org_id: ns.org_id,
            tenant_id: ns.tenant_id,
            namespace_id: ns.id,
            key: new.key.clone(),
            resource_type: new.resource_type.clone(),
            version: new.version.clone(),
            content: new.content.clone(),
            provenance,
            created_at: self.now(),
            created_by: ctx.actor(),
        }
    }

    async fn store_resource(
        &self,
        ctx: &Context,
        resource: &Resource,
        after: Option<&Semver>,
        action: AuditAction,
    ) -> Result<(), StoreError> {
        let mut changes: Vec<Change> =
            Change::of("version", &None, &Some(&resource.version), |v| {
                v.map(|v| v.to_string())
            })
            .into_iter()
            .collect();
        if let Some(p) = &resource.provenance {
            changes.push(Change {
                field: "provenance",
                from: None,
                to: Some(format!("{}@{}", p.listing_id, p.version)),
            });
        }
        let mut audit = self.audit(
            ctx,
            resource.created_at,
            Subject {
                action,
                target_kind: TargetKind::Resource,
                target_id: resource.id.as_uuid(),
                org_id: resource.org_id,
                tenant_id: Some(resource.tenant_id),
                changes,
            },
        );
        self.seal_audit(&ctx.principal.base_scope(), &mut audit)
            .await
            .map_err(SealFailed::into_store_error)?;
        self.ports
            .library
            .create_resource(
                &ctx.principal.base_scope(),
                resource,
                after.cloned(),
                self.settings.max_resources_per_tenant,
                &audit,
            )
            .await
    }

    fn resource_refusal(&self, e: StoreError) -> LibraryError {
        match e {
            StoreError::LimitReached { used } => LibraryError::QuotaExceeded {
                quota: "max_resources",
                used,
                limit: self.settings.max_resources_per_tenant,
            },
            e => e.into(),
        }
    }

    /// A resource of the calling namespace at `version`, or its latest
    /// (`resources:read`).
    pub async fn get_resource(
        &self,
        ctx: &Context,
        key: &ResourceKey,
        version: Option<&Semver>,
    ) -> Result<Resource, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesRead)?;
        may_touch(me, key).map_err(|_| LibraryError::ResourceNotFound(key.clone()))?;
        let found = self
            .ports
            .library
            .get_resource(
                &ctx.principal.base_scope(),
                me.namespace_id,
                key,
                version.cloned(),
            )
            .await?;
        match (found, version) {
            (Some(r), _) => Ok(r),
            (None, Some(v)) => Err(LibraryError::VersionNotFound(v.clone())),
            (None, None) => Err(LibraryError::ResourceNotFound(key.clone())),
        }
    }

    /// The calling namespace's resources at their latest versions, in key order
    /// (`resources:read`); a key restricted to some resources sees only those.
    pub async fn list_resources(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Resource>, LibraryError> {
        let me = namespace_caller(ctx, Scope::ResourcesRead)?;
        let after = decode_key_cursor(cursor)?;
        let scope = ctx.principal.base_scope();
        let items = match &me.resources {
            None => {
                self.ports
                    .library
                    .list_resources(&scope, me.namespace_id, after, limit.get() + 1)
                    .await?
            }
            Some(allowed) => {
                let mut keys: Vec<ResourceKey> = allowed
                    .iter()
                    .filter_map(|k| ResourceKey::parse(k).ok())
                    .filter(|k| after.as_ref().is_none_or(|a| k > a))
                    .collect();
                keys.sort();
                let mut items = Vec::new();
                for key in keys {
                    if items.len() > limit.get() {
                        break;
                    }
                    if let Some(r) = self
                        .ports
                        .library
                        .get_resource(&scope, me.namespace_id, &key, None)
                        .await?
                    {
                        items.push(r);
                    }
                }
                items
            }
        };
        Ok(Page::from_fetched(items, limit, |r| {
            key_position(&r.key, r.id.as_uuid())
        }))
    }

    /// The listings granted to the calling namespace (`library:read`).
    pub async fn library(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Listing>, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryRead)?;
        let after = decode_id_cursor(cursor)?.map(ListingId::from_uuid);
        let ns = self.calling_namespace(ctx, me, false).await?;
        let items = self
            .ports
            .library
            .granted_listings(
                &ctx.principal.base_scope(),
                me.org_id,
                &ns.key,
                None,
                after,
                limit.get() + 1,
            )
            .await?;
        Ok(Page::from_fetched(items, limit, |l| {
            id_position(l.id.as_uuid())
        }))
    }

    /// A listing granted to the calling namespace, with its versions
    /// (`library:read`). Anything not granted is not found.
    pub async fn library_listing(
        &self,
        ctx: &Context,
        listing: &ListingRef,
    ) -> Result<ListingDetail, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryRead)?;
        let ns = self.calling_namespace(ctx, me, false).await?;
        let listing = self.granted_listing(ctx, me, &ns, listing).await?;
        let versions = self
            .ports
            .library
            .listing_history(&ctx.principal.base_scope(), listing.id)
            .await?;
        Ok(ListingDetail { listing, versions })
    }

    /// The listing `listing` if it is granted to namespace `ns`. By key, the
    /// namespace's own org's listing comes first; listings of several other
    /// publishers with that key must be named by id.
    async fn granted_listing(
        &self,
        ctx: &Context,
        me: &NamespacePrincipal,
        ns: &Namespace,
        listing: &ListingRef,
    ) -> Result<Listing, LibraryError> {
        let scope = ctx.principal.base_scope();
        match listing {
            ListingRef::Id(id) => self
                .ports
                .library
                .get_listing_by_id(&scope, *id)
                .await?
                .filter(|l| l.grants_to(me.org_id, &ns.key))
                .ok_or(LibraryError::ListingNotFound),
            ListingRef::Key(key) => {
                let mut found = self
                    .ports
                    .library
                    .granted_listings(
                        &scope,
                        me.org_id,
                        &ns.key,
                        Some(key.clone()),
                        None,
                        SAME_KEY_LOOKUP,
                    )
                    .await?;
                if let Some(own) = found.iter().position(|l| l.org_id == me.org_id) {
                    return Ok(found.swap_remove(own));
                }
                match found.len() {
                    0 => Err(LibraryError::ListingNotFound),
                    1 => Ok(found.remove(0)),
                    _ => Err(LibraryError::AmbiguousListing(key.clone())),
                }
            }
        }
    }

    /// The version `wanted` of `listing` (its latest when `None`), which must exist.
    async fn chosen_version(
        &self,
        scope: &DataScope,
        listing: &Listing,
        wanted: Option<&Semver>,
    ) -> Result<ListingVersion, LibraryError> {
        let version = wanted.unwrap_or(&listing.latest);
        self.ports
            .library
            .listing_version(scope, listing.id, version)
            .await?
            .ok_or(LibraryError::VersionNotFound(version.clone()))
    }

    /// Installs a granted listing in place (`library:write`): a pin to `version`
    /// (the latest when `None`), no copy. Trying a listing installed at that
    /// version again changes nothing; at another version it is a conflict
    /// (upgrade moves a pin).
    pub async fn try_listing(
        &self,
        ctx: &Context,
        listing: &ListingRef,
        version: Option<&Semver>,
    ) -> Result<Installed, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryWrite)?;
        let scope = ctx.principal.base_scope();
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let ns = self.calling_namespace(ctx, me, true).await?;
            let listing = self.granted_listing(ctx, me, &ns, listing).await?;
            let chosen = self.chosen_version(&scope, &listing, version).await?;
            let existing = self
                .ports
                .library
                .get_install(&scope, ns.id, &ListingRef::Key(listing.key.clone()))
                .await?;
            if let Some(existing) = existing {
                if existing.listing_id == listing.id && existing.pinned == chosen.version {
                    return Ok(Installed {
                        install: existing,
                        created: false,
                    });
                }
                return Err(LibraryError::AlreadyInstalled {
                    listing: existing.listing_key,
                    pinned: existing.pinned,
                });
            }
            let now = self.now();
            let install = Install {
                id: InstallId::from_uuid(self.new_id()),
                org_id: ns.org_id,
                tenant_id: ns.tenant_id,
                namespace_id: ns.id,
                listing_id: listing.id,
                listing_org_id: listing.org_id,
                listing_key: listing.key.clone(),
                pinned: chosen.version.clone(),
                installed_at: now,
                updated_at: now,
                version: 1,
            };
            let changes = Change::of("version", &None, &Some(&install.pinned), |v| {
                v.map(|v| v.to_string())
            })
            .into_iter()
            .collect();
            let mut audit =
                self.install_audit(ctx, now, &install, AuditAction::ListingInstalled, changes);
            self.seal_audit(&scope, &mut audit).await?;
            match self
                .ports
                .library
                .create_install(&scope, &install, &audit)
                .await
            {
                Ok(()) => {
                    return Ok(Installed {
                        install,
                        created: true,
                    });
                }
                Err(StoreError::Stale | StoreError::Taken(Unique::Install)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LibraryError::Unavailable(
            "the install kept changing during the write".into(),
        ))
    }

    /// Moves an install's pin forward to `version` (the listing's latest when
    /// `None`), explicitly; never backwards. Already there: nothing changes.
    pub async fn upgrade_install(
        &self,
        ctx: &Context,
        listing: &ListingRef,
        version: Option<&Semver>,
    ) -> Result<Upgraded, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryWrite)?;
        let scope = ctx.principal.base_scope();
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let ns = self.calling_namespace(ctx, me, true).await?;
            let listing = self.granted_listing(ctx, me, &ns, listing).await?;
            let current = self
                .ports
                .library
                .get_install(&scope, ns.id, &ListingRef::Id(listing.id))
                .await?
                .ok_or(LibraryError::InstallNotFound)?;
            let target = self
                .chosen_version(&scope, &listing, version)
                .await?
                .version;
            if target == current.pinned {
                return Ok(Upgraded {
                    from: current.pinned.clone(),
                    to: target,
                    install: current,
                });
            }
            if target < current.pinned {
                return Err(LibraryError::NotForward {
                    pinned: current.pinned,
                    requested: target,
                });
            }
            let now = self.now();
            let from = current.pinned.clone();
            let changes = Change::of("version", &current.pinned, &target, |v| Some(v.to_string()))
                .into_iter()
                .collect();
            let next = Install {
                pinned: target.clone(),
                updated_at: now,
                version: current.version + 1,
                ..current
            };
            let mut audit =
                self.install_audit(ctx, now, &next, AuditAction::InstallUpgraded, changes);
            self.seal_audit(&scope, &mut audit).await?;
            match self
                .ports
                .library
                .update_install(&scope, &next, &audit)
                .await
            {
                Ok(()) => {
                    return Ok(Upgraded {
                        from,
                        to: target,
                        install: next,
                    });
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(LibraryError::Unavailable(
            "the install kept changing during the upgrade".into(),
        ))
    }

    /// Forks a granted listing into the calling namespace (`library:write`; the
    /// key's resource restriction applies to the fork's key): a new resource `key` (the listing's key when `None`)
    /// at the listing's `version` (latest when `None`), with its provenance.
    /// Later listing versions never touch it.
    pub async fn customize_listing(
        &self,
        ctx: &Context,
        listing: &ListingRef,
        version: Option<&Semver>,
        key: Option<ResourceKey>,
    ) -> Result<Resource, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryWrite)?;
        let scope = ctx.principal.base_scope();
        let ns = self.calling_namespace(ctx, me, true).await?;
        let listing = self.granted_listing(ctx, me, &ns, listing).await?;
        let chosen = self.chosen_version(&scope, &listing, version).await?;
        let key = key.unwrap_or_else(|| listing.key.clone());
        may_touch(me, &key)?;
        if self
            .ports
            .library
            .get_resource(&scope, ns.id, &key, None)
            .await?
            .is_some()
        {
            return Err(LibraryError::ResourceKeyTaken(key));
        }
        let new = NewResource {
            key: key.clone(),
            resource_type: listing.resource_type.clone(),
            version: chosen.version.clone(),
            content: chosen.content.clone(),
        };
        let provenance = Provenance {
            org_id: listing.org_id,
            listing_id: listing.id,
            listing_key: listing.key.clone(),
            version: chosen.version,
        };
        let resource = self.new_resource(ctx, &ns, &new, Some(provenance));
        match self
            .store_resource(ctx, &resource, None, AuditAction::ResourceForked)
            .await
        {
            Ok(()) => Ok(resource),
            // A resource with this key appeared meanwhile.
            Err(StoreError::Stale | StoreError::Taken(Unique::Version)) => {
                match self.calling_namespace(ctx, me, true).await {
                    Ok(_) => Err(LibraryError::ResourceKeyTaken(key)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(self.resource_refusal(e)),
        }
    }

    /// The calling namespace's installs, oldest first (`library:read`).
    pub async fn list_installs(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Install>, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryRead)?;
        let after = decode_id_cursor(cursor)?.map(InstallId::from_uuid);
        let items = self
            .ports
            .library
            .list_installs(
                &ctx.principal.base_scope(),
                me.namespace_id,
                after,
                limit.get() + 1,
            )
            .await?;
        Ok(Page::from_fetched(items, limit, |i| {
            id_position(i.id.as_uuid())
        }))
    }

    /// An install with its pinned version's content (`library:read`). It keeps
    /// resolving after the listing's grant to the namespace is revoked.
    pub async fn install_content(
        &self,
        ctx: &Context,
        listing: &ListingRef,
    ) -> Result<InstalledContent, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryRead)?;
        let scope = ctx.principal.base_scope();
        let install = self
            .ports
            .library
            .get_install(&scope, me.namespace_id, listing)
            .await?
            .ok_or(LibraryError::InstallNotFound)?;
        let version = self
            .ports
            .library
            .listing_version(&scope, install.listing_id, &install.pinned)
            .await?
            .ok_or(LibraryError::Unavailable(
                "an installed version could not be read".into(),
            ))?;
        Ok(InstalledContent { install, version })
    }

    fn install_audit(
        &self,
        ctx: &Context,
        at: DateTime<Utc>,
        install: &Install,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> AuditRecord {
        self.audit(
            ctx,
            at,
            Subject {
                action,
                target_kind: TargetKind::Install,
                target_id: install.id.as_uuid(),
                org_id: install.org_id,
                tenant_id: Some(install.tenant_id),
                changes,
            },
        )
    }
}
