//! `LibraryStore`: resources and their versions, listings with grants and
//! versions, installs; who sees what; what a tombstone purges.
//!
//! The cases live in one file per theme (`resources`, `listings`, `installs`);
//! the helpers they share are here.

use domain::ports::{DataScope, StoreError, Unique};
use domain::{AuditAction, Install, Listing, ListingRef, Namespace, Resource, TenantStatus};

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, grant_all, grant_keys, moved, semver, tombstone};

mod installs;
mod listings;
mod resources;

pub use installs::*;
pub use listings::*;
pub use resources::*;

fn tenant_scope(ns: &Namespace) -> DataScope {
    DataScope::Tenant {
        org: ns.org_id,
        tenant: ns.tenant_id,
    }
}

async fn store_resource(store: &StorePorts, f: &Fixtures, r: &Resource, after: Option<&str>) {
    store
        .library
        .create_resource(
            &tenant_scope_of(r),
            r,
            after.map(semver),
            ALL as u64,
            &f.resource_audit(r),
        )
        .await
        .expect("storing a resource version");
}

fn tenant_scope_of(r: &Resource) -> DataScope {
    DataScope::Tenant {
        org: r.org_id,
        tenant: r.tenant_id,
    }
}

async fn publish(store: &StorePorts, f: &Fixtures, listing: &Listing, json: &str) {
    let version = f.listing_version(listing, &listing.latest.to_string(), json);
    store
        .library
        .publish_listing(
            &DataScope::Org(listing.org_id),
            listing,
            &version,
            &f.listing_audit(listing, AuditAction::ListingPublished),
        )
        .await
        .expect("publishing a listing version");
}

async fn install(store: &StorePorts, f: &Fixtures, i: &Install) {
    store
        .library
        .create_install(
            &DataScope::Tenant {
                org: i.org_id,
                tenant: i.tenant_id,
            },
            i,
            &f.install_audit(i, AuditAction::ListingInstalled),
        )
        .await
        .expect("installing a listing");
}

/// The next version of `listing`, at `latest`.
fn next(listing: &Listing, latest: &str) -> Listing {
    Listing {
        latest: semver(latest),
        updated_at: at(1),
        version: listing.version + 1,
        ..listing.clone()
    }
}

fn versions(history: &[domain::VersionInfo]) -> Vec<String> {
    history.iter().map(|v| v.version.to_string()).collect()
}
