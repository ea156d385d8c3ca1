//! The org side of the library: publishing listings and their versions, and
//! granting them.

use chrono::{DateTime, Utc};

use super::{ListingDetail, Published, fetch_page_by_key, show_grants};
use crate::audit::{AuditAction, AuditRecord, Change, Context, TargetKind};
use crate::ids::{ListingId, ListingRef, OrgRef};
use crate::library::{
    Admitted, Grant, Listing, ListingScope, ListingVersion, PublishListing, Semver, admit_version,
};
use crate::org::Org;
use crate::page::{Cursor, Limit, Page};
use crate::ports::{DataScope, StoreError, Unique};
use crate::service::errors::LibraryError;
use crate::service::retry::{Step, retry_on_stale, written};
use crate::service::{Subject, Tenancy};

impl Tenancy {
    /// The org `org` as its manager sees it.
    pub(super) async fn library_org(
        &self,
        ctx: &Context,
        org: &OrgRef,
    ) -> Result<Org, LibraryError> {
        self.find_org(ctx, org)
            .await?
            .ok_or(LibraryError::OrgNotFound)
    }

    /// Checks who may publish or grant a listing of `scope` with `grants`: a
    /// platform listing needs the platform admin; an org listing may only be
    /// granted within its org; a granted org must exist.
    pub(super) async fn check_grants(
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
        let new = &new;
        retry_on_stale(
            || LibraryError::Unavailable("the listing kept changing during publication".into()),
            || async move {
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
                                key: new.key.clone(),
                                stored: current.resource_type,
                            });
                        }
                        if current.scope == ListingScope::Platform
                            && !ctx.principal.is_platform_admin()
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
                            return Ok(Step::Done(Published {
                                listing: current,
                                version,
                                created: false,
                            }));
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
                let result = self
                    .ports
                    .library
                    .publish_listing(&scope, &listing, &version, &audit)
                    .await;
                match result {
                    // Someone published meanwhile: decide again on what is stored now.
                    Err(StoreError::Taken(Unique::ListingKey | Unique::Version)) => Ok(Step::Retry),
                    result => Ok(written(
                        result,
                        Published {
                            listing,
                            version,
                            created: true,
                        },
                    )?),
                }
            },
        )
        .await
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
        let grants = &grants;
        let org = &org;
        retry_on_stale(
            || LibraryError::Unavailable("too many concurrent listing updates".into()),
            || async move {
                let current = self.org_listing(&scope, org, listing).await?;
                self.check_grants(ctx, org, current.scope, grants).await?;
                let changes: Vec<Change> =
                    Change::of("grants", &current.grants, grants, |g| show_grants(g))
                        .into_iter()
                        .collect();
                if changes.is_empty() {
                    return Ok(Step::Done(current));
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
                let result = self
                    .ports
                    .library
                    .update_listing(&scope, &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }

    pub(super) async fn org_listing(
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
        let fetch = |after, n| async move {
            let org = self.library_org(ctx, org).await?;
            let scope = ctx.principal.scope_in(org.id);
            Ok(self
                .ports
                .library
                .list_listings(&scope, org.id, after, n)
                .await?)
        };
        fetch_page_by_key(cursor, limit, fetch, |l: &Listing| {
            (l.key.as_str(), l.id.as_uuid())
        })
        .await
    }

    pub(super) fn listing_audit(
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
