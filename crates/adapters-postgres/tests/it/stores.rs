//! `PgStore` beyond the shared contract: what only a real database can get
//! wrong (SQL pattern syntax, commit order racing the audit trail's sequence,
//! replies left on a connection by a call abandoned halfway).

use std::collections::HashSet;
use std::sync::Arc;

use std::time::Duration;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, PgStore};
use domain::ports::{ApiKeyStore, AuditLog, DataScope, NamespaceStore, OrgStore, TenantStore};
use domain::{AuditAction, KeyHash, Limit, Org, TenantFilter, TenantQuery, TenantSort};
use test_support::fixtures::{Fixtures, name, position_after};

async fn store() -> Arc<PgStore> {
    let test = TestDatabase::new().await;
    let db = test.runtime().await;
    Arc::new(PgStore::new(db).holding(test))
}

async fn seed_org(store: &PgStore, f: &Fixtures, key: &str) -> Org {
    let org = f.org(key);
    store
        .create_org(
            &DataScope::Platform,
            &org,
            &f.org_audit(&org, AuditAction::OrgCreated),
        )
        .await
        .unwrap();
    org
}

#[tokio::test]
async fn inventory_search_takes_like_metacharacters_literally() {
    let store = store().await;
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    for (key, tenant_name) in [("real", "100% Real"), ("under", "a_b"), ("plain", "Acme")] {
        let mut p = f.provisioning(&org, key, &[]);
        p.tenant.name = name(tenant_name);
        store.provision(&DataScope::Org(org.id), &p).await.unwrap();
    }
    for (text, expected) in [
        ("%", vec!["real"]),
        ("_", vec!["under"]),
        ("\\", vec![]),
        ("0% r", vec!["real"]),
    ] {
        let filter = TenantFilter {
            text: Some(text.to_owned()),
            ..TenantFilter::default()
        };
        let query =
            TenantQuery::new(filter, TenantSort::CreatedAsc, None, Limit::default()).unwrap();
        let found = store
            .list_tenants(&DataScope::Platform, &query)
            .await
            .unwrap();
        let keys: Vec<_> = found.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, expected, "search {text:?}");
    }
}

