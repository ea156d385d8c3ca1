//! Migrations 0024 and 0025: every namespace key row carries copies of its
//! tenant's key and status and of its namespace's key, which the verification
//! lookup answers with instead of joining both tables. Triggers keep the
//! copies right whoever writes: they are taken from the owners on insert, a
//! writer cannot set them, and a change of an owner's key or of the tenant's
//! status reaches them, without deadlocking against the batched usage writes.

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, PgStore};
use chrono::{DateTime, Duration, Utc};
use domain::ApiKeyId;
use domain::ports::ApiKeyStore;
use uuid::Uuid;

use crate::fixtures::{hash_of, insert_key, key_of, seed};

/// The tenant key, namespace key and tenant status `tenancy_find_key` answers
/// for a key. In a transaction without a scope, as the function requires
/// (0030): it sets its own.
async fn looked_up(db: &Database, key: Uuid) -> (String, String, String) {
    let mut tx = db.pool().begin().await.unwrap();
    let found: (String, String, String) =
        sqlx::query_as("SELECT tenant_key, namespace_key, tenant_status FROM tenancy_find_key($1)")
            .bind(hash_of(key))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    found
}

#[tokio::test]
async fn a_keys_copies_of_its_owners_keys_follow_every_writer() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let seeded = |t: &crate::fixtures::SeededTenant| {
        (key_of(t.id), key_of(t.namespace), "active".to_owned())
    };

    // Inserted by raw SQL naming neither copy: both were filled in.
    assert_eq!(looked_up(&db, a.key).await, seeded(&a));

    let write = |sql: &'static str, id: Uuid| {
        let db = db.clone();
        async move {
            let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
            let done = sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{sql}");
            tx.commit().await.unwrap();
        }
    };

    // What a writer puts in the copies itself does not stick.
    write(
        "UPDATE api_keys SET tenant_key = 'forged', namespace_key = 'forged', \
         tenant_status = 'deleted' WHERE id = $1",
        a.key,
    )
    .await;
    assert_eq!(looked_up(&db, a.key).await, seeded(&a));

    // A status change reaches the copy in the same transaction, and a writer
    // cannot make a suspended tenant's key look active.
    write(
        "UPDATE tenants SET status = 'suspended' WHERE id = $1",
        a.id,
    )
    .await;
    let suspended = (key_of(a.id), key_of(a.namespace), "suspended".to_owned());
    assert_eq!(looked_up(&db, a.key).await, suspended);
    write(
        "UPDATE api_keys SET tenant_status = 'active' WHERE id = $1",
        a.key,
    )
    .await;
    assert_eq!(looked_up(&db, a.key).await, suspended);
    write("UPDATE tenants SET status = 'active' WHERE id = $1", a.id).await;
    assert_eq!(looked_up(&db, a.key).await, seeded(&a));

    // A new key of the owners' keys reaches the copies.
    write("UPDATE tenants SET key = 'k-renamed' WHERE id = $1", a.id).await;
    assert_eq!(
        looked_up(&db, a.key).await,
        (
            "k-renamed".to_owned(),
            key_of(a.namespace),
            "active".to_owned()
        )
    );
    write(
        "UPDATE namespaces SET key = 'k-renamed-ns' WHERE id = $1",
        a.namespace,
    )
    .await;
    assert_eq!(
        looked_up(&db, a.key).await,
        (
            "k-renamed".to_owned(),
            "k-renamed-ns".to_owned(),
            "active".to_owned()
        )
    );

    // The neighbour's key row never moved.
    assert_eq!(looked_up(&db, b.key).await, seeded(&b));
}

/// A status change writes every key row of its tenant while usage batches
/// write some of the same rows. Both lock the rows in primary-key order before
/// writing any (0025, `record_usage`), so they queue instead of deadlocking:
/// PostgreSQL would abort one of a deadlocked pair, which the store reads as
/// `Stale`, and a suspension would fail for a reason its caller never caused.
#[tokio::test]
async fn status_changes_and_usage_batches_over_the_same_keys_never_deadlock() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();
    let ids: Vec<Uuid> = (0..40u128).map(|n| Uuid::from_u128(0xA900 + n)).collect();
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    for id in &ids {
        insert_key(&mut tx, a.org, a.id, a.namespace, *id)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let store = PgStore::new(db.clone());
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();

    for round in 0..30i64 {
        // Each batch names the keys in another order than the last.
        let mut batch: Vec<(ApiKeyId, DateTime<Utc>)> = ids
            .iter()
            .map(|id| (ApiKeyId::from_uuid(*id), start + Duration::seconds(round)))
            .collect();
        batch.rotate_left(usize::try_from(round * 7).unwrap() % ids.len());
        if round % 2 == 1 {
            batch.reverse();
        }
        let status = if round % 2 == 0 {
            "suspended"
        } else {
            "active"
        };
        let change = async {
            let mut tx = db
                .scoped_transaction(&a.scope())
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query("UPDATE tenants SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(a.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())
        };
        let (changed, used) = tokio::join!(change, store.record_usage(&batch));
        changed.unwrap_or_else(|e| panic!("round {round}: the status change failed: {e}"));
        used.unwrap_or_else(|e| panic!("round {round}: the usage batch failed: {e}"));
        assert_eq!(looked_up(&db, ids[0]).await.2, status, "round {round}");
    }

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let last_used: Vec<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(last_used.len(), ids.len());
    assert!(
        last_used
            .iter()
            .all(|at| *at == Some(start + Duration::seconds(29))),
        "every batch was written: {last_used:?}"
    );
}
