//! Issue 4, acceptance 2: row-level security alone isolates tenants. Every query
//! here is raw SQL without any tenant or org filter, run as the runtime role;
//! only the transaction's scope stands between it and the neighbours' rows.

use std::collections::BTreeSet;

use adapters_postgres::DataScope;
use adapters_postgres::testing::TestDatabase;
use domain::{OrgId, TenantId};
use uuid::Uuid;

use crate::fixtures::{
    TABLES, World, insert_audit, insert_install, insert_key, insert_listing, insert_namespace,
    insert_resource, insert_tenant, platform, seed, sqlstate, visible_ids,
};

/// Asserts that, in `scope`, a bare `SELECT *` of each table returns exactly
/// the expected ids.
async fn assert_sees(
    db: &adapters_postgres::Database,
    scope: DataScope,
    expected: impl Fn(&str) -> BTreeSet<Uuid>,
) {
    let mut tx = db.scoped_transaction(&scope).await.unwrap();
    for table in TABLES {
        assert_eq!(
            visible_ids(&mut tx, table).await,
            expected(table),
            "{scope:?} on {table}"
        );
    }
    tx.commit().await.unwrap();
}

async fn seeded() -> (TestDatabase, World, adapters_postgres::Database) {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    (test, world, db)
}

#[tokio::test]
async fn a_tenant_scope_sees_only_its_own_rows_in_every_table_without_any_filter() {
    let (_test, world, db) = seeded().await;
    for tenant in world.org_a.tenants.iter().chain(&world.org_b.tenants) {
        assert_sees(&db, tenant.scope(), |table| {
            world.ids_of_tenant(tenant, table)
        })
        .await;
    }
}

#[tokio::test]
async fn an_org_scope_sees_only_its_own_orgs_rows() {
    let (_test, world, db) = seeded().await;
    for org in [&world.org_a, &world.org_b] {
        assert_sees(&db, org.scope(), |table| world.ids_of_org(org, table)).await;
    }
}

#[tokio::test]
async fn the_platform_scope_sees_every_row() {
    let (_test, world, db) = seeded().await;
    assert_sees(&db, DataScope::Platform, |table| world.all_ids(table)).await;
}

#[tokio::test]
async fn a_tenant_scope_naming_another_orgs_tenant_sees_no_tenant_data() {
    let (_test, world, db) = seeded().await;
    let mismatched = DataScope::Tenant {
        org: OrgId::from_uuid(world.org_a.id),
        tenant: TenantId::from_uuid(world.tenant_b().id),
    };
    assert_sees(&db, mismatched, |table| match table {
        "orgs" => [world.org_a.id].into(),
        // Listings are org-level rows granted to the org, not tenant data.
        "library_listings" => [world.org_a.listing].into(),
        _ => BTreeSet::new(),
    })
    .await;
}

#[tokio::test]
async fn without_a_scope_nothing_is_visible() {
    let (_test, _world, db) = seeded().await;
    let nothing_set = Vec::<&str>::new();
    let incomplete_or_unknown = [
        "SELECT set_config('app.scope', 'tenant', true)",
        "SELECT set_config('app.scope', 'org', true)",
        "SELECT set_config('app.scope', 'everything', true)",
        "SELECT set_config('app.scope', '', true)",
    ];
    for setup in std::iter::once(nothing_set).chain(incomplete_or_unknown.map(|s| vec![s])) {
        let mut tx = db.pool().begin().await.unwrap();
        for statement in &setup {
            sqlx::query(statement).execute(&mut *tx).await.unwrap();
        }
        for table in TABLES {
            assert_eq!(
                visible_ids(&mut tx, table).await,
                BTreeSet::new(),
                "{table} after {setup:?}"
            );
        }
        tx.rollback().await.unwrap();
    }
}

/// A policy violation: SQLSTATE 42501 with row-level security named.
fn assert_policy_violation(result: Result<(), sqlx::Error>, what: &str) {
    match &result {
        Err(sqlx::Error::Database(db)) if db.message().contains("row-level security") => {}
        _ => panic!("{what}: expected a row-level security violation, got {result:?}"),
    }
    assert_eq!(sqlstate(result), "42501", "{what}");
}

