//! The tenant inventory (`list_tenants`): search, filters, org scoping, sort
//! orders and keyset paging with cursors bound to their sort.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use chrono::{DateTime, Utc};
use domain::ports::{DataScope, Provisioning, StoreError, TenantStore};
use domain::{
    AuditRecord, Context, Cursor, Limit, ListError, Org, OrgRef, PageError, ProvisionTenant,
    Region, Regions, Settings, Tenant, TenantFilter, TenantQuery, TenantRef, TenantSort,
    TenantStatus,
};

use crate::support::{App, admin, metadata, name, org_caller, org_key, plan, reason, region, spec};

struct Seeded {
    app: App,
    signstack: Org,
    tigris: Org,
    tenants: Vec<Tenant>,
}

impl Seeded {
    fn id_of(&self, key: &str) -> String {
        let tenant = self.tenants.iter().find(|t| t.key.as_str() == key);
        tenant.expect("a seeded key").id.to_string()
    }
}

/// Nine tenants, created in this order:
///
/// | key     | org       | name            | region  | plan | metadata            | status      |
/// |---------|-----------|-----------------|---------|------|---------------------|-------------|
/// | acme    | signstack | Acme Corp       | global  | free | tier=gold           | active      |
/// | beta    | signstack | beta works      | eu-west | pro  | tier=silver         | active      |
/// | omega   | tigris    | Omega ACME Labs | eu-west | pro  | tier=gold           | active      |
/// | zeta    | signstack | Zeta            | global  | pro  | tier=gold, sla=99-9 | suspended   |
/// | gamma   | signstack | Gamma           | global  | free |                     | deleted     |
/// | delta   | tigris    | Same Name       | global  | free |                     | deactivated |
/// | epsilon | signstack | Same Name       | global  | free |                     | active      |
/// | kappa   | signstack | Kappa           | global  | free |                     | active      |
/// | lambda  | tigris    | lambda          | eu-west | free | tier=gold           | active      |
async fn seed() -> Seeded {
    let app = App::with_settings(Settings {
        regions: Regions::new(vec![
            Region {
                code: region("global"),
                name: name("Global"),
                available: true,
            },
            Region {
                code: region("eu-west"),
                name: name("Europe West"),
                available: true,
            },
        ])
        .unwrap(),
        ..Settings::default()
    });
    let signstack = app.org("signstack").await;
    let tigris = app.org("tigris").await;
    type Row = (
        &'static str,
        bool,
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        TenantStatus,
    );
    let rows: [Row; 9] = [
        (
            "acme",
            true,
            "Acme Corp",
            "global",
            "free",
            &[("tier", "gold")],
            TenantStatus::Active,
        ),
        (
            "beta",
            true,
            "beta works",
            "eu-west",
            "pro",
            &[("tier", "silver")],
            TenantStatus::Active,
        ),
        (
            "omega",
            false,
            "Omega ACME Labs",
            "eu-west",
            "pro",
            &[("tier", "gold")],
            TenantStatus::Active,
        ),
        (
            "zeta",
            true,
            "Zeta",
            "global",
            "pro",
            &[("tier", "gold"), ("sla", "99-9")],
            TenantStatus::Suspended,
        ),
        (
            "gamma",
            true,
            "Gamma",
            "global",
            "free",
            &[],
            TenantStatus::Deleted,
        ),
        (
            "delta",
            false,
            "Same Name",
            "global",
            "free",
            &[],
            TenantStatus::Deactivated,
        ),
        (
            "epsilon",
            true,
            "Same Name",
            "global",
            "free",
            &[],
            TenantStatus::Active,
        ),
        (
            "kappa",
            true,
            "Kappa",
            "global",
            "free",
            &[],
            TenantStatus::Active,
        ),
        (
            "lambda",
            false,
            "lambda",
            "eu-west",
            "free",
            &[("tier", "gold")],
            TenantStatus::Active,
        ),
    ];
    let mut tenants = Vec::new();
    for (key, of_signstack, tenant_name, region_code, plan_code, pairs, status) in rows {
        let org = if of_signstack { &signstack } else { &tigris };
        let provisioned = app
            .provision(
                org,
                ProvisionTenant {
                    name: name(tenant_name),
                    region: Some(region(region_code)),
                    plan: Some(plan(plan_code)),
                    metadata: metadata(pairs),
                    ..spec(key)
                },
            )
            .await;
        let mut tenant = provisioned.tenant;
        if status != TenantStatus::Active {
            tenant = move_to(&app, org, &tenant, status).await;
        }
        tenants.push(tenant);
    }
    Seeded {
        app,
        signstack,
        tigris,
        tenants,
    }
}

