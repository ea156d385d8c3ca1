//! `TenantStore::list_tenants`: the inventory's filters, orders and keyset paging,
//! as `domain::TenantQuery` defines them.

use domain::ports::DataScope;
use std::collections::BTreeMap;

use domain::{AuditAction, Org, Tenant, TenantFilter, TenantSort, TenantStatus};

use super::{listed_keys, query, seed_org};
use crate::StorePorts;
use crate::fixtures::{
    Fixtures, deactivated, epoch, metadata, moved, name, plan, position_after, region, tombstone,
};

/// The tenants every inventory case lists, by key.
struct Inventory {
    signstack: Org,
    tigris: Org,
    tenants: BTreeMap<&'static str, Tenant>,
}

/// Seven tenants in two orgs, created in this order (so in this id order):
///
/// | key     | org       | name              | region  | plan | metadata              | status      |
/// |---------|-----------|-------------------|---------|------|-----------------------|-------------|
/// | acme    | signstack | Acme Corp         | global  | free | tier=gold             | active      |
/// | beta    | signstack | beta works        | eu-west | pro  | tier=silver           | active      |
/// | omega   | tigris    | Omega ACME Labs   | eu-west | pro  | tier=gold             | active      |
/// | zeta    | signstack | Zeta              | global  | pro  | tier=gold, sla=99-9   | suspended   |
/// | gamma   | signstack | gamma (tombstone) | global  | free | (purged)              | deleted     |
/// | delta   | tigris    | Same Name         | global  | free | tier=bronze           | deactivated |
/// | epsilon | signstack | Same Name         | global  | free | tier=bronze           | active      |
async fn seed_inventory(store: &StorePorts, f: &Fixtures) -> Inventory {
    let signstack = seed_org(store, f, "signstack").await;
    let tigris = seed_org(store, f, "tigris").await;
    type Row = (
        &'static str,
        bool,
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        TenantStatus,
    );
    let rows: [Row; 7] = [
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
            &[("tier", "gold")],
            TenantStatus::Deleted,
        ),
        (
            "delta",
            false,
            "Same Name",
            "global",
            "free",
            &[("tier", "bronze")],
            TenantStatus::Deactivated,
        ),
        (
            "epsilon",
            true,
            "Same Name",
            "global",
            "free",
            &[("tier", "bronze")],
            TenantStatus::Active,
        ),
    ];
    let mut tenants = BTreeMap::new();
    for (key, of_signstack, tenant_name, region_code, plan_code, pairs, status) in rows {
        let org = if of_signstack { &signstack } else { &tigris };
        let mut p = f.provisioning(org, key, &[]);
        p.tenant.name = name(tenant_name);
        p.tenant.region = region(region_code);
        p.tenant.plan = plan(plan_code);
        p.tenant.metadata = metadata(pairs);
        store
            .tenants
            .provision(&DataScope::Platform, &p)
            .await
            .expect("provisioning");
        let next = match status {
            TenantStatus::Active => None,
            TenantStatus::Suspended => Some(moved(&p.tenant, status, epoch())),
            TenantStatus::Deactivated => Some(deactivated(&p.tenant, crate::fixtures::at(600))),
            TenantStatus::Deleted => Some(tombstone(&p.tenant)),
        };
        let tenant = match next {
            Some(next) => {
                store
                    .tenants
                    .update_tenant(
                        &DataScope::Platform,
                        &next,
                        &f.tenant_audit(&next, AuditAction::TenantUpdated),
                    )
                    .await
                    .expect("moving a fresh tenant");
                next
            }
            None => p.tenant,
        };
        tenants.insert(key, tenant);
    }
    Inventory {
        signstack,
        tigris,
        tenants,
    }
}

/// Checks each `(what, filter, expected keys)` row in creation order.
async fn check_filters(store: &StorePorts, rows: Vec<(&str, TenantFilter, Vec<&str>)>) {
    for (what, filter, expected) in rows {
        let got = listed_keys(store, &query(filter, TenantSort::CreatedAsc, 200)).await;
        assert_eq!(got, expected, "{what}");
    }
}

