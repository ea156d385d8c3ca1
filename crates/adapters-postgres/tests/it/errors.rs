//! Driver errors reach the ports as `StoreError`s: which key was taken, that a
//! parent went away, or an opaque failure that quotes no value.

use adapters_postgres::DataScope;
use adapters_postgres::error::translate;
use adapters_postgres::testing::TestDatabase;
use domain::ports::{StoreError, Unique};
use uuid::Uuid;

use crate::fixtures::{
    hash_of, insert_key_with_hash, insert_namespace, insert_org, insert_tenant, key_of, seed,
};

#[tokio::test]
async fn taken_keys_are_named_by_the_unique_constraint_they_hit() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();
    let fresh = Uuid::from_u128(0xF001);

    let mut tx = db.scoped_transaction(&DataScope::Platform).await.unwrap();
    let org = insert_org(&mut tx, fresh, &key_of(world.org_b.id)).await;
    assert_eq!(
        translate(org.unwrap_err()),
        StoreError::Taken(Unique::OrgKey)
    );
    tx.rollback().await.unwrap();

    // Platform-wide: another org's tenant has the key.
    let mut tx = db.scoped_transaction(&world.org_a.scope()).await.unwrap();
    let tenant = insert_tenant(&mut tx, a.org, fresh, &key_of(world.tenant_b().id)).await;
    assert_eq!(
        translate(tenant.unwrap_err()),
        StoreError::Taken(Unique::TenantKey)
    );
    tx.rollback().await.unwrap();

    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let namespace = insert_namespace(&mut tx, a.org, a.id, fresh, &key_of(a.namespace)).await;
    assert_eq!(
        translate(namespace.unwrap_err()),
        StoreError::Taken(Unique::NamespaceKey)
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_namespace_key_may_repeat_in_another_tenant() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let b = world.tenant_b();
    let mut tx = db.scoped_transaction(&b.scope()).await.unwrap();
    let key_of_a = key_of(world.tenant_a().namespace);
    insert_namespace(&mut tx, b.org, b.id, Uuid::from_u128(0xF001), &key_of_a)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_key_hash_collision_is_unavailable_and_its_message_quotes_no_value() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let (a, b) = (world.tenant_a(), world.tenant_b());
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let collision = insert_key_with_hash(
        &mut tx,
        a.org,
        a.id,
        a.namespace,
        Uuid::from_u128(0xF001),
        &hash_of(b.key),
    )
    .await;
    match translate(collision.unwrap_err()) {
        StoreError::Unavailable(message) => {
            assert!(message.contains("api_keys_hash_unique"), "{message}");
            assert!(!message.contains("\\x"), "no hash in {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_write_whose_parent_is_gone_is_stale() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();
    let mut tx = db.scoped_transaction(&a.scope()).await.unwrap();
    let orphan = insert_key_with_hash(
        &mut tx,
        a.org,
        a.id,
        Uuid::from_u128(0xDEAD),
        Uuid::from_u128(0xF001),
        &hash_of(Uuid::from_u128(0xF001)),
    )
    .await;
    assert_eq!(translate(orphan.unwrap_err()), StoreError::Stale);
}

#[tokio::test]
async fn a_statement_refused_by_row_level_security_is_unavailable_without_values() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let b = world.tenant_b();
    let mut tx = db
        .scoped_transaction(&world.tenant_a().scope())
        .await
        .unwrap();
    let intrusion =
        insert_namespace(&mut tx, b.org, b.id, Uuid::from_u128(0xF001), "intruder").await;
    match translate(intrusion.unwrap_err()) {
        StoreError::Unavailable(message) => {
            assert!(message.contains("42501"), "{message}");
            assert!(!message.contains("intruder"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