async fn move_to(app: &App, org: &Org, tenant: &Tenant, status: TenantStatus) -> Tenant {
    use domain::{LifecycleAction as A, TenantRef};
    let (org_ref, target) = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));
    let ctx = admin();
    let why = reason("seeding");
    let first = match status {
        TenantStatus::Suspended => A::Suspend,
        _ => A::Deactivate,
    };
    let mut moved = app
        .tenancy
        .transition(&ctx, &org_ref, &target, first, why)
        .await
        .unwrap();
    if status == TenantStatus::Deleted {
        moved = app
            .tenancy
            .delete_tenant(&ctx, &org_ref, &target, tenant.key.as_str(), None)
            .await
            .unwrap();
    }
    moved
}

/// The keys on the first page of a listing.
async fn keys(
    app: &App,
    org: Option<&OrgRef>,
    filter: TenantFilter,
    sort: TenantSort,
) -> Vec<String> {
    let page = app
        .tenancy
        .list_tenants(&admin(), org, filter, sort, None, Limit::new(200).unwrap())
        .await
        .unwrap();
    assert_eq!(page.next_cursor, None, "everything fits one page");
    page.items
        .iter()
        .map(|t| t.key.as_str().to_owned())
        .collect()
}

fn search(q: &str) -> TenantFilter {
    TenantFilter {
        text: Some(q.to_owned()),
        ..TenantFilter::default()
    }
}

#[tokio::test]
async fn search_matches_names_case_insensitively_keys_and_exact_ids() {
    let s = seed().await;
    let zeta = s.id_of("zeta");
    let gamma = s.id_of("gamma");
    let cases: Vec<(&str, TenantFilter, Vec<&str>)> = vec![
        ("name and key", search("acme"), vec!["acme", "omega"]),
        ("capitals", search("ACME"), vec!["acme", "omega"]),
        ("mixed case", search("aCmE cOrP"), vec!["acme"]),
        ("inside a name", search("works"), vec!["beta"]),
        ("a key fragment", search("psil"), vec!["epsilon"]),
        ("an exact id", search(&zeta), vec!["zeta"]),
        ("an id, not a prefix of one", search(&zeta[..8]), vec![]),
        (
            "a tombstone's id, tombstones not asked for",
            search(&gamma),
            vec![],
        ),
        (
            "a tombstone's id, tombstones asked for",
            TenantFilter {
                status: Some(TenantStatus::Deleted),
                ..search(&gamma)
            },
            vec!["gamma"],
        ),
        ("nothing like it", search("umbrella"), vec![]),
    ];
    for (what, filter, expected) in cases {
        let got = keys(&s.app, None, filter, TenantSort::CreatedAsc).await;
        assert_eq!(got, expected, "{what}");
    }
}

#[tokio::test]
async fn the_status_filter_shows_tombstones_only_when_asked() {
    let s = seed().await;
    let status = |st| TenantFilter {
        status: Some(st),
        ..TenantFilter::default()
    };
    let cases = [
        (
            "unset: all but deleted",
            TenantFilter::default(),
            vec![
                "acme", "beta", "omega", "zeta", "delta", "epsilon", "kappa", "lambda",
            ],
        ),
        (
            "active",
            status(TenantStatus::Active),
            vec!["acme", "beta", "omega", "epsilon", "kappa", "lambda"],
        ),
        ("suspended", status(TenantStatus::Suspended), vec!["zeta"]),
        (
            "deactivated",
            status(TenantStatus::Deactivated),
            vec!["delta"],
        ),
        ("deleted", status(TenantStatus::Deleted), vec!["gamma"]),
    ];
    for (what, filter, expected) in cases {
        assert_eq!(
            keys(&s.app, None, filter, TenantSort::CreatedAsc).await,
            expected,
            "{what}"
        );
    }
}

