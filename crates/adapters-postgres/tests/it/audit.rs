//! The audit trail is append-only, for the runtime role and the owner alike,
//! and lists in the order written.

use adapters_postgres::DataScope;
use adapters_postgres::testing::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

use crate::fixtures::{insert_audit, platform, seed, sqlstate};

const REWRITES: [&str; 3] = [
    "UPDATE audit_events SET action = 'tenant.forgotten'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
];

async fn audit_count(owner: &PgPool) -> i64 {
    let mut tx = owner.begin().await.unwrap();
    platform(&mut tx).await;
    sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_runtime_role_cannot_update_delete_or_truncate_audit_events() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    seed(&owner).await;
    let before = audit_count(&owner).await;
    let db = test.runtime().await;
    for statement in REWRITES {
        let mut tx = db.scoped_transaction(&DataScope::Platform).await.unwrap();
        let refused = sqlx::query(statement).execute(&mut *tx).await;
        assert_eq!(sqlstate(refused), "42501", "{statement}: permission denied");
        tx.rollback().await.unwrap();
    }
    assert_eq!(audit_count(&owner).await, before);
}

#[tokio::test]
async fn not_even_the_owner_can_update_delete_or_truncate_audit_events() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    seed(&owner).await;
    let before = audit_count(&owner).await;
    for statement in REWRITES {
        let mut tx = owner.begin().await.unwrap();
        platform(&mut tx).await;
        match sqlx::query(statement).execute(&mut *tx).await {
            Err(sqlx::Error::Database(e)) => assert!(
                e.message().contains("append-only"),
                "{statement}: refused by the trigger, not by {e}"
            ),
            other => panic!("{statement}: expected the trigger to refuse, got {other:?}"),
        }
        tx.rollback().await.unwrap();
    }
    assert_eq!(audit_count(&owner).await, before);
}

#[tokio::test]
async fn audit_events_list_in_the_order_written_whatever_their_ids() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();
    // Written with decreasing ids, as racing writers with UUIDv7 ids may.
    let written: Vec<Uuid> = (1..=3).rev().map(|n| Uuid::from_u128(0xE000 + n)).collect();
    for id in &written {
        let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
        insert_audit(&mut tx, *id, a.org, Some(a.id)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let listed: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM audit_events WHERE id <> $1 ORDER BY seq")
            .bind(a.audit)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(listed, written);
}