pub async fn inventory_hides_tombstones_unless_a_status_asks_for_them(store: StorePorts) {
    let f = Fixtures::new();
    seed_inventory(&store, &f).await;
    let status = |s| TenantFilter {
        status: Some(s),
        ..TenantFilter::default()
    };

    check_filters(
        &store,
        vec![
            (
                "no status: all but tombstones",
                TenantFilter::default(),
                vec!["acme", "beta", "omega", "zeta", "delta", "epsilon"],
            ),
            (
                "active",
                status(TenantStatus::Active),
                vec!["acme", "beta", "omega", "epsilon"],
            ),
            ("suspended", status(TenantStatus::Suspended), vec!["zeta"]),
            (
                "deactivated",
                status(TenantStatus::Deactivated),
                vec!["delta"],
            ),
            ("deleted", status(TenantStatus::Deleted), vec!["gamma"]),
        ],
    )
    .await;
}

pub async fn inventory_filters_by_org_region_plan_and_metadata(store: StorePorts) {
    let f = Fixtures::new();
    let inv = seed_inventory(&store, &f).await;
    let pairs = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };

    check_filters(
        &store,
        vec![
            (
                "org signstack",
                TenantFilter {
                    org: Some(inv.signstack.id),
                    ..TenantFilter::default()
                },
                vec!["acme", "beta", "zeta", "epsilon"],
            ),
            (
                "org tigris",
                TenantFilter {
                    org: Some(inv.tigris.id),
                    ..TenantFilter::default()
                },
                vec!["omega", "delta"],
            ),
            (
                "region eu-west",
                TenantFilter {
                    region: Some(region("eu-west")),
                    ..TenantFilter::default()
                },
                vec!["beta", "omega"],
            ),
            (
                "a region nobody is in",
                TenantFilter {
                    region: Some(region("ap-south")),
                    ..TenantFilter::default()
                },
                vec![],
            ),
            (
                "plan pro",
                TenantFilter {
                    plan: Some(plan("pro")),
                    ..TenantFilter::default()
                },
                vec!["beta", "omega", "zeta"],
            ),
            (
                "metadata tier=gold",
                TenantFilter {
                    metadata: pairs(&[("tier", "gold")]),
                    ..TenantFilter::default()
                },
                vec!["acme", "omega", "zeta"],
            ),
            (
                "every metadata pair must match",
                TenantFilter {
                    metadata: pairs(&[("tier", "gold"), ("sla", "99-9")]),
                    ..TenantFilter::default()
                },
                vec!["zeta"],
            ),
            (
                "metadata values match exactly",
                TenantFilter {
                    metadata: pairs(&[("tier", "GOLD")]),
                    ..TenantFilter::default()
                },
                vec![],
            ),
            (
                "filters combine: signstack on pro",
                TenantFilter {
                    org: Some(inv.signstack.id),
                    plan: Some(plan("pro")),
                    ..TenantFilter::default()
                },
                vec!["beta", "zeta"],
            ),
            (
                "filters combine: tombstones of signstack",
                TenantFilter {
                    org: Some(inv.signstack.id),
                    status: Some(TenantStatus::Deleted),
                    ..TenantFilter::default()
                },
                vec!["gamma"],
            ),
        ],
    )
    .await;
}

