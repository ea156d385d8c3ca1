//! The library a namespace sees: granted listings, installs (pins and
//! upgrades) and forks (customized listings).

use chrono::{DateTime, Utc};

use super::{
    Installed, InstalledContent, ListingDetail, SAME_KEY_LOOKUP, Upgraded, may_touch,
    namespace_caller,
};
use crate::audit::{AuditAction, AuditRecord, Change, Context, TargetKind};
use crate::auth::NamespacePrincipal;
use crate::ids::{InstallId, ListingId, ListingRef};
use crate::library::{Install, Listing, ListingVersion, NewResource, Provenance, Resource, Semver};
use crate::namespace::Namespace;
use crate::page::{Cursor, Limit, Page, fetch_page_by_id};
use crate::ports::{DataScope, StoreError, Unique};
use crate::scope::Scope;
use crate::service::errors::LibraryError;
use crate::service::retry::{Step, retry_on_stale, written};
use crate::service::{Subject, Tenancy};
use crate::slug::ResourceKey;

impl Tenancy {
    /// The listings granted to the calling namespace (`library:read`).
    pub async fn library(
        &self,
        ctx: &Context,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<Listing>, LibraryError> {
        let me = namespace_caller(ctx, Scope::LibraryRead)?;
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let after = after.map(ListingId::from_uuid);
            let ns = self.calling_namespace(ctx, me, false).await?;
            let scope = ctx.principal.base_scope();
            Ok(self
                .ports
                .library
                .granted_listings(&scope, me.org_id, &ns.key, None, after, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |l: &Listing| l.id.as_uuid()).await
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
    pub(super) async fn granted_listing(
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
    pub(super) async fn chosen_version(
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
        retry_on_stale(
            || LibraryError::Unavailable("the install kept changing during the write".into()),
            || async move {
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
                        return Ok(Step::Done(Installed {
                            install: existing,
                            created: false,
                        }));
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
                let result = self
                    .ports
                    .library
                    .create_install(&scope, &install, &audit)
                    .await;
                match result {
                    Err(StoreError::Taken(Unique::Install)) => Ok(Step::Retry),
                    result => Ok(written(
                        result,
                        Installed {
                            install,
                            created: true,
                        },
                    )?),
                }
            },
        )
        .await
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
        retry_on_stale(
            || LibraryError::Unavailable("the install kept changing during the upgrade".into()),
            || async move {
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
                    return Ok(Step::Done(Upgraded {
                        from: current.pinned.clone(),
                        to: target,
                        install: current,
                    }));
                }
                if target < current.pinned {
                    return Err(LibraryError::NotForward {
                        pinned: current.pinned,
                        requested: target,
                    });
                }
                let now = self.now();
                let from = current.pinned.clone();
                let changes =
                    Change::of("version", &current.pinned, &target, |v| Some(v.to_string()))
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
                let result = self
                    .ports
                    .library
                    .update_install(&scope, &next, &audit)
                    .await;
                Ok(written(
                    result,
                    Upgraded {
                        from,
                        to: target,
                        install: next,
                    },
                )?)
            },
        )
        .await
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
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let after = after.map(InstallId::from_uuid);
            let scope = ctx.principal.base_scope();
            Ok(self
                .ports
                .library
                .list_installs(&scope, me.namespace_id, after, n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |i: &Install| i.id.as_uuid()).await
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

    pub(super) fn install_audit(
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
