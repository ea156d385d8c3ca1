//! The inventory's plans (docs/benchmarks.md#targets: a page in ≤ 10 ms over 1,000,000 tenants;
//! `cargo xtask bench inventory` measures that). No timing here: each case of
//! the benchmark is explained on a modestly seeded table, and the plan must
//! have the shape that keeps a page's cost bounded by the page, not by the
//! number of matches: walk the index in the page's order and stop when the page
//! is full, with no sort of every match. Searches and metadata filters walk
//! the side tables (migrations 0013, 0014), since under row-level security the
//! trigram and jsonb indexes of `tenants` serve no one.

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use domain::page::Position;
use domain::ports::DataScope;
use domain::{Limit, Plan, RegionCode, TenantFilter, TenantQuery, TenantSort, TenantStatus};
use serde_json::Value;

const TENANTS: i64 = 20_000;

struct Seeded {
    store: PgStore,
    some_id: uuid::Uuid,
    some_org: uuid::Uuid,
}

/// `TENANTS` tenants in 4 orgs, shaped like the benchmark's: ten name words,
/// three plans and regions, 2% suspended, 4% deleted, a fifth `tier: gold`;
/// then VACUUM (ANALYZE).
async fn seeded() -> Seeded {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let mut tx = owner.begin().await.unwrap();
    for statement in [
        "SELECT set_config('app.scope', 'platform', true)",
        "INSERT INTO orgs (id, key, name, created_at, updated_at, version)
         SELECT gen_random_uuid(), 'org-' || g, 'Org ' || g, now(), now(), 1
         FROM generate_series(1, 4) g",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    sqlx::query(
        "WITH o AS (SELECT array_agg(id ORDER BY key) AS ids FROM orgs)
         INSERT INTO tenants (id, org_id, key, name, plan, region, metadata, status,
             status_changed_at, status_changed_by_kind, status_changed_by_id,
             spec_digest, created_at, updated_at, version)
         SELECT gen_random_uuid(), o.ids[1 + g % 4], 'tenant-' || g,
             (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne',
                    'Wonka','Tyrell','Cyberdyne'])[1 + (g / 10) % 10]
                 || ' ' || substr(md5(g::text), 1, 10),
             (ARRAY['free','pro','enterprise'])[1 + g % 3],
             (ARRAY['global','eu-west','us-east'])[1 + (g / 7) % 3],
             CASE WHEN g % 5 = 0 THEN '{\"tier\":\"gold\"}'::jsonb ELSE '{}'::jsonb END,
             CASE WHEN g % 50 = 0 THEN 'suspended' WHEN g % 20 = 0 THEN 'deleted'
                  ELSE 'active' END,
             now(), 'platform_admin', 'admin',
             decode(md5(g::text) || md5(g::text || 'x'), 'hex'), now(), now(), 1
         FROM generate_series(1, $1::bigint) g, o",
    )
    .bind(TENANTS)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // As the benchmark: what autovacuum leaves after a bulk load.
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&owner)
        .await
        .unwrap();
    let some_id = sqlx::query_scalar("SELECT id FROM tenants ORDER BY key LIMIT 1 OFFSET 777")
        .fetch_one(&owner)
        .await
        .unwrap();
    let some_org = sqlx::query_scalar("SELECT id FROM orgs ORDER BY key LIMIT 1")
        .fetch_one(&owner)
        .await
        .unwrap();
    owner.close().await;
    let db = test.runtime().await;
    Seeded {
        store: PgStore::new(db).holding(test),
        some_id,
        some_org,
    }
}

fn query(filter: TenantFilter, sort: TenantSort, after: Option<Position>) -> TenantQuery {
    TenantQuery {
        filter,
        sort,
        after,
        limit: Limit::new(50).unwrap(),
    }
}