pub async fn inventory_search_matches_names_case_insensitively_keys_and_exact_ids(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let inv = seed_inventory(&store, &f).await;
    let zeta_id = inv.tenants["zeta"].id.to_string();
    let gamma_id = inv.tenants["gamma"].id.to_string();
    let search = |q: &str| TenantFilter {
        text: Some(q.to_owned()),
        ..TenantFilter::default()
    };

    check_filters(
        &store,
        vec![
            ("a name and a key", search("acme"), vec!["acme", "omega"]),
            ("in capitals", search("ACME"), vec!["acme", "omega"]),
            ("a word inside a name", search("works"), vec!["beta"]),
            (
                "names with a space",
                search("same name"),
                vec!["delta", "epsilon"],
            ),
            ("a key fragment, in any case", search("ELT"), vec!["delta"]),
            (
                "key and name fragments",
                search("ta"),
                vec!["beta", "zeta", "delta"],
            ),
            ("an exact id", search(&zeta_id), vec!["zeta"]),
            (
                "an exact id in capitals",
                search(&zeta_id.to_uppercase()),
                vec!["zeta"],
            ),
            (
                "an id is not a substring search",
                search(&f.id().to_string()),
                vec![],
            ),
            (
                "a tombstone's id without asking for tombstones",
                search(&gamma_id),
                vec![],
            ),
            ("nothing like it", search("umbrella"), vec![]),
        ],
    )
    .await;
    let tombstones = TenantFilter {
        status: Some(TenantStatus::Deleted),
        ..search("GAM")
    };
    check_filters(
        &store,
        vec![(
            "tombstones are searchable when asked for",
            tombstones,
            vec!["gamma"],
        )],
    )
    .await;
}

pub async fn inventory_sorts_by_creation_and_by_name_in_both_directions(store: StorePorts) {
    let f = Fixtures::new();
    seed_inventory(&store, &f).await;
    // Names compare byte by byte (capitals first); equal names by id.
    let cases = [
        (
            TenantSort::CreatedAsc,
            vec!["acme", "beta", "omega", "zeta", "delta", "epsilon"],
        ),
        (
            TenantSort::CreatedDesc,
            vec!["epsilon", "delta", "zeta", "omega", "beta", "acme"],
        ),
        (
            TenantSort::NameAsc,
            vec!["acme", "omega", "delta", "epsilon", "zeta", "beta"],
        ),
        (
            TenantSort::NameDesc,
            vec!["beta", "zeta", "epsilon", "delta", "omega", "acme"],
        ),
    ];
    for (sort, expected) in cases {
        let got = listed_keys(&store, &query(TenantFilter::default(), sort, 200)).await;
        assert_eq!(got, expected, "sorted {}", sort.as_str());
    }
}

pub async fn inventory_resumes_after_a_position_without_skips_or_repeats(store: StorePorts) {
    let f = Fixtures::new();
    let inv = seed_inventory(&store, &f).await;
    let filters = [
        ("everything", TenantFilter::default(), 6),
        (
            "signstack",
            TenantFilter {
                org: Some(inv.signstack.id),
                ..TenantFilter::default()
            },
            4,
        ),
    ];
    for (what, filter, total) in filters {
        for sort in TenantSort::ALL {
            let whole = store
                .tenants
                .list_tenants(&DataScope::Platform, &query(filter.clone(), sort, 200))
                .await
                .unwrap();
            assert_eq!(whole.len(), total, "{what}, {}", sort.as_str());

            let mut walked: Vec<Tenant> = Vec::new();
            let mut page_query = query(filter.clone(), sort, 2);
            loop {
                let fetched = store
                    .tenants
                    .list_tenants(&DataScope::Platform, &page_query)
                    .await
                    .unwrap();
                assert!(fetched.len() <= 3, "at most limit + 1 rows");
                let more = fetched.len() > 2;
                walked.extend(fetched.into_iter().take(2));
                if !more {
                    break;
                }
                let last = walked.last().expect("a full page");
                page_query.after = Some(position_after(sort, last));
            }
            assert_eq!(
                walked.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
                whole.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
                "{what}, {}: pages of two cover the listing once",
                sort.as_str()
            );
        }
    }
}

pub async fn inventory_returns_at_most_the_fetch_limit(store: StorePorts) {
    let f = Fixtures::new();
    seed_inventory(&store, &f).await;
    for sort in TenantSort::ALL {
        for limit in 1..=7 {
            let q = query(TenantFilter::default(), sort, limit);
            let got = store
                .tenants
                .list_tenants(&DataScope::Platform, &q)
                .await
                .unwrap();
            assert_eq!(
                got.len(),
                q.fetch_limit().min(6),
                "{} with limit {limit}",
                sort.as_str()
            );
        }
    }
}
