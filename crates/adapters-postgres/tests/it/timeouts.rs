//! The inventory and the verification lookup run under statement timeouts of
//! their own, shorter than the other store calls'. To make a statement run out
//! of its time without depending on how fast the server is, each test holds
//! a lock that the statement must wait for (lock waits count towards
//! `statement_timeout`).

use std::time::Duration;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, PgStore};
use domain::ports::{ApiKeyStore, DataScope, StoreError, TenantStore};
use domain::{KeyHash, Limit, TenantFilter, TenantQuery, TenantSort};
use sqlx::{Connection, PgConnection};

use crate::fixtures::{hash_of, seed};

/// Holds `LOCK TABLE {table}` in a transaction on a connection of its own
/// until dropped (the connection closes, ending the transaction).
async fn lock(test: &TestDatabase, table: &str) -> PgConnection {
    let mut conn = PgConnection::connect(test.owner_url()).await.unwrap();
    for statement in [
        "BEGIN".to_owned(),
        format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"),
    ] {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    conn
}

async fn store(test: &TestDatabase) -> PgStore {
    let db = Database::connect(&DatabaseConfig {
        // The other calls' timeout stays long: only the shorter ones may fire.
        statement_timeout: Duration::from_secs(60),
        inventory_timeout: Duration::from_millis(50),
        lookup_timeout: Duration::from_millis(50),
        ..DatabaseConfig::new(test.runtime_url())
    })
    .await
    .unwrap();
    PgStore::new(db)
}

// Before the inventory had a timeout of its own, it ran under the store's
// (here 60 s) and its cancellation read as `Unavailable(..SQLSTATE 57014)`.
#[tokio::test]
async fn an_inventory_query_that_runs_out_of_its_time_is_too_broad_not_unavailable() {
    let test = TestDatabase::new().await;
    seed(&test.owner_pool().await).await;
    let store = store(&test).await;
    let held = lock(&test, "tenants").await;
    let query = TenantQuery::new(
        TenantFilter::default(),
        TenantSort::CreatedAsc,
        None,
        Limit::default(),
    )
    .unwrap();
    let listed = store.list_tenants(&DataScope::Platform, &query).await;
    held.close().await.unwrap();
    assert!(
        matches!(listed, Err(StoreError::QueryTooBroad)),
        "got {listed:?}"
    );
    // Other calls keep their own, longer timeout and answer as before.
    let again = store.list_tenants(&DataScope::Platform, &query).await;
    assert!(again.is_ok(), "got {again:?}");
}

// Before the lookup had a timeout, it waited for the lock for as long as it
// was held: the guard below fired, "the lookup waited on the lock".
#[tokio::test]
async fn a_key_lookup_that_runs_out_of_its_time_answers_unavailable() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let store = store(&test).await;
    let hash: [u8; 32] = hash_of(world.tenant_a().key).try_into().unwrap();
    let hash = KeyHash::from_bytes(hash);
    let held = lock(&test, "api_keys").await;
    // Only a guard against hanging: the assertion is about the answer.
    let found = tokio::time::timeout(Duration::from_secs(30), store.find_key(&hash))
        .await
        .expect("the lookup waited on the lock");
    held.close().await.unwrap();
    assert!(
        matches!(found, Err(StoreError::Unavailable(_))),
        "got {found:?}"
    );
    // The next lookup opens a fresh connection and finds the key.
    let found = store.find_key(&hash).await.unwrap();
    assert!(found.is_some());
}
