//! The scope and the statement timeout last exactly one transaction.

use std::collections::BTreeSet;
use std::time::Duration;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig};

use crate::fixtures::{TABLES, seed, visible_ids};

#[tokio::test]
async fn settings_end_with_their_transaction_on_the_same_connection() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    // One connection: the second transaction runs where the first did.
    let db = Database::connect(&DatabaseConfig {
        max_connections: 1,
        statement_timeout: Duration::from_millis(1234),
        ..DatabaseConfig::new(test.runtime_url())
    })
    .await
    .unwrap();

    let mut tx = db
        .scoped_transaction(&world.tenant_a().scope())
        .await
        .unwrap();
    let (scope, timeout, pid): (String, String, i32) = sqlx::query_as(
        "SELECT current_setting('app.scope'), current_setting('statement_timeout'), \
                pg_backend_pid()",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((scope.as_str(), timeout.as_str()), ("tenant", "1234ms"));
    assert!(!visible_ids(&mut tx, "tenants").await.is_empty());
    tx.commit().await.unwrap();

    let mut tx = db.pool().begin().await.unwrap();
    let (scope, timeout, same_pid): (String, String, i32) = sqlx::query_as(
        "SELECT coalesce(current_setting('app.scope', true), ''), \
                current_setting('statement_timeout'), pg_backend_pid()",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(same_pid, pid, "the same server connection");
    assert_eq!(scope, "");
    assert_ne!(timeout, "1234ms");
    for table in TABLES {
        assert_eq!(
            visible_ids(&mut tx, table).await,
            BTreeSet::new(),
            "{table}"
        );
    }
}