#[tokio::test]
async fn region_plan_and_metadata_filters_all_must_match() {
    let s = seed().await;
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let cases = [
        (
            "region",
            TenantFilter {
                region: Some(region("eu-west")),
                ..TenantFilter::default()
            },
            vec!["beta", "omega", "lambda"],
        ),
        (
            "plan",
            TenantFilter {
                plan: Some(plan("pro")),
                ..TenantFilter::default()
            },
            vec!["beta", "omega", "zeta"],
        ),
        (
            "one metadata pair",
            TenantFilter {
                metadata: pairs(&[("tier", "gold")]),
                ..TenantFilter::default()
            },
            vec!["acme", "omega", "zeta", "lambda"],
        ),
        (
            "two metadata pairs",
            TenantFilter {
                metadata: pairs(&[("tier", "gold"), ("sla", "99-9")]),
                ..TenantFilter::default()
            },
            vec!["zeta"],
        ),
        (
            "a metadata key nobody has",
            TenantFilter {
                metadata: pairs(&[("owner", "x")]),
                ..TenantFilter::default()
            },
            vec![],
        ),
        (
            "region, plan and metadata together",
            TenantFilter {
                region: Some(region("eu-west")),
                plan: Some(plan("pro")),
                metadata: pairs(&[("tier", "gold")]),
                ..TenantFilter::default()
            },
            vec!["omega"],
        ),
        (
            "search and region together",
            TenantFilter {
                region: Some(region("global")),
                ..search("acme")
            },
            vec!["acme"],
        ),
    ];
    for (what, filter, expected) in cases {
        assert_eq!(
            keys(&s.app, None, filter, TenantSort::CreatedAsc).await,
            expected,
            "{what}"
        );
    }
}

#[tokio::test]
async fn an_org_scoped_listing_shows_only_that_org_s_tenants() {
    let s = seed().await;
    let signstack = OrgRef::Key(org_key("signstack"));
    let tigris = OrgRef::Id(s.tigris.id);

    let ours = keys(
        &s.app,
        Some(&signstack),
        TenantFilter::default(),
        TenantSort::CreatedAsc,
    )
    .await;
    let theirs = keys(
        &s.app,
        Some(&tigris),
        TenantFilter::default(),
        TenantSort::CreatedAsc,
    )
    .await;
    // The org scope wins over an org filter the caller slipped in.
    let smuggled = keys(
        &s.app,
        Some(&signstack),
        TenantFilter {
            org: Some(s.tigris.id),
            ..TenantFilter::default()
        },
        TenantSort::CreatedAsc,
    )
    .await;
    let platform_filtered = keys(
        &s.app,
        None,
        TenantFilter {
            org: Some(s.signstack.id),
            ..TenantFilter::default()
        },
        TenantSort::CreatedAsc,
    )
    .await;

    assert_eq!(ours, ["acme", "beta", "zeta", "epsilon", "kappa"]);
    assert_eq!(theirs, ["omega", "delta", "lambda"]);
    assert_eq!(smuggled, ours);
    assert_eq!(platform_filtered, ours);
    let unknown = s
        .app
        .tenancy
        .list_tenants(
            &admin(),
            Some(&OrgRef::Key(org_key("nobody"))),
            TenantFilter::default(),
            TenantSort::CreatedAsc,
            None,
            Limit::DEFAULT,
        )
        .await;
    assert_eq!(unknown, Err(ListError::OrgNotFound));
}