/// Every node of the plan, depth first, as (node type, index name or "").
pub(crate) fn nodes(plan: &Value) -> Vec<(String, String)> {
    fn walk(node: &Value, out: &mut Vec<(String, String)>) {
        let text = |key: &str| node[key].as_str().unwrap_or_default().to_owned();
        out.push((text("Node Type"), text("Index Name")));
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(&plan[0]["Plan"], &mut out);
    out
}

async fn plan_of(seeded: &Seeded, scope: &DataScope, q: &TenantQuery) -> Vec<(String, String)> {
    let plan = seeded.store.explain_list_tenants(scope, q).await.unwrap();
    nodes(&plan)
}

/// The page comes from walking `index` in order: an index scan on it, and no
/// sort anywhere (a sort would mean every match was read first).
fn assert_walks(plan: &[(String, String)], index: &str, case: &str) {
    assert!(
        plan.iter()
            .any(|(node, name)| node.starts_with("Index") && name == index),
        "{case}: expected a walk of {index}, got {plan:?}"
    );
    assert!(
        !plan.iter().any(|(node, _)| node.contains("Sort")),
        "{case}: expected no sort, got {plan:?}"
    );
}

#[tokio::test]
async fn inventory_pages_walk_the_index_of_their_order() {
    let seeded = seeded().await;

    let newest = query(TenantFilter::default(), TenantSort::CreatedDesc, None);
    let plan = plan_of(&seeded, &DataScope::Platform, &newest).await;
    assert_walks(&plan, "tenants_pkey", "platform, newest first");

    let after = Position {
        order: TenantSort::CreatedAsc.as_str().to_owned(),
        id: seeded.some_id,
        text: None,
    };
    let cursor = query(TenantFilter::default(), TenantSort::CreatedAsc, Some(after));
    let plan = plan_of(&seeded, &DataScope::Platform, &cursor).await;
    assert_walks(&plan, "tenants_pkey", "platform, after a cursor");

    let statuses = TenantFilter {
        status: Some(TenantStatus::Suspended),
        region: Some(RegionCode::parse("eu-west").unwrap()),
        plan: Some(Plan::parse("pro").unwrap()),
        ..TenantFilter::default()
    };
    let plan = plan_of(
        &seeded,
        &DataScope::Platform,
        &query(statuses, TenantSort::CreatedAsc, None),
    )
    .await;
    // The three filters together walk the index that holds all three (0015).
    assert_walks(
        &plan,
        "tenants_status_region_plan_id",
        "status + region + plan",
    );
}

/// A search and a metadata filter walk their side table (0013, 0014) by
/// equality, in the page's order, and probe `tenants` by id: no sort, and no
/// walk of a `tenants` index that the matches could be far along.
#[tokio::test]
async fn searches_and_metadata_filters_walk_their_side_table_in_page_order() {
    let seeded = seeded().await;
    let org = seeded.some_org;
    let search = |text: &str, org| TenantFilter {
        org,
        text: Some(text.to_owned()),
        ..TenantFilter::default()
    };
    let gold = |org| TenantFilter {
        org,
        metadata: vec![("tier".to_owned(), "gold".to_owned())],
        ..TenantFilter::default()
    };
    let org_scope = DataScope::Org(domain::OrgId::from_uuid(org));
    let after_name = Position {
        order: TenantSort::NameAsc.as_str().to_owned(),
        id: seeded.some_id,
        text: Some("Tyrell 5".to_owned()),
    };
    let after_id = |sort: TenantSort| Position {
        order: sort.as_str().to_owned(),
        id: seeded.some_id,
        text: None,
    };
    let org = Some(domain::OrgId::from_uuid(org));
    let cases = [
        (
            "platform, search by name",
            DataScope::Platform,
            query(search("tyre", None), TenantSort::NameAsc, None),
            "tenant_name_trigrams_name",
        ),
        (
            "platform, search by name, after a cursor",
            DataScope::Platform,
            query(search("Tyre", None), TenantSort::NameAsc, Some(after_name)),
            "tenant_name_trigrams_name",
        ),
        (
            "platform, search by name, descending",
            DataScope::Platform,
            query(search("wonk", None), TenantSort::NameDesc, None),
            "tenant_name_trigrams_name",
        ),
        (
            "platform, search, oldest first",
            DataScope::Platform,
            query(
                search("acme", None),
                TenantSort::CreatedAsc,
                Some(after_id(TenantSort::CreatedAsc)),
            ),
            "tenant_name_trigrams_pkey",
        ),
        (
            "org scope, search, newest first",
            org_scope,
            query(search("tyre", org), TenantSort::CreatedDesc, None),
            "tenant_name_trigrams_org_id",
        ),
        (
            "org scope, search by name",
            org_scope,
            query(search("hool", org), TenantSort::NameAsc, None),
            "tenant_name_trigrams_org_name",
        ),
        (
            "org scope, metadata.tier=gold, by name",
            org_scope,
            query(gold(org), TenantSort::NameAsc, None),
            "tenant_metadata_org_name",
        ),
        (
            "org scope, metadata.tier=gold, newest first",
            org_scope,
            query(gold(org), TenantSort::CreatedDesc, None),
            "tenant_metadata_org_id",
        ),
        (
            "platform, metadata.tier=gold, by name",
            DataScope::Platform,
            query(gold(None), TenantSort::NameAsc, None),
            "tenant_metadata_name",
        ),
    ];
    for (case, scope, q, index) in cases {
        let plan = plan_of(&seeded, &scope, &q).await;
        assert_walks(&plan, index, case);
        assert!(
            plan.iter().any(|(node, name)| node.starts_with("Index")
                && (name == "tenants_pkey" || name == "tenants_org_id_id_unique")),
            "{case}: expected tenants probed by id, got {plan:?}"
        );
    }

    // A term under three characters has no trigram: it walks the names.
    let plan = plan_of(
        &seeded,
        &DataScope::Platform,
        &query(search("e", None), TenantSort::NameAsc, None),
    )
    .await;
    assert_walks(&plan, "tenants_name_id", "search for one letter, by name");
}

/// Tombstones (`status=deleted`) of one org, in either order, walk an index
/// of that org's tombstones (0031): walking the org's tenants, or every
/// org's tombstones, would read rows far from the page's.
#[tokio::test]
async fn an_orgs_tombstones_walk_an_index_of_its_tombstones() {
    let seeded = seeded().await;
    let org = domain::OrgId::from_uuid(seeded.some_org);
    let tombstones = TenantFilter {
        org: Some(org),
        status: Some(TenantStatus::Deleted),
        ..TenantFilter::default()
    };
    for (sort, index) in [
        (TenantSort::CreatedAsc, "tenants_deleted_org_id_id"),
        (TenantSort::CreatedDesc, "tenants_deleted_org_id_id"),
        (TenantSort::NameAsc, "tenants_deleted_org_id_name_id"),
    ] {
        let q = query(tombstones.clone(), sort, None);
        let plan = plan_of(&seeded, &DataScope::Org(org), &q).await;
        assert_walks(
            &plan,
            index,
            &format!("an org's tombstones, {}", sort.as_str()),
        );
    }
}