/// Writers of one org race while a reader pages through the trail by cursor:
/// a record that committed after the reader passed its position would be
/// skipped for good. The per-org lock makes `seq` order commit order, so the
/// reader ends up with every record exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_paging_while_writers_race_misses_no_audit_record() {
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let store = store().await;
    let f = Arc::new(Fixtures::new());
    let org = seed_org(&store, &f, "signstack").await;
    let mut tenants = Vec::new();
    for i in 0..WRITERS {
        let p = f.provisioning(&org, &format!("tenant{i}"), &[]);
        store.provision(&DataScope::Org(org.id), &p).await.unwrap();
        tenants.push(p.tenant);
    }
    let scope = DataScope::Org(org.id);
    let mut seen = Vec::new();
    let mut cursor = None;
    let page = |after| {
        let store = store.clone();
        async move {
            store
                .audit_records(&scope, org.id, None, after, 3)
                .await
                .unwrap()
        }
    };
    // Start after what is already there.
    loop {
        let records = page(cursor).await;
        match records.last() {
            Some(last) => cursor = Some(last.id.as_uuid()),
            None => break,
        }
    }
    let writers: Vec<_> = tenants
        .into_iter()
        .map(|tenant| {
            let store = store.clone();
            let f = f.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    let ns = f.namespace(&tenant, &format!("{}-ns{n}", tenant.key));
                    let audit = f.namespace_audit(&ns, AuditAction::NamespaceCreated);
                    store.create_namespace(&scope, &ns, &audit).await.unwrap();
                }
            })
        })
        .collect();
    loop {
        let finished = writers.iter().all(|w| w.is_finished());
        let records = page(cursor).await;
        if let Some(last) = records.last() {
            cursor = Some(last.id.as_uuid());
        }
        let empty = records.is_empty();
        seen.extend(records.into_iter().map(|r| r.id));
        // Every writer had committed all it wrote before this page was read.
        if finished && empty {
            break;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no record twice");
    assert_eq!(seen.len(), WRITERS * EACH, "every record once");
}

/// Paging through thousands of tenants filtered by a rare search term or a
/// common metadata value, in both kinds of sort, yields every match once, in
/// order: keyset SQL with the filters, at a size the contract suite cannot reach.
#[tokio::test]
async fn filtered_pages_over_thousands_of_tenants_yield_every_match_once_in_order() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let store = PgStore::new(test.runtime().await);
    // 4,000 tenants; every 100th is named "Zz Rare …" and sorts after all the
    // others; every 3rd carries tier=gold.
    let mut tx = owner.begin().await.unwrap();
    for statement in [
        "SELECT set_config('app.scope', 'platform', true)",
        "INSERT INTO orgs (id, key, name, created_at, updated_at, version)
         VALUES (gen_random_uuid(), 'bench', 'Bench', now(), now(), 1)",
        "INSERT INTO tenants (id, org_id, key, name, plan, region, metadata, status,
             status_changed_at, status_changed_by_kind, status_changed_by_id, spec_digest,
             created_at, updated_at, version)
         SELECT gen_random_uuid(), (SELECT id FROM orgs), 'tenant-' || g,
             CASE WHEN g % 100 = 0 THEN 'Zz Rare ' ELSE 'Common ' END || lpad(g::text, 5, '0'),
             'free', 'global',
             CASE WHEN g % 3 = 0 THEN '{\"tier\":\"gold\"}'::jsonb ELSE '{}'::jsonb END,
             'active', now(), 'platform_admin', 'admin',
             decode(md5(g::text) || md5(g::text), 'hex'), now(), now(), 1
         FROM generate_series(1, 4000) g",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();

    let cases = [
        (
            TenantFilter {
                text: Some("rare".to_owned()),
                ..TenantFilter::default()
            },
            40,
        ),
        (
            TenantFilter {
                metadata: vec![("tier".to_owned(), "gold".to_owned())],
                ..TenantFilter::default()
            },
            1333,
        ),
    ];
    for (filter, matching) in cases {
        for sort in [TenantSort::NameAsc, TenantSort::CreatedDesc] {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let query = TenantQuery {
                    filter: filter.clone(),
                    sort,
                    after: after.clone(),
                    limit: Limit::new(50).unwrap(),
                };
                let found = store
                    .list_tenants(&DataScope::Platform, &query)
                    .await
                    .unwrap();
                let more = found.len() == query.fetch_limit();
                let page: Vec<_> = found.into_iter().take(50).collect();
                if more {
                    after = Some(position_after(sort, page.last().unwrap()));
                }
                seen.extend(page);
                if !more {
                    break;
                }
            }
            let mut expected = seen.clone();
            expected.sort_by(|a, b| sort.compare(a, b));
            let ids = |v: &[domain::Tenant]| v.iter().map(|t| t.id).collect::<Vec<_>>();
            assert_eq!(ids(&seen), ids(&expected), "{filter:?} {sort:?}: in order");
            let distinct: HashSet<_> = seen.iter().map(|t| t.id).collect();
            assert_eq!(
                distinct.len(),
                seen.len(),
                "{filter:?} {sort:?}: no repeats"
            );
            assert_eq!(seen.len(), matching, "{filter:?} {sort:?}: every match");
            assert!(
                seen.iter().all(|t| filter.matches(t)),
                "{filter:?} {sort:?}"
            );
        }
    }
}

/// A lookup whose caller went away (a dropped request) may leave its reply
/// unread on its connection; the lookup connections skip the pool's test on
/// release, so such a connection must be closed, never handed to the next
/// lookup, which would read the other key's row as its own.
#[tokio::test]
async fn a_lookup_abandoned_halfway_never_answers_the_next_one() {
    let test = TestDatabase::new().await;
    let world = crate::fixtures::seed(&test.owner_pool().await).await;
    let db = Database::connect(&DatabaseConfig {
        lookup_connections: 1,
        ..DatabaseConfig::new(test.runtime_url())
    })
    .await
    .unwrap();
    let store = PgStore::new(db);
    let hash = |id| KeyHash::from_bytes(crate::fixtures::hash_of(id).try_into().unwrap());
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let mut abandoned = 0;
    for i in 0..60 {
        // Dropped at a different point each time: before sending, after
        // sending, while reading.
        let first =
            tokio::time::timeout(Duration::from_micros(i * 25), store.find_key(&hash(a.key))).await;
        abandoned += usize::from(first.is_err());
        let found = store.find_key(&hash(b.key)).await.unwrap().unwrap();
        assert_eq!(found.key.id.as_uuid(), b.key, "round {i}");
    }
    assert!(
        abandoned > 0,
        "no lookup was abandoned: the test tested nothing"
    );
}
