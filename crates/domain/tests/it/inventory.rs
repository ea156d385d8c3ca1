//! The tenant inventory (`list_tenants`): search, filters, org scoping, sort
//! orders and keyset paging with cursors bound to their sort.

use domain::{
    Cursor, Limit, ListError, Org, OrgRef, PageError, ProvisionTenant, Region, Regions, Settings,
    Tenant, TenantFilter, TenantSort, TenantStatus,
};

use crate::support::{App, admin, metadata, name, org_key, plan, reason, region, spec};

pub(crate) struct Seeded {
    pub(crate) app: App,
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
pub(crate) async fn seed() -> Seeded {
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

pub(crate) fn search(q: &str) -> TenantFilter {
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
