//! `SettingsStore`: one document per owner and group, written by version with
//! its audit record, visible to its org and tenant only (a tenant sees its
//! org's defaults), purged with its tenant.

use domain::ports::{DataScope, SettingsOwner, StoreError, StoredSettings};
use domain::{AuditAction, Org, Tenant};
use serde_json::json;

use super::{delete_tenant, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at};

fn doc(version: u64, company: &str) -> StoredSettings {
    StoredSettings {
        document: json!({ "companyName": company }),
        version,
        updated_at: at(i64::try_from(version).unwrap()),
    }
}

fn of(tenant: &Tenant) -> SettingsOwner {
    SettingsOwner::Tenant {
        org: tenant.org_id,
        tenant: tenant.id,
    }
}

async fn put(
    store: &StorePorts,
    f: &Fixtures,
    scope: &DataScope,
    owner: SettingsOwner,
    stored: &StoredSettings,
    org: &Org,
) -> Result<(), StoreError> {
    let audit = f.org_audit(org, AuditAction::SettingsUpdated);
    let audit = domain::AuditRecord {
        tenant_id: owner.tenant(),
        ..audit
    };
    store
        .settings
        .put_settings(scope, owner, "branding", stored, &audit)
        .await
}

pub async fn documents_are_written_by_version_and_read_back_per_owner_and_group(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let namespace = SettingsOwner::Namespace {
        org: org.id,
        tenant: tenant.tenant.id,
        namespace: tenant.namespaces[0].id,
    };
    let scope = DataScope::Org(org.id);
    let before = trail(&store, &org).await.len();
    for owner in [SettingsOwner::Org(org.id), of(&tenant.tenant), namespace] {
        assert_eq!(
            store
                .settings
                .settings(&scope, owner, "branding")
                .await
                .unwrap(),
            None,
            "never written"
        );
        put(&store, &f, &scope, owner, &doc(1, "first"), &org)
            .await
            .expect("the first version");
        assert_eq!(
            put(&store, &f, &scope, owner, &doc(1, "again"), &org).await,
            Err(StoreError::Stale),
            "a second first version"
        );
        assert_eq!(
            put(&store, &f, &scope, owner, &doc(3, "skipped"), &org).await,
            Err(StoreError::Stale),
            "a version that is not the next"
        );
        put(&store, &f, &scope, owner, &doc(2, "second"), &org)
            .await
            .expect("the next version");
        assert_eq!(
            store
                .settings
                .settings(&scope, owner, "branding")
                .await
                .unwrap(),
            Some(doc(2, "second"))
        );
        assert_eq!(
            store
                .settings
                .settings(&scope, owner, "general")
                .await
                .unwrap(),
            None,
            "another group"
        );
    }
    assert_eq!(
        trail(&store, &org).await.len(),
        before + 6,
        "one record a write"
    );
}

pub async fn another_orgs_and_tenants_documents_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    put(
        &store,
        &f,
        &scope,
        SettingsOwner::Org(org.id),
        &doc(1, "defaults"),
        &org,
    )
    .await
    .unwrap();
    put(&store, &f, &scope, of(&acme), &doc(1, "acme"), &org)
        .await
        .unwrap();
    let globex_scope = DataScope::Tenant {
        org: org.id,
        tenant: globex.id,
    };
    assert_eq!(
        store
            .settings
            .settings(&globex_scope, of(&acme), "branding")
            .await
            .unwrap(),
        None,
        "another tenant's"
    );
    assert_eq!(
        store
            .settings
            .settings(&globex_scope, SettingsOwner::Org(org.id), "branding")
            .await
            .unwrap(),
        Some(doc(1, "defaults")),
        "its org's defaults, which its branding falls back to"
    );
    let theirs = DataScope::Org(other.id);
    assert_eq!(
        store
            .settings
            .settings(&theirs, of(&acme), "branding")
            .await
            .unwrap(),
        None
    );
    assert!(
        put(&store, &f, &globex_scope, of(&acme), &doc(2, "x"), &org)
            .await
            .is_err()
    );
    assert!(
        put(
            &store,
            &f,
            &globex_scope,
            SettingsOwner::Org(org.id),
            &doc(2, "x"),
            &org
        )
        .await
        .is_err(),
        "a tenant does not write its org's defaults"
    );
    assert!(
        put(&store, &f, &theirs, of(&acme), &doc(2, "x"), &org)
            .await
            .is_err()
    );
    assert_eq!(
        store
            .settings
            .settings(&scope, of(&acme), "branding")
            .await
            .unwrap(),
        Some(doc(1, "acme")),
        "nothing changed"
    );
}

pub async fn a_deleted_tenants_documents_are_purged_with_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    put(&store, &f, &scope, of(&tenant), &doc(1, "acme"), &org)
        .await
        .unwrap();
    delete_tenant(&store, &f, &tenant).await;
    assert_eq!(
        store
            .settings
            .settings(&scope, of(&tenant), "branding")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        put(&store, &f, &scope, of(&tenant), &doc(1, "again"), &org).await,
        Err(StoreError::Stale),
        "a tombstone takes no settings"
    );
}
