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

/// `url` with its user replaced by `role` (the test server trusts every role).
fn as_role(url: &str, role: &str) -> String {
    url.replacen(&format!("{RUNTIME_ROLE}@"), &format!("{role}@"), 1)
}

async fn execute(pool: &sqlx::PgPool, statements: &[String]) {
    for statement in statements {
        sqlx::query(statement)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

// Before the check looked at memberships, such a role was accepted:
// "expected a member of a superuser role to be refused, got Ok(Database ..)".
#[tokio::test]
async fn the_server_refuses_a_role_that_is_a_member_of_a_superuser_role() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let superuser: String = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_roles WHERE rolname = current_user AND rolsuper",
    )
    .fetch_one(&owner)
    .await
    .expect("the test server's role is a superuser");
    // Itself no superuser and without BYPASSRLS, but it may SET ROLE to one.
    let member = format!("{}_member", test.name());
    execute(
        &owner,
        &[
            format!("CREATE ROLE \"{member}\" LOGIN NOSUPERUSER NOBYPASSRLS"),
            format!("GRANT \"{superuser}\" TO \"{member}\""),
        ],
    )
    .await;
    let connected =
        Database::connect(&DatabaseConfig::new(as_role(test.runtime_url(), &member))).await;
    if let Ok(db) = &connected {
        db.close().await;
    }
    execute(&owner, &[format!("DROP ROLE \"{member}\"")]).await;
    match connected {
        Err(SetupError::UnsafeRole { problem, .. }) => {
            assert!(problem.contains("member"), "{problem}");
        }
        other => panic!("expected a member of a superuser role to be refused, got {other:?}"),
    }
}

// Before the check looked at memberships, such a role was accepted:
// "expected a member of the owning role to be refused, got Ok(Database ..)".
#[tokio::test]
async fn the_server_refuses_a_role_that_is_a_member_of_a_table_owner() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let owning = format!("{}_owning", test.name());
    let member = format!("{}_member", test.name());
    execute(
        &owner,
        &[
            format!("CREATE ROLE \"{owning}\" NOLOGIN"),
            format!("ALTER TABLE tenants OWNER TO \"{owning}\""),
            format!("CREATE ROLE \"{member}\" LOGIN NOSUPERUSER NOBYPASSRLS"),
            format!("GRANT \"{owning}\" TO \"{member}\""),
        ],
    )
    .await;
    let connected =
        Database::connect(&DatabaseConfig::new(as_role(test.runtime_url(), &member))).await;
    if let Ok(db) = &connected {
        db.close().await;
    }
    execute(
        &owner,
        &[
            format!("REASSIGN OWNED BY \"{owning}\" TO CURRENT_USER"),
            format!("DROP ROLE \"{member}\""),
            format!("DROP ROLE \"{owning}\""),
        ],
    )
    .await;
    match connected {
        Err(SetupError::UnsafeRole { problem, .. }) => {
            assert!(problem.contains("member"), "{problem}");
        }
        other => panic!("expected a member of the owning role to be refused, got {other:?}"),
    }
}
