//! Races: writes that collide on a unique key or a version, started together.
//! Exactly one wins; every loser gets the documented error and writes nothing.

use domain::ports::DataScope;
use std::sync::Arc;

use domain::ports::{StoreError, Unique};
use domain::{AuditAction, TenantRef};
use tokio::sync::Barrier;

use super::{ALL, found, namespaces_of, seed_key, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, renamed, revoked, tenant_key};

/// Runs every write on its own task, all released at once; returns each input
/// with its result, in input order.
async fn race<T, W, Fut>(
    store: &StorePorts,
    inputs: Vec<T>,
    write: W,
) -> Vec<(T, Result<(), StoreError>)>
where
    T: Clone + Send + 'static,
    W: Fn(StorePorts, T) -> Fut,
    Fut: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let start = Arc::new(Barrier::new(inputs.len()));
    let tasks: Vec<_> = inputs
        .iter()
        .cloned()
        .map(|input| {
            let start = start.clone();
            let attempt = write(store.clone(), input);
            tokio::spawn(async move {
                start.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut results = Vec::new();
    for (input, task) in inputs.into_iter().zip(tasks) {
        results.push((input, task.await.expect("the write task panicked")));
    }
    results
}

pub async fn concurrent_provisions_of_one_tenant_key_let_exactly_one_win(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let attempts: Vec<_> = (0..50)
        .map(|_| f.provisioning(&org, "acme", &["acme-live", "acme-test"]))
        .collect();

    let results = race(&store, attempts, |store, p| async move {
        store.tenants.provision(&DataScope::Platform, &p).await
    })
    .await;

    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one provisioning wins");
    for (_, result) in &lost {
        assert_eq!(result, &Err(StoreError::Taken(Unique::TenantKey)));
    }
    let winner = &won[0].0;
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(tenant_key("acme")))
            .await
            .unwrap(),
        Some(winner.tenant.clone())
    );
    assert_eq!(
        namespaces_of(&store, winner.tenant.id).await,
        winner.namespaces
    );
    for (loser, _) in &lost {
        assert_eq!(
            store
                .tenants
                .get_tenant(&DataScope::Platform, &TenantRef::Id(loser.tenant.id))
                .await
                .unwrap(),
            None
        );
        assert_eq!(namespaces_of(&store, loser.tenant.id).await, vec![]);
    }
    let trail = trail(&store, &org).await;
    assert_eq!(trail.len(), 2, "the org's creation and one provisioning");
    assert_eq!(trail[1], winner.audit);
}

pub async fn concurrent_updates_from_one_version_let_exactly_one_win(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let writes: Vec<_> = (0..20)
        .map(|i| {
            let next = renamed(&acme.tenant, &format!("Writer {i}"));
            let audit = f.tenant_audit(&next, AuditAction::TenantUpdated);
            (next, audit)
        })
        .collect();

    let results = race(&store, writes, |store, (next, audit)| async move {
        store
            .tenants
            .update_tenant(&DataScope::Platform, &next, &audit)
            .await
    })
    .await;

    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one update from version 1 wins");
    for (_, result) in &lost {
        assert_eq!(result, &Err(StoreError::Stale));
    }
    let (winner, winner_audit) = &won[0].0;
    assert_eq!(
        store
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Id(acme.tenant.id))
            .await
            .unwrap(),
        Some(winner.clone())
    );
    let trail = trail(&store, &org).await;
    assert_eq!(trail.len(), 3, "created, provisioned, one update");
    assert_eq!(&trail[2], winner_audit);
}

pub async fn concurrent_creations_of_one_namespace_key_let_exactly_one_win(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let creations: Vec<_> = (0..20)
        .map(|_| {
            let ns = f.namespace(&acme.tenant, "acme-shared");
            let audit = f.namespace_audit(&ns, AuditAction::NamespaceCreated);
            (ns, audit)
        })
        .collect();

    let results = race(&store, creations, |store, (ns, audit)| async move {
        store
            .namespaces
            .create_namespace(&DataScope::Platform, &ns, &audit)
            .await
    })
    .await;

    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one creation wins");
    for (_, result) in &lost {
        assert_eq!(result, &Err(StoreError::Taken(Unique::NamespaceKey)));
    }
    let (winner, winner_audit) = &won[0].0;
    let expected = [acme.namespaces.clone(), vec![winner.clone()]].concat();
    assert_eq!(namespaces_of(&store, acme.tenant.id).await, expected);
    assert_eq!(trail(&store, &org).await.last(), Some(winner_audit));
}

pub async fn concurrent_revocations_of_one_key_version_let_exactly_one_win(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    // Each writer revokes at its own minute, so the stored time names the winner.
    let writes: Vec<_> = (0..20)
        .map(|i| {
            let next = revoked(&key, at(10 + i));
            let audit = f.key_audit(&next, AuditAction::ApiKeyRevoked);
            (next, audit)
        })
        .collect();

    let results = race(&store, writes, |store, (next, audit)| async move {
        store
            .keys
            .update_key(&DataScope::Platform, &next, &audit)
            .await
    })
    .await;

    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one revocation from version 1 wins");
    for (_, result) in &lost {
        assert_eq!(result, &Err(StoreError::Stale));
    }
    let (winner, winner_audit) = &won[0].0;
    assert_eq!(
        store
            .keys
            .get_key(&DataScope::Platform, org.id, key.id)
            .await
            .unwrap()
            .as_ref(),
        Some(winner)
    );
    assert_eq!(
        found(&store, &key.hash).await.map(|l| l.key).as_ref(),
        Some(winner)
    );
    let trail = trail(&store, &org).await;
    assert_eq!(trail.last(), Some(winner_audit));
    let revocations = trail
        .iter()
        .filter(|r| r.action == AuditAction::ApiKeyRevoked)
        .count();
    assert_eq!(revocations, 1, "one audit record");
}

pub async fn concurrent_rotations_of_one_key_version_let_exactly_one_new_key_in(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "CI")).await;
    let rotations: Vec<_> = (0..20)
        .map(|i| {
            let (old, new) = f.rotation(&key, at(10 + i));
            let audit = f.key_audit(&old, AuditAction::ApiKeyRotated);
            (old, new, audit)
        })
        .collect();

    let results = race(&store, rotations, |store, (old, new, audit)| async move {
        store
            .keys
            .rotate_key(&DataScope::Platform, &old, &new, &audit)
            .await
    })
    .await;

    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
    assert_eq!(won.len(), 1, "exactly one rotation from version 1 wins");
    for ((_, new, _), result) in &lost {
        assert_eq!(result, &Err(StoreError::Stale));
        assert_eq!(found(&store, &new.hash).await, None, "a losing new key");
    }
    let (old, new, audit) = &won[0].0;
    let listed = store
        .keys
        .list_keys(&DataScope::Platform, org.id, key.owner, None, ALL)
        .await
        .unwrap();
    assert_eq!(listed, vec![old.clone(), new.clone()]);
    assert_eq!(trail(&store, &org).await.last(), Some(audit));
}
