//! The inventory at scale (docs/benchmarks.md#targets: a page over 1,000,000 tenants in ≤ 10 ms at
//! p99): a fresh migrated database is filled with tenants in bulk, then pages
//! are read through `PgStore::list_tenants` as the runtime role, row-level
//! security and all, exactly as the server reads them.

use std::time::{Duration, Instant};

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use domain::page::Position;
use domain::ports::{DataScope, TenantStore};
use domain::{Limit, OrgId, Plan, RegionCode, TenantFilter, TenantQuery, TenantSort, TenantStatus};
use hdrhistogram::Histogram;
use sqlx::Row;

pub struct Options {
    tenants: u64,
    iterations: u64,
    /// Measuring rounds over the same seeded database (seeding a million
    /// tenants and their side tables takes the most time by far).
    runs: u64,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            tenants: 1_000_000,
            iterations: 200,
            runs: 1,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "tenants" => options.tenants = crate::number(name, value)?,
                "iterations" => options.iterations = crate::number(name, value)?,
                "runs" => options.runs = crate::number(name, value)?,
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.tenants < 1_000 || options.iterations == 0 || options.runs == 0 {
            return Err("need at least 1000 tenants, one iteration and one run".into());
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

const ORGS: u64 = 10;
const BATCH: u64 = 100_000;

async fn scenario(o: Options) -> Result<(), String> {
    let database = TestDatabase::new().await;
    let owner = database.owner_pool().await;
    eprintln!("seeding {} tenants in {ORGS} orgs…", o.tenants);
    let started = Instant::now();
    seed(&owner, o.tenants).await?;
    eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    let orgs: Vec<OrgId> = sqlx::query("SELECT id FROM orgs ORDER BY key")
        .fetch_all(&owner)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|row| OrgId::from_uuid(row.get("id")))
        .collect();
    let sample: Vec<uuid::Uuid> =
        sqlx::query("SELECT id FROM tenants TABLESAMPLE SYSTEM (1) LIMIT 1000")
            .fetch_all(&owner)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .map(|row| row.get("id"))
            .collect();
    let store = PgStore::new(database.runtime().await);
    let limit = Limit::new(50).expect("a valid limit");
    let words = [
        "acme", "glob", "init", "umbr", "hool", "star", "wayn", "wonk", "tyre", "cybe",
    ];

    type Case = (&'static str, Box<dyn Fn(u64) -> (DataScope, TenantQuery)>);
    let org_of = {
        let orgs = orgs.clone();
        move |i: u64| orgs[(i % ORGS) as usize]
    };
    let cursor_of = {
        let sample = sample.clone();
        move |i: u64, order: TenantSort| Position {
            order: order.as_str().to_owned(),
            id: sample[(i as usize * 7919) % sample.len()],
            text: None,
        }
    };
    let query =
        move |filter: TenantFilter, sort: TenantSort, after: Option<Position>| TenantQuery {
            filter,
            sort,
            after,
            limit,
        };
    let cases: Vec<Case> = vec![
        (
            "platform, newest first, first page",
            Box::new(move |_| {
                (
                    DataScope::Platform,
                    query(TenantFilter::default(), TenantSort::CreatedDesc, None),
                )
            }),
        ),
        (
            "platform, oldest first, page after a random cursor",
            Box::new({
                let cursor_of = cursor_of.clone();
                move |i| {
                    let after = Some(cursor_of(i, TenantSort::CreatedAsc));
                    (
                        DataScope::Platform,
                        query(TenantFilter::default(), TenantSort::CreatedAsc, after),
                    )
                }
            }),
        ),
        (
            "platform, search `q` (trigram), by name",
            Box::new(move |i| {
                let filter = TenantFilter {
                    text: Some(words[(i % 10) as usize].to_owned()),
                    ..TenantFilter::default()
                };
                (
                    DataScope::Platform,
                    query(filter, TenantSort::NameAsc, None),
                )
            }),
        ),
        (
            "platform, status + region + plan filters",
            Box::new(move |i| {
                let filter = TenantFilter {
                    status: Some(TenantStatus::Suspended),
                    region: Some(
                        RegionCode::parse(["eu-west", "us-east"][(i % 2) as usize]).expect("valid"),
                    ),
                    plan: Some(Plan::parse("pro").expect("valid")),
                    ..TenantFilter::default()
                };
                (
                    DataScope::Platform,
                    query(filter, TenantSort::CreatedAsc, None),
                )
            }),
        ),
        (
            "org scope, metadata.tier=gold, by name",
            Box::new({
                let org_of = org_of.clone();
                move |i| {
                    let org = org_of(i);
                    let filter = TenantFilter {
                        org: Some(org),
                        metadata: vec![("tier".to_owned(), "gold".to_owned())],
                        ..TenantFilter::default()
                    };
                    (
                        DataScope::Org(org),
                        query(filter, TenantSort::NameAsc, None),
                    )
                }
            }),
        ),
        (
            "org scope, search `q`, newest first",
            Box::new({
                let org_of = org_of.clone();
                move |i| {
                    let org = org_of(i);
                    let filter = TenantFilter {
                        org: Some(org),
                        text: Some(words[(i % 10) as usize].to_owned()),
                        ..TenantFilter::default()
                    };
                    (
                        DataScope::Org(org),
                        query(filter, TenantSort::CreatedDesc, None),
                    )
                }
            }),
        ),
    ];

    for run in 1..=o.runs {
        println!(
            "## Inventory: {} tenants in {ORGS} orgs, pages of 50, {} pages per case, run {run} of {}\n",
            o.tenants, o.iterations, o.runs
        );
        println!("| case | p50 ms | p99 ms | max ms | rows on last page |");
        println!("|---|---:|---:|---:|---:|");
        for (name, make) in &cases {
            let mut latency =
                Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
            let mut rows = 0;
            // One unmeasured round warms the caches, as a running server's would be.
            for i in 0..o.iterations + 1 {
                let (scope, q) = make(i);
                let began = Instant::now();
                let page = store
                    .list_tenants(&scope, &q)
                    .await
                    .map_err(|e| format!("{name}: {e}"))?;
                let took = began.elapsed();
                rows = page.len();
                if i > 0 {
                    latency.saturating_record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                }
            }
            let ms =
                |q: f64| Duration::from_nanos(latency.value_at_quantile(q)).as_secs_f64() * 1e3;
            println!(
                "| {name} | {:.2} | {:.2} | {:.2} | {rows} |",
                ms(0.5),
                ms(0.99),
                Duration::from_nanos(latency.max()).as_secs_f64() * 1e3
            );
        }
        println!();
    }
    println!("\nTarget (docs/benchmarks.md#targets): p99 ≤ 10 ms per page.");
    Ok(())
}

/// Bulk-loads orgs and tenants with SQL (the use cases would take hours for a
/// million), in batches, as the owner in platform scope.
async fn seed(owner: &sqlx::PgPool, tenants: u64) -> Result<(), String> {
    let sql = |e: sqlx::Error| e.to_string();
    let mut tx = owner.begin().await.map_err(sql)?;
    sqlx::query("SELECT set_config('app.scope', 'platform', true)")
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
    sqlx::query(
        "INSERT INTO orgs (id, key, name, created_at, updated_at, version)
         SELECT gen_random_uuid(), 'org-' || g, 'Org ' || g, now(), now(), 1
         FROM generate_series(1, $1::bigint) g",
    )
    .bind(ORGS as i64)
    .execute(&mut *tx)
    .await
    .map_err(sql)?;
    tx.commit().await.map_err(sql)?;
    // The triggers on `tenants` fill the inventory's side tables (migrations
    // 0013, 0014: some 24 trigram rows per tenant). As a DBA would for a bulk
    // load, their indexes are dropped first and built again afterwards, each in
    // one sort, from the definitions the migrations gave them.
    let rebuild: Vec<(String, String)> = sqlx::query_as(
        "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
                format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                       pg_get_constraintdef(c.oid))
         FROM pg_constraint c
         WHERE c.conrelid IN ('tenant_name_trigrams'::regclass, 'tenant_metadata'::regclass)
           AND c.contype = 'p'
         UNION ALL
         SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
         FROM pg_index i
         WHERE i.indrelid IN ('tenant_name_trigrams'::regclass, 'tenant_metadata'::regclass)
           AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
    )
    .fetch_all(owner)
    .await
    .map_err(sql)?;
    for (drop, _) in &rebuild {
        sqlx::query(drop).execute(owner).await.map_err(sql)?;
    }
    let mut from = 1;
    while from <= tenants {
        let to = (from + BATCH - 1).min(tenants);
        let mut tx = owner.begin().await.map_err(sql)?;
        sqlx::query("SELECT set_config('app.scope', 'platform', true)")
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        sqlx::query(
            "WITH o AS (SELECT array_agg(id ORDER BY key) AS ids FROM orgs)
             INSERT INTO tenants (id, org_id, key, name, plan, region, metadata, status,
                 status_changed_at, status_changed_by_kind, status_changed_by_id,
                 retention_ends_at, spec_digest, created_at, updated_at, version)
             SELECT gen_random_uuid(), o.ids[1 + g % 10], 'tenant-' || g,
                 (ARRAY['Acme','Globex','Initech','Umbrella','Hooli','Stark','Wayne',
                        'Wonka','Tyrell','Cyberdyne'])[1 + (g / 10) % 10]
                     || ' ' || substr(md5(g::text), 1, 10),
                 (ARRAY['free','pro','enterprise'])[1 + g % 3],
                 (ARRAY['global','eu-west','us-east'])[1 + (g / 7) % 3],
                 CASE WHEN g % 5 = 0 THEN '{\"tier\":\"gold\"}'::jsonb ELSE '{}'::jsonb END,
                 CASE WHEN g % 50 = 0 THEN 'suspended'
                      WHEN g % 97 = 0 THEN 'deactivated' ELSE 'active' END,
                 now(), 'platform_admin', 'admin',
                 CASE WHEN g % 97 = 0 AND g % 50 <> 0 THEN now() + interval '30 days' END,
                 decode(md5(g::text) || md5(g::text || 'x'), 'hex'),
                 now(), now(), 1
             FROM generate_series($1::bigint, $2::bigint) g, o",
        )
        .bind(from as i64)
        .bind(to as i64)
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
        tx.commit().await.map_err(sql)?;
        eprintln!("  {to} tenants");
        from = to + 1;
    }
    let mut tx = owner.begin().await.map_err(sql)?;
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
    for (_, create) in &rebuild {
        sqlx::query(create).execute(&mut *tx).await.map_err(sql)?;
    }
    tx.commit().await.map_err(sql)?;
    // What autovacuum does to a running server's table after a bulk load:
    // statistics, the visibility map and hint bits, so that the first reads
    // measured below do not pay for writing hint bits into every page.
    sqlx::query("VACUUM (ANALYZE)")
        .execute(owner)
        .await
        .map_err(sql)?;
    Ok(())
}
