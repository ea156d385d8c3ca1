//! `SecretStore`: sealed secrets, and the tenant data keys written with
//! them or with a provisioning (read through `DataKeyStore`).

use domain::ports::{DataScope, StoreError};
use domain::{AuditAction, Org, SecretName, StoredSecret, TenantStatus};

use super::{seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, moved, tombstone};

const ALL: usize = 1000;

fn name(raw: &str) -> SecretName {
    SecretName::parse(raw).expect("a valid secret name")
}

async fn put(store: &StorePorts, f: &Fixtures, secret: &StoredSecret) {
    store
        .secrets
        .put_secret(
            &DataScope::Platform,
            secret,
            None,
            &f.secret_audit(secret, AuditAction::SecretWritten),
        )
        .await
        .expect("storing a secret");
}

async fn secret_names(store: &StorePorts, secret: &StoredSecret) -> Vec<String> {
    store
        .secrets
        .list_secrets(&DataScope::Platform, secret.tenant_id, None, ALL)
        .await
        .expect("listing secrets")
        .into_iter()
        .map(|s| s.name.to_string())
        .collect()
}

async fn audit_len(store: &StorePorts, org: &Org) -> usize {
    trail(store, org).await.len()
}

/// Provisioning stores the wrapped data key exactly; a tombstone destroys it
/// and every secret of the tenant, and touches no other tenant's.
pub async fn provisioning_stores_the_data_key_and_a_tombstone_destroys_it_with_the_secrets(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let scope = DataScope::Platform;
    assert_eq!(
        store
            .data_keys
            .data_key(&scope, acme.tenant.id)
            .await
            .unwrap(),
        Some(acme.data_key.clone()),
        "the provisioned data key reads back byte for byte"
    );
    let acme_secret = f.secret(&acme.tenant, "smtp-password", "acme value");
    let beta_secret = f.secret(&beta.tenant, "smtp-password", "beta value");
    put(&store, &f, &acme_secret).await;
    put(&store, &f, &beta_secret).await;

    let deactivated = moved(&acme.tenant, TenantStatus::Deactivated, at(1));
    store
        .tenants
        .update_tenant(
            &scope,
            &deactivated,
            &f.tenant_audit(&deactivated, AuditAction::TenantDeactivated),
        )
        .await
        .unwrap();
    assert!(
        store
            .data_keys
            .data_key(&scope, acme.tenant.id)
            .await
            .unwrap()
            .is_some(),
        "deactivation keeps the data key (retention)"
    );
    let dead = tombstone(&deactivated);
    store
        .tenants
        .update_tenant(
            &scope,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await
        .unwrap();

    assert_eq!(
        store
            .data_keys
            .data_key(&scope, acme.tenant.id)
            .await
            .unwrap(),
        None,
        "a tombstone destroys the data key"
    );
    assert_eq!(
        store
            .secrets
            .get_secret(&scope, acme.tenant.id, &acme_secret.name)
            .await
            .unwrap(),
        None
    );
    assert!(secret_names(&store, &acme_secret).await.is_empty());
    assert_eq!(
        store
            .data_keys
            .data_keys(None, ALL)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.tenant_id)
            .collect::<Vec<_>>(),
        vec![beta.tenant.id],
        "the rewrap listing no longer holds it"
    );
    assert_eq!(
        store
            .data_keys
            .data_key(&scope, beta.tenant.id)
            .await
            .unwrap(),
        Some(beta.data_key.clone())
    );
    assert_eq!(
        store
            .secrets
            .get_secret(&scope, beta.tenant.id, &beta_secret.name)
            .await
            .unwrap(),
        Some(beta_secret)
    );
    let actions: Vec<_> = trail(&store, &org).await.iter().map(|r| r.action).collect();
    assert!(
        actions.contains(&AuditAction::TenantDeleted)
            && actions.contains(&AuditAction::SecretWritten),
        "the audit trail keeps the deletion and the writes: {actions:?}"
    );
}

