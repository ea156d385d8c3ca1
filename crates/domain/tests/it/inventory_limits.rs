//! The inventory's bounds on one caller's work: searches that could only be
//! answered by reading every tenant are refused, and one caller runs at most
//! its share of inventory queries at once (docs/security.md).

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use chrono::{DateTime, Utc};
use domain::ports::{DataScope, Provisioning, StoreError, TenantStore};
use domain::{
    AuditRecord, Context, Limit, ListError, OrgRef, Tenant, TenantFilter, TenantQuery, TenantRef,
    TenantSort,
};

use crate::inventory::{search, seed};
use crate::support::{App, admin, org_caller};

// Before `TenantFilter::check`, each of these reached the store, which read
// every tenant to answer it: "got Ok(Page { items: [..] }) for a two-character
// search".
#[tokio::test]
async fn searches_and_metadata_filters_that_would_read_every_tenant_are_refused() {
    let s = seed().await;
    let long_value = TenantFilter {
        metadata: vec![("tier".to_owned(), "g".repeat(513))],
        ..TenantFilter::default()
    };
    let many_pairs = TenantFilter {
        metadata: (0..65).map(|n| (format!("k{n}"), "v".to_owned())).collect(),
        ..TenantFilter::default()
    };
    let cases = [
        ("a two-character search", search("ac"), "q"),
        ("an empty search", search(""), "q"),
        (
            "a search longer than any name",
            search(&"a".repeat(201)),
            "q",
        ),
        (
            "a metadata value over 512 bytes",
            long_value,
            "metadata.tier",
        ),
        (
            "more metadata pairs than a tenant holds",
            many_pairs,
            "metadata.",
        ),
    ];
    for (what, filter, field) in cases {
        let got = s
            .app
            .tenancy
            .list_tenants(
                &admin(),
                None,
                filter,
                TenantSort::CreatedAsc,
                None,
                Limit::default(),
            )
            .await;
        match got {
            Err(ListError::InvalidFilter(errors)) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, vec![field], "{what}");
            }
            other => panic!("got {other:?} for {what}"),
        }
    }
    // The bounds themselves are allowed.
    let at_bounds = TenantFilter {
        text: Some("acm".to_owned()),
        metadata: vec![("tier".to_owned(), "g".repeat(512))],
        ..TenantFilter::default()
    };
    let page = s
        .app
        .tenancy
        .list_tenants(
            &admin(),
            None,
            at_bounds,
            TenantSort::CreatedAsc,
            None,
            Limit::default(),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

/// A tenant store whose inventory waits until told to answer.
struct Held {
    inner: Arc<dyn TenantStore>,
    entered: tokio::sync::Semaphore,
    release: tokio::sync::Semaphore,
}

#[async_trait::async_trait]
impl TenantStore for Held {
    async fn provision(&self, scope: &DataScope, p: &Provisioning) -> Result<(), StoreError> {
        self.inner.provision(scope, p).await
    }
    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        self.inner.get_tenant(scope, tenant).await
    }
    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.entered.add_permits(1);
        self.release.acquire().await.expect("open").forget();
        self.inner.list_tenants(scope, query).await
    }
    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        self.inner.update_tenant(scope, tenant, audit).await
    }
    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        self.inner.retention_expired(now, limit).await
    }
}

// Before the per-caller limit, the third query went on to the store: "the
// third query was not refused at once: Pending".
#[tokio::test]
async fn one_caller_may_run_two_inventory_queries_at_once_and_a_third_is_refused() {
    let app = App::new();
    let org = app.org("signstack").await;
    let held = Arc::new(Held {
        inner: app.store.clone(),
        entered: tokio::sync::Semaphore::new(0),
        release: tokio::sync::Semaphore::new(0),
    });
    let tenancy = Arc::new(app.tenancy_with(held.clone()));
    let org_ref = OrgRef::Id(org.id);
    let list = |ctx: Context| {
        let (tenancy, org_ref) = (tenancy.clone(), org_ref.clone());
        async move {
            tenancy
                .list_tenants(
                    &ctx,
                    Some(&org_ref),
                    TenantFilter::default(),
                    TenantSort::CreatedAsc,
                    None,
                    Limit::default(),
                )
                .await
        }
    };
    let first = tokio::spawn(list(org_caller(&org)));
    let second = tokio::spawn(list(org_caller(&org)));
    // Both are inside the store now.
    held.entered.acquire_many(2).await.unwrap().forget();
    // Refused at once, without waiting for the store: one poll answers it.
    let mut third = std::pin::pin!(list(org_caller(&org)));
    let polled = third
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    assert!(
        matches!(polled, Poll::Ready(Err(ListError::Busy))),
        "the third query was not refused at once: {polled:?}"
    );
    held.release.add_permits(1);
    let other_caller = tokio::spawn(list(admin()));
    held.entered.acquire().await.unwrap().forget();
    held.release.add_permits(2);
    for running in [first, second, other_caller] {
        running
            .await
            .unwrap()
            .expect("a query within the limit runs");
    }
    // Every slot came back.
    held.release.add_permits(1);
    list(org_caller(&org)).await.expect("a slot is free again");
}