#[tokio::test]
async fn a_tenant_scope_cannot_insert_rows_carrying_another_tenants_id() {
    let (_test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let fresh = |n: u128| Uuid::from_u128(0xF000 + n);

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let namespace = insert_namespace(&mut tx, b.org, b.id, fresh(1), "intruder").await;
    assert_policy_violation(namespace, "a namespace of tenant B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let key = insert_key(&mut tx, b.org, b.id, b.namespace, fresh(2)).await;
    assert_policy_violation(key, "a key of tenant B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let audit = insert_audit(&mut tx, fresh(3), b.org, Some(b.id)).await;
    assert_policy_violation(audit, "an audit event of tenant B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let tenant = insert_tenant(&mut tx, b.org, fresh(4), "intruder").await;
    assert_policy_violation(tenant, "a tenant of org B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let resource = insert_resource(&mut tx, b.org, b.id, b.namespace, fresh(5)).await;
    assert_policy_violation(resource, "a resource of tenant B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let intruder = crate::fixtures::SeededTenant {
        install: fresh(6),
        ..b
    };
    let install = insert_install(&mut tx, b.org, &intruder, world.org_b.listing, "k-b050").await;
    assert_policy_violation(install, "an install of tenant B");
    tx.rollback().await.unwrap();

    // A tenant scope publishes nothing, not even in its own org.
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let listing = insert_listing(&mut tx, a.org, fresh(7), "intruder").await;
    assert_policy_violation(listing, "a listing written in tenant scope");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn an_org_scope_cannot_insert_rows_into_another_org() {
    let (_test, world, db) = seeded().await;
    let b = world.tenant_b();
    let mut tx = db.scoped_transaction(&world.org_a.scope()).await.unwrap();
    let tenant = insert_tenant(&mut tx, b.org, Uuid::from_u128(0xF001), "intruder").await;
    assert_policy_violation(tenant, "a tenant of org B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&world.org_a.scope()).await.unwrap();
    let audit = insert_audit(&mut tx, Uuid::from_u128(0xF002), b.org, None).await;
    assert_policy_violation(audit, "an audit event of org B");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_tenant_scope_cannot_update_or_delete_another_tenants_rows() {
    let (test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    for statement in [
        "UPDATE tenants SET name = 'taken over' WHERE id = $1",
        "UPDATE namespaces SET name = 'taken over' WHERE tenant_id = $1",
        "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1",
        "DELETE FROM api_keys WHERE tenant_id = $1",
        "UPDATE resources SET latest = false WHERE tenant_id = $1",
        "UPDATE library_installs SET pinned = '9.9.9' WHERE tenant_id = $1",
        "DELETE FROM library_installs WHERE tenant_id = $1",
        "DELETE FROM resources WHERE tenant_id = $1",
        "DELETE FROM namespaces WHERE tenant_id = $1",
    ] {
        let done = sqlx::query(statement)
            .bind(b.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        // The policy hides B's rows from the statement: nothing to change.
        assert_eq!(done.rows_affected(), 0, "{statement}");
    }
    tx.commit().await.unwrap();

    let owner = test.owner_pool().await;
    let mut check = owner.begin().await.unwrap();
    platform(&mut check).await;
    let name: String = sqlx::query_scalar("SELECT name FROM namespaces WHERE tenant_id = $1")
        .bind(b.id)
        .fetch_one(&mut *check)
        .await
        .unwrap();
    assert_eq!(
        name,
        crate::fixtures::key_of(b.namespace),
        "B's namespace is unchanged"
    );
    let live_keys: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL",
    )
    .bind(b.id)
    .fetch_one(&mut *check)
    .await
    .unwrap();
    assert_eq!(live_keys, 1, "B's key is neither revoked nor deleted");
}

#[tokio::test]
async fn a_tenant_scope_cannot_move_its_rows_to_another_tenant() {
    let (_test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let moved = sqlx::query("UPDATE namespaces SET tenant_id = $1, org_id = $2 WHERE id = $3")
        .bind(b.id)
        .bind(b.org)
        .bind(a.namespace)
        .execute(&mut *tx)
        .await
        .map(drop);
    assert_policy_violation(moved, "a namespace moved to tenant B");
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let moved = sqlx::query("UPDATE tenants SET org_id = $1 WHERE id = $2")
        .bind(b.org)
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .map(drop);
    assert_policy_violation(moved, "a tenant moved to org B");
    tx.rollback().await.unwrap();
}

/// Grants and versions are read by the tenants of the granted org and written
/// by the publisher only; a version stays readable to a tenant that installed
/// its listing after the grant is gone.
#[tokio::test]
async fn library_grants_and_versions_are_readable_where_granted_and_writable_by_the_publisher_only()
{
    let (test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let listings_seen = |scope: DataScope| {
        let db = db.clone();
        async move {
            let mut tx = db.scoped_transaction(&scope).await.unwrap();
            let versions: Vec<Uuid> =
                sqlx::query_scalar("SELECT listing_id FROM library_listing_versions")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            let grants: Vec<Uuid> = sqlx::query_scalar("SELECT listing_id FROM library_grants")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            (versions, grants)
        }
    };
    let own = vec![world.org_a.listing];
    assert_eq!(listings_seen(a.scope()).await, (own.clone(), own.clone()));
    assert_eq!(
        listings_seen(world.org_a.scope()).await,
        (own.clone(), own.clone())
    );
    let theirs = vec![world.org_b.listing];
    assert_eq!(listings_seen(b.scope()).await, (theirs.clone(), theirs));

    // A tenant scope cannot remove or add grants, even to its own org's listing.
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let removed = sqlx::query("DELETE FROM library_grants")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(removed.rows_affected(), 0, "grants are the publisher's");
    tx.commit().await.unwrap();

    // Revoked by the publisher: A still reads the version it installed.
    let mut tx = db.scoped_transaction(&world.org_a.scope()).await.unwrap();
    sqlx::query("DELETE FROM library_grants")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(listings_seen(a.scope()).await, (own, vec![]));
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    assert!(
        visible_ids(&mut tx, "library_listings").await.is_empty(),
        "the revoked listing is hidden"
    );
    tx.rollback().await.unwrap();
    drop(test);
}

/// The inventory's side tables are written by the triggers on `tenants` only:
/// the runtime role can neither add rows that would make a search find another
/// tenant's row nor remove the rows that make a search find its own.
#[tokio::test]
async fn the_runtime_role_cannot_write_the_inventorys_side_tables() {
    let (_test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    for (table, statement) in [
        (
            "tenant_name_trigrams",
            "INSERT INTO tenant_name_trigrams (trigram, tenant_id, org_id, name) \
             VALUES ('zzz', $1, $2, 'planted')",
        ),
        (
            "tenant_metadata",
            "INSERT INTO tenant_metadata (key, value, tenant_id, org_id, name) \
             VALUES ('tier', 'planted', $1, $2, 'planted')",
        ),
        (
            "tenant_name_trigrams",
            "DELETE FROM tenant_name_trigrams WHERE tenant_id = $1 OR org_id = $2",
        ),
        (
            "tenant_metadata",
            "DELETE FROM tenant_metadata WHERE tenant_id = $1 OR org_id = $2",
        ),
        (
            "tenant_name_trigrams",
            "UPDATE tenant_name_trigrams SET name = 'x' WHERE tenant_id = $1 OR org_id = $2",
        ),
        (
            "tenant_metadata",
            "UPDATE tenant_metadata SET value = 'x' WHERE tenant_id = $1 OR org_id = $2",
        ),
    ] {
        for scope in [a.scope(), DataScope::Platform] {
            let mut tx = db.scoped_transaction(&scope).await.unwrap();
            let done = sqlx::query(statement)
                .bind(b.id)
                .bind(b.org)
                .execute(&mut *tx)
                .await
                .map(drop);
            match &done {
                Err(sqlx::Error::Database(e)) if e.message().contains("permission denied") => {}
                _ => panic!("{table}: expected permission denied, got {done:?}"),
            }
            assert_eq!(sqlstate(done), "42501", "{statement}");
            tx.rollback().await.unwrap();
        }
    }
}

/// The trigram and metadata rows of a tenant (tenant id, trigram or key=value,
/// name), as the platform sees them.
async fn side_rows(
    db: &adapters_postgres::Database,
    tenant: Uuid,
) -> (BTreeSet<(String, String)>, BTreeSet<(String, String)>) {
    let mut tx = db.scoped_transaction(&DataScope::Platform).await.unwrap();
    let trigrams: Vec<(String, String)> =
        sqlx::query_as("SELECT trigram, name FROM tenant_name_trigrams WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    let metadata: Vec<(String, String)> = sqlx::query_as(
        "SELECT key || '=' || value, name FROM tenant_metadata WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    (
        trigrams.into_iter().collect(),
        metadata.into_iter().collect(),
    )
}

fn trigrams_of(name: &str, key: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for text in [name.to_lowercase(), key.to_owned()] {
        let chars: Vec<char> = text.chars().collect();
        for w in chars.windows(3) {
            out.insert((w.iter().collect(), name.to_owned()));
        }
    }
    out
}

/// Writes to `tenants`, by the runtime role in the tenant's own scope, keep
/// the side tables right in the same transaction: a rename moves the
/// trigrams and the name on the metadata rows, a metadata change replaces the
/// pairs (strings only), a rolled-back write leaves them as they were, and a
/// deletion (a tombstone) drops them.
#[tokio::test]
async fn the_side_tables_follow_every_write_to_a_tenant() {
    let (_test, world, db) = seeded().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let key_a = crate::fixtures::key_of(a.id);
    let gold = |name: &str| BTreeSet::from([("tier=gold".to_owned(), name.to_owned())]);
    assert_eq!(
        side_rows(&db, a.id).await,
        (trigrams_of(&key_a, &key_a), gold(&key_a))
    );

    let update = |sql: &'static str, value: &'static str| {
        let db = db.clone();
        async move {
            let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
            let done = sqlx::query(sql)
                .bind(value)
                .bind(a.id)
                .execute(&mut *tx)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql}");
            tx.commit().await.unwrap();
        }
    };

    update("UPDATE tenants SET name = $1 WHERE id = $2", "Café Ltd").await;
    assert_eq!(
        side_rows(&db, a.id).await,
        (trigrams_of("Café Ltd", &key_a), gold("Café Ltd"))
    );

    update(
        "UPDATE tenants SET metadata = $1::jsonb WHERE id = $2",
        r#"{"tier": "silver", "seats": 5, "team": "ops"}"#,
    )
    .await;
    let (trigrams, metadata) = side_rows(&db, a.id).await;
    assert_eq!(trigrams, trigrams_of("Café Ltd", &key_a));
    assert_eq!(
        metadata,
        BTreeSet::from([
            ("team=ops".to_owned(), "Café Ltd".to_owned()),
            ("tier=silver".to_owned(), "Café Ltd".to_owned()),
        ])
    );

    // Not committed: nothing changes.
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    sqlx::query("UPDATE tenants SET name = 'gone', metadata = '{}' WHERE id = $1")
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        side_rows(&db, a.id).await.0,
        trigrams_of("Café Ltd", &key_a)
    );

    // Other writes (a status change) leave the rows alone; a deletion drops them.
    update("UPDATE tenants SET status = $1 WHERE id = $2", "suspended").await;
    assert_eq!(
        side_rows(&db, a.id).await.0,
        trigrams_of("Café Ltd", &key_a)
    );
    update(
        "UPDATE tenants SET status = $1, name = key, metadata = '{}' WHERE id = $2",
        "deleted",
    )
    .await;
    assert_eq!(
        side_rows(&db, a.id).await,
        (BTreeSet::new(), BTreeSet::new())
    );

    // The neighbour's rows never moved.
    let key_b = crate::fixtures::key_of(b.id);
    assert_eq!(
        side_rows(&db, b.id).await,
        (trigrams_of(&key_b, &key_b), gold(&key_b))
    );
}

/// The triggers write the real side tables even when the writing session has
/// temporary tables of the same names (searched first unless a function's
/// search path says otherwise).
#[tokio::test]
async fn temporary_tables_do_not_catch_the_side_tables_rows() {
    let (_test, world, db) = seeded().await;
    let a = world.tenant_a();
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    for statement in [
        "CREATE TEMPORARY TABLE tenant_name_trigrams \
         (trigram text, tenant_id uuid, org_id uuid, name text)",
        "CREATE TEMPORARY TABLE tenant_metadata \
         (key text, value text, tenant_id uuid, org_id uuid, name text)",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    sqlx::query("UPDATE tenants SET name = 'Zyx', metadata = '{\"tier\": \"zyx\"}' WHERE id = $1")
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let caught: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_temp.tenant_name_trigrams) \
              + (SELECT count(*) FROM pg_temp.tenant_metadata)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(caught, 0, "the temporary tables got no rows");
    tx.commit().await.unwrap();
    let key_a = crate::fixtures::key_of(a.id);
    assert_eq!(
        side_rows(&db, a.id).await,
        (
            trigrams_of("Zyx", &key_a),
            BTreeSet::from([("tier=zyx".to_owned(), "Zyx".to_owned())])
        )
    );
}
