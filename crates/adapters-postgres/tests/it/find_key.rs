//! `tenancy_find_key`, the verification lookup on a cache miss, sets the
//! platform scope for its own probes. It must never hand that scope to the rest
//! of a caller's transaction, and only the runtime role may call it.

use adapters_postgres::RUNTIME_ROLE;
use adapters_postgres::testing::TestDatabase;
use uuid::Uuid;

use crate::fixtures::{hash_of, seed, sqlstate, visible_ids};

// Before migration 0030 the call inside a tenant-scoped transaction succeeded
// and left it in platform scope: "left: {A1, A2, B1} right: {A1}".
#[tokio::test]
async fn the_key_lookup_is_refused_inside_a_scoped_transaction() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let found = sqlx::query("SELECT * FROM tenancy_find_key($1)")
        .bind(hash_of(b.key))
        .fetch_all(&mut *tx)
        .await;
    if found.is_ok() {
        // Whatever it answered, the transaction must still see its tenant only.
        assert_eq!(visible_ids(&mut tx, "tenants").await, [a.id].into());
    }
    assert_eq!(
        sqlstate(found),
        "25000",
        "refused as a transaction state error"
    );
}

// Before migration 0030 the platform scope outlived the call: "left: {A1, A2,
// B1} right: {}".
#[tokio::test]
async fn the_key_lookup_leaves_an_unscoped_transaction_without_scope() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();

    let mut tx = db.pool().begin().await.unwrap();
    let found: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM tenancy_find_key($1)")
        .bind(hash_of(a.key))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(found, vec![a.key], "the lookup itself still works");
    assert_eq!(visible_ids(&mut tx, "tenants").await, [].into());
    assert_eq!(visible_ids(&mut tx, "api_keys").await, [].into());
}

// Before migration 0030 every role could call it: "PUBLIC may execute".
#[tokio::test]
async fn only_the_runtime_role_may_execute_the_key_lookup() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let (public, runtime): (bool, bool) = sqlx::query_as(
        "SELECT bool_or(a.privilege_type = 'EXECUTE' AND a.grantee = 0), \
                has_function_privilege($1, 'tenancy_find_key(bytea)', 'EXECUTE') \
         FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
         WHERE p.proname = 'tenancy_find_key'",
    )
    .bind(RUNTIME_ROLE)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert!(!public, "PUBLIC may execute");
    assert!(runtime, "the runtime role may not execute");

    // A role of its own, to show that nobody else inherits the right.
    let stranger = format!("{}_stranger", test.name());
    sqlx::query(&format!("CREATE ROLE \"{stranger}\" NOLOGIN"))
        .execute(&owner)
        .await
        .unwrap();
    let allowed: bool = sqlx::query_scalar(
        "SELECT has_function_privilege($1, 'tenancy_find_key(bytea)', 'EXECUTE')",
    )
    .bind(&stranger)
    .fetch_one(&owner)
    .await
    .unwrap();
    sqlx::query(&format!("DROP ROLE \"{stranger}\""))
        .execute(&owner)
        .await
        .unwrap();
    assert!(!allowed, "another role may execute");
}