/// A secret is inserted at version 1, replaced from its stored version only,
/// and deleted at its stored version only; each write appends its record.
pub async fn a_secret_is_stored_replaced_and_deleted_by_version_with_its_audit_records(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let scope = DataScope::Platform;
    let first = f.secret(&acme.tenant, "sso-client-secret", "one");
    put(&store, &f, &first).await;
    assert_eq!(
        store
            .secrets
            .get_secret(&scope, acme.tenant.id, &first.name)
            .await
            .unwrap(),
        Some(first.clone()),
        "every field reads back"
    );
    let before = audit_len(&store, &org).await;

    // Inserting again at version 1 is stale.
    let again = f.secret(&acme.tenant, "sso-client-secret", "other");
    let refused = store
        .secrets
        .put_secret(
            &scope,
            &again,
            None,
            &f.secret_audit(&again, AuditAction::SecretWritten),
        )
        .await;
    assert_eq!(refused, Err(StoreError::Stale));

    let second = StoredSecret {
        sealed: vec![9; 40],
        updated_at: at(5),
        version: 2,
        ..first.clone()
    };
    put(&store, &f, &second).await;
    // Replacing from version 1 again is stale.
    let stale = StoredSecret {
        version: 2,
        sealed: vec![1; 40],
        ..first.clone()
    };
    let refused = store
        .secrets
        .put_secret(
            &scope,
            &stale,
            None,
            &f.secret_audit(&stale, AuditAction::SecretWritten),
        )
        .await;
    assert_eq!(refused, Err(StoreError::Stale));
    assert_eq!(
        store
            .secrets
            .get_secret(&scope, acme.tenant.id, &first.name)
            .await
            .unwrap(),
        Some(second.clone())
    );
    assert_eq!(audit_len(&store, &org).await, before + 1);

    let deleting = f.secret_audit(&second, AuditAction::SecretDeleted);
    assert_eq!(
        store
            .secrets
            .delete_secret(&scope, acme.tenant.id, &first.name, 1, &deleting)
            .await,
        Err(StoreError::Stale),
        "deleting from a stale version"
    );
    store
        .secrets
        .delete_secret(&scope, acme.tenant.id, &first.name, 2, &deleting)
        .await
        .unwrap();
    assert_eq!(
        store
            .secrets
            .get_secret(&scope, acme.tenant.id, &first.name)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .secrets
            .delete_secret(
                &scope,
                acme.tenant.id,
                &first.name,
                2,
                &f.secret_audit(&second, AuditAction::SecretDeleted)
            )
            .await,
        Err(StoreError::Stale),
        "deleting what is gone"
    );
    let trail = trail(&store, &org).await;
    assert_eq!(trail.len(), before + 2);
    assert_eq!(trail.last(), Some(&deleting));
}

/// A reveal reads the secret and appends its record in one operation.
pub async fn revealing_a_secret_appends_its_audit_record_and_a_missing_one_appends_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let secret = f.secret(&acme.tenant, "webhook.signing", "whsec");
    put(&store, &f, &secret).await;
    let before = audit_len(&store, &org).await;
    let audit = f.secret_audit(&secret, AuditAction::SecretRevealed);
    let tenant_scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    let revealed = store
        .secrets
        .reveal_secret(&tenant_scope, acme.tenant.id, &secret.name, &audit)
        .await
        .unwrap();
    assert_eq!(revealed, Some(secret.clone()));
    let trail_now = trail(&store, &org).await;
    assert_eq!(trail_now.len(), before + 1);
    assert_eq!(trail_now.last(), Some(&audit));

    let missing = store
        .secrets
        .reveal_secret(
            &tenant_scope,
            acme.tenant.id,
            &name("nope"),
            &f.secret_audit(&secret, AuditAction::SecretRevealed),
        )
        .await
        .unwrap();
    assert_eq!(missing, None);
    assert_eq!(audit_len(&store, &org).await, before + 1);
}

/// Names list in byte order, one tenant's only, resumable after a name.
pub async fn secrets_are_listed_in_name_order_after_a_cursor_up_to_a_limit(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    for n in ["b", "A", "a", "B2", "0-z", "a.b", "a_b"] {
        put(&store, &f, &f.secret(&acme.tenant, n, n)).await;
    }
    put(&store, &f, &f.secret(&beta.tenant, "a", "beta")).await;
    let all = secret_names(&store, &f.secret(&acme.tenant, "x", "x")).await;
    assert_eq!(all, ["0-z", "A", "B2", "a", "a.b", "a_b", "b"]);
    let page = store
        .secrets
        .list_secrets(&DataScope::Platform, acme.tenant.id, Some(name("B2")), 2)
        .await
        .unwrap();
    let names: Vec<_> = page.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "a.b"]);
}

