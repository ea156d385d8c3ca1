//! The runtime role cannot step around row-level security, and the server
//! refuses to run as a role that could.

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, RUNTIME_ROLE, SetupError};

use crate::fixtures::{seed, sqlstate};

#[tokio::test]
async fn the_runtime_role_is_no_superuser_has_no_bypassrls_and_owns_no_table() {
    let test = TestDatabase::new().await;
    let db = test.runtime().await;
    let mut tx = db.pool().begin().await.unwrap();
    let (role, superuser, bypass, owned): (String, bool, bool, i64) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls, \
                (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(role, RUNTIME_ROLE);
    assert!(!superuser, "a superuser bypasses row-level security");
    assert!(!bypass, "BYPASSRLS bypasses row-level security");
    assert_eq!(owned, 0, "an owner could switch row-level security off");
}

#[tokio::test]
async fn switching_row_security_off_does_not_let_the_runtime_role_past_the_policies() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    for table in ["tenants", "namespaces", "api_keys", "audit_events"] {
        let mut tx = db
            .scoped_transaction(&world.tenant_a().scope())
            .await
            .unwrap();
        sqlx::query("SET LOCAL row_security = off")
            .execute(&mut *tx)
            .await
            .unwrap();
        // Without BYPASSRLS, `off` does not skip the policies: the query fails.
        let bypass = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&mut *tx)
            .await;
        assert_eq!(sqlstate(bypass), "42501", "{table}");
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn the_server_refuses_to_run_as_a_role_that_row_level_security_does_not_bind() {
    let test = TestDatabase::new().await;
    // The owner role owns every table (and on a test server is a superuser).
    let refused = Database::connect(&DatabaseConfig::new(test.owner_url())).await;
    match refused {
        Err(SetupError::UnsafeRole { .. }) => {}
        other => panic!("expected the owner role to be refused, got {other:?}"),
    }
}
