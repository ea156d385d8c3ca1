//! The public lookup by `Host` (`GET /v1/public/tenant`) over 1,000,000
//! tenants, each with a custom domain (a third verified, the rest pending or
//! failed): the tenant by its key under the base domain and the tenant by
//! its verified custom domain are each one probe of a unique index, never a
//! scan; and the background check's batch of due domains is a range scan of
//! its partial index. As `plans.rs`, by `EXPLAIN` after `VACUUM (ANALYZE)`,
//! so the planner sees the table as it is.

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::plans::nodes;

const TENANTS: i64 = 1_000_000;

/// `TENANTS` tenants in 4 orgs, each with a custom domain `shop-{n}.example`
/// (verified for every third, pending and due over the next days for
/// another third, failed for the rest), then VACUUM (ANALYZE); and the time
/// of the load. The tenants'
/// user triggers (name trigrams, metadata) are off during the load: what
/// they fill is not what these lookups read, and they would make the load
/// many times slower.
async fn seeded() -> (PgStore, DateTime<Utc>) {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let mut tx = owner.begin().await.unwrap();
    for statement in [
        "SELECT set_config('app.scope', 'platform', true)",
        "ALTER TABLE tenants DISABLE TRIGGER USER",
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
         SELECT gen_random_uuid(), o.ids[1 + g % 4], 'tenant-' || g, 'Tenant ' || g,
             'free', 'global', '{}'::jsonb, 'active', now(), 'platform_admin', 'admin',
             decode(md5(g::text) || md5(g::text || 'x'), 'hex'), now(), now(), 1
         FROM generate_series(1, $1::bigint) g, o",
    )
    .bind(TENANTS)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO custom_domains (tenant_id, org_id, domain, token, status, started_at,
             last_checked_at, last_reason, next_check_at, verified_at, checks, updated_at,
             version)
         SELECT t.id, t.org_id, 'shop-' || substr(t.key, 8) || '.example',
             'tenancy-verify=' || md5(t.key), s.status, now() - interval '1 day', now(),
             CASE s.status WHEN 'verified' THEN NULL ELSE 'nxdomain' END,
             CASE s.status WHEN 'pending'
                 THEN now() + (substr(t.key, 8)::int % 10000) * interval '1 minute' END,
             CASE s.status WHEN 'verified' THEN now() END, 3, now(), 1
         FROM tenants t,
             LATERAL (SELECT (ARRAY['verified', 'pending', 'failed'])
                 [1 + substr(t.key, 8)::int % 3] AS status) s",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE tenants ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&owner)
        .await
        .unwrap();
    // The seeded domains come due over the next days: a little before the
    // first is when the job finds few due, as it mostly does.
    let now = sqlx::query_scalar("SELECT now()")
        .fetch_one(&owner)
        .await
        .unwrap();
    owner.close().await;
    let db = test.runtime().await;
    (PgStore::new(db).holding(test), now)
}

/// The plan reads its table through exactly one index, `index`, and scans
/// nothing: the row-level security policy's settings are the only other
/// nodes (init plans that read no table).
fn assert_one_probe(plan: &Value, index: &str, case: &str) {
    let nodes = nodes(plan);
    let reads: Vec<&(String, String)> = nodes
        .iter()
        .filter(|(node, _)| node.contains("Scan"))
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "{case}: one read of the table, got {nodes:?}"
    );
    let (node, name) = reads[0];
    assert!(
        node == "Index Scan" || node == "Index Only Scan",
        "{case}: an index scan, got {nodes:?}"
    );
    assert_eq!(name, index, "{case}: {nodes:?}");
}

#[tokio::test]
async fn host_lookups_are_one_unique_index_probe_over_a_million_tenants() {
    let (store, now) = seeded().await;
    let (by_key, by_domain) = store
        .explain_host_lookups("tenant-777777", "shop-777777.example")
        .await
        .unwrap();
    assert_one_probe(
        &by_key,
        "tenants_key_unique",
        "the tenant by its subdomain's key",
    );
    assert_one_probe(
        &by_domain,
        "custom_domains_domain_unique",
        "the tenant by its verified custom domain",
    );
    assert_eq!(
        by_domain[0]["Plan"]["Plan Rows"], 1,
        "at most one row: {by_domain}"
    );

    // Few due (the usual case): the due ones are read from the partial
    // index, by range, and nothing else.
    let few = nodes(&store.explain_due_domains(now, 50).await.unwrap());
    assert!(
        few.iter()
            .any(|(node, name)| node.contains("Index Scan") && name == "custom_domains_due"),
        "the due batch reads its partial index: {few:?}"
    );
    assert!(
        !few.iter().any(|(node, _)| node.contains("Seq Scan")),
        "no scan of every domain: {few:?}"
    );
    // A backlog (every pending domain due): the batch walks the index in its
    // order and stops at the limit, with no sort of every due domain.
    let backlog = nodes(
        &store
            .explain_due_domains(now + chrono::Duration::days(30), 50)
            .await
            .unwrap(),
    );
    assert!(
        backlog
            .iter()
            .any(|(node, name)| node == "Index Scan" && name == "custom_domains_due"),
        "a backlog walks the partial index in order: {backlog:?}"
    );
    assert!(
        !backlog
            .iter()
            .any(|(node, _)| node.contains("Seq Scan") || node.contains("Sort")),
        "no scan of every domain, no sort: {backlog:?}"
    );
}