/// A tenant that is not active takes no secret writes.
pub async fn secret_writes_for_a_tenant_that_is_not_active_are_stale_and_write_nothing(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let kept = f.secret(&acme.tenant, "kept", "kept");
    put(&store, &f, &kept).await;
    let suspended = moved(&acme.tenant, TenantStatus::Suspended, at(1));
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &suspended,
            &f.tenant_audit(&suspended, AuditAction::TenantSuspended),
        )
        .await
        .unwrap();
    let before = audit_len(&store, &org).await;
    let new = f.secret(&acme.tenant, "new", "new");
    assert_eq!(
        store
            .secrets
            .put_secret(
                &DataScope::Platform,
                &new,
                None,
                &f.secret_audit(&new, AuditAction::SecretWritten)
            )
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(
        store
            .secrets
            .delete_secret(
                &DataScope::Platform,
                acme.tenant.id,
                &kept.name,
                1,
                &f.secret_audit(&kept, AuditAction::SecretDeleted)
            )
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(secret_names(&store, &kept).await, ["kept"]);
    assert_eq!(audit_len(&store, &org).await, before);
}

/// `new_data_key` is for tenants without one: a tenant that has one keeps it
/// and the write is refused.
pub async fn a_new_data_key_is_stored_with_a_secret_only_for_a_tenant_without_one(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let scope = DataScope::Platform;
    let secret = f.secret(&acme.tenant, "smtp", "v");
    let other_key = f.wrapped_key(&acme.tenant, 7);
    assert_eq!(
        store
            .secrets
            .put_secret(
                &scope,
                &secret,
                Some(other_key),
                &f.secret_audit(&secret, AuditAction::SecretWritten)
            )
            .await,
        Err(StoreError::Stale),
        "a tenant with a data key keeps it"
    );
    assert_eq!(
        store
            .data_keys
            .data_key(&scope, acme.tenant.id)
            .await
            .unwrap(),
        Some(acme.data_key.clone())
    );
    assert!(secret_names(&store, &secret).await.is_empty());

    // The other half (a tenant without a data key takes one with its first
    // secret) cannot be set up through the ports: every provisioning stores a
    // key. Only databases older than data keys hold such tenants.
    put(&store, &f, &secret).await;
    assert_eq!(secret_names(&store, &secret).await, ["smtp"]);
}

/// Tenant scopes see and touch only their own tenant's secrets and key.
pub async fn another_tenants_secrets_and_data_key_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other_org = seed_org(&store, &f, "other").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let secret = f.secret(&acme.tenant, "smtp", "acme");
    put(&store, &f, &secret).await;
    let beta_scope = DataScope::Tenant {
        org: org.id,
        tenant: beta.tenant.id,
    };
    let foreign_org = DataScope::Org(other_org.id);
    for scope in [beta_scope, foreign_org] {
        assert_eq!(
            store
                .data_keys
                .data_key(&scope, acme.tenant.id)
                .await
                .unwrap(),
            None,
            "{scope:?}"
        );
        assert_eq!(
            store
                .secrets
                .get_secret(&scope, acme.tenant.id, &secret.name)
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .secrets
                .list_secrets(&scope, acme.tenant.id, None, ALL)
                .await
                .unwrap()
                .is_empty()
        );
        let before = audit_len(&store, &org).await;
        let replaced = StoredSecret {
            version: 2,
            ..secret.clone()
        };
        let refused = store
            .secrets
            .put_secret(
                &scope,
                &replaced,
                None,
                &f.secret_audit(&replaced, AuditAction::SecretWritten),
            )
            .await;
        assert_eq!(refused, Err(StoreError::OutOfScope), "{scope:?}");
        let deleted = store
            .secrets
            .delete_secret(
                &scope,
                acme.tenant.id,
                &secret.name,
                1,
                &f.secret_audit(&secret, AuditAction::SecretDeleted),
            )
            .await;
        assert!(deleted.is_err(), "{scope:?}");
        assert_eq!(audit_len(&store, &org).await, before);
    }
    let acme_scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    assert_eq!(
        store
            .secrets
            .get_secret(&acme_scope, acme.tenant.id, &secret.name)
            .await
            .unwrap(),
        Some(secret)
    );
}