#[tokio::test]
async fn every_sort_order_lists_in_its_order() {
    let s = seed().await;
    // Names compare byte by byte (capitals first); equal names by creation.
    let cases = [
        (
            TenantSort::CreatedAsc,
            [
                "acme", "beta", "omega", "zeta", "delta", "epsilon", "kappa", "lambda",
            ],
        ),
        (
            TenantSort::CreatedDesc,
            [
                "lambda", "kappa", "epsilon", "delta", "zeta", "omega", "beta", "acme",
            ],
        ),
        (
            TenantSort::NameAsc,
            [
                "acme", "kappa", "omega", "delta", "epsilon", "zeta", "beta", "lambda",
            ],
        ),
        (
            TenantSort::NameDesc,
            [
                "lambda", "beta", "zeta", "epsilon", "delta", "omega", "kappa", "acme",
            ],
        ),
    ];
    for (sort, expected) in cases {
        let got = keys(&s.app, None, TenantFilter::default(), sort).await;
        assert_eq!(got, expected, "{}", sort.as_str());
    }
}

#[tokio::test]
async fn pages_cover_the_inventory_without_skips_or_repeats_in_every_order() {
    let s = seed().await;
    let signstack = OrgRef::Id(s.signstack.id);
    // Limit 4 splits the eight tenants into two full pages: the last full page
    // must not promise another.
    for (org, limit) in [(None, 3), (Some(&signstack), 3), (None, 4)] {
        for sort in TenantSort::ALL {
            let whole = keys(&s.app, org, TenantFilter::default(), sort).await;
            let mut walked = Vec::new();
            let mut pages = 0;
            let mut cursor: Option<Cursor> = None;
            loop {
                let page = s
                    .app
                    .tenancy
                    .list_tenants(
                        &admin(),
                        org,
                        TenantFilter::default(),
                        sort,
                        cursor.as_ref(),
                        Limit::new(limit).unwrap(),
                    )
                    .await
                    .unwrap();
                pages += 1;
                assert!(page.items.len() as u64 <= limit);
                walked.extend(page.items.iter().map(|t| t.key.as_str().to_owned()));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let what = format!("{} scoped to {org:?}, pages of {limit}", sort.as_str());
            assert_eq!(walked, whole, "{what}");
            let expected_pages = whole.len().div_ceil(limit as usize);
            assert_eq!(pages, expected_pages, "{what}: no empty last page");
        }
    }
}

#[tokio::test]
async fn a_cursor_issued_for_one_sort_is_refused_for_another() {
    let s = seed().await;
    let admin = admin();
    let first_page = |sort| {
        s.app.tenancy.list_tenants(
            &admin,
            None,
            TenantFilter::default(),
            sort,
            None,
            Limit::new(3).unwrap(),
        )
    };
    for issued_for in TenantSort::ALL {
        let cursor = first_page(issued_for)
            .await
            .unwrap()
            .next_cursor
            .expect("more than one page");
        for used_with in TenantSort::ALL {
            let result = s
                .app
                .tenancy
                .list_tenants(
                    &admin,
                    None,
                    TenantFilter::default(),
                    used_with,
                    Some(&cursor),
                    Limit::new(3).unwrap(),
                )
                .await;
            if used_with == issued_for {
                assert!(result.is_ok(), "{} with its own cursor", used_with.as_str());
            } else {
                assert_eq!(
                    result,
                    Err(ListError::Page(PageError::Cursor)),
                    "a {} cursor used with {}",
                    issued_for.as_str(),
                    used_with.as_str()
                );
            }
        }
    }

    let orgs_cursor = s
        .app
        .tenancy
        .list_orgs(&admin, None, Limit::new(1).unwrap())
        .await
        .unwrap()
        .next_cursor
        .expect("two orgs");
    for foreign in [
        orgs_cursor,
        Cursor::from_raw("not-a-cursor"),
        Cursor::from_raw(""),
    ] {
        let result = s
            .app
            .tenancy
            .list_tenants(
                &admin,
                None,
                TenantFilter::default(),
                TenantSort::CreatedAsc,
                Some(&foreign),
                Limit::DEFAULT,
            )
            .await;
        assert_eq!(
            result,
            Err(ListError::Page(PageError::Cursor)),
            "{foreign:?}"
        );
    }
}

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
