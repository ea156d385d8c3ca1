//! Migration 0024: every namespace key row carries copies of its tenant's and
//! its namespace's keys, which the verification lookup answers with instead of
//! joining both tables. Triggers keep the copies right whoever writes: they
//! are taken from the owners on insert, a writer cannot set them, and a change
//! of an owner's key reaches them.

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{DataScope, Database};
use uuid::Uuid;

use crate::fixtures::{hash_of, key_of, seed};

/// The tenant key and namespace key `tenancy_find_key` answers for a key.
async fn looked_up(db: &Database, key: Uuid) -> (String, String) {
    let mut tx = db.scoped_transaction(&DataScope::Platform).await.unwrap();
    let found: (String, String) =
        sqlx::query_as("SELECT tenant_key, namespace_key FROM tenancy_find_key($1)")
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
    let seeded = |t: &crate::fixtures::SeededTenant| (key_of(t.id), key_of(t.namespace));

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
        "UPDATE api_keys SET tenant_key = 'forged', namespace_key = 'forged' WHERE id = $1",
        a.key,
    )
    .await;
    assert_eq!(looked_up(&db, a.key).await, seeded(&a));

    // A new key of the owners' keys reaches the copies.
    write("UPDATE tenants SET key = 'k-renamed' WHERE id = $1", a.id).await;
    assert_eq!(
        looked_up(&db, a.key).await,
        ("k-renamed".to_owned(), key_of(a.namespace))
    );
    write(
        "UPDATE namespaces SET key = 'k-renamed-ns' WHERE id = $1",
        a.namespace,
    )
    .await;
    assert_eq!(
        looked_up(&db, a.key).await,
        ("k-renamed".to_owned(), "k-renamed-ns".to_owned())
    );

    // The neighbour's key row never moved.
    assert_eq!(looked_up(&db, b.key).await, seeded(&b));
}
