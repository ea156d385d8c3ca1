//! `SettingsStore`: one document per owner and group, written by version with
//! its audit record, visible to its org and tenant only (a tenant sees its
//! org's defaults), purged with its tenant.

use domain::ports::{DataScope, SettingsOwner, StoreError, StoredSettings};
use domain::{AuditAction, Org, Tenant};
use serde_json::json;

use super::{delete_tenant, seed_key, seed_org, seed_tenant, trail};
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

/// The key lookup carries the tenant's `security` document's `ipAllowlist`,
/// as written last: none before, the list after, none once it is removed or
/// emptied; other tenants' keys and other groups are unaffected.
pub async fn key_lookups_carry_the_tenants_current_ip_allowlist(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;
    let key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "k")).await;
    let other = seed_key(&store, &f, f.namespace_api_key(&globex.namespaces[0], "k")).await;
    let allowlist = |hash| {
        let store = store.clone();
        async move {
            let lookup = store.keys.find_key(&hash).await.unwrap().expect("the key");
            lookup
                .tenant
                .as_ref()
                .expect("a tenant")
                .ip_allowlist
                .clone()
        }
    };
    let write = |group: &'static str, version: u64, document: serde_json::Value| {
        let store = store.clone();
        let f = &f;
        let org = &org;
        let owner = of(&acme.tenant);
        async move {
            let audit = domain::AuditRecord {
                tenant_id: owner.tenant(),
                ..f.org_audit(org, AuditAction::SettingsUpdated)
            };
            let stored = StoredSettings {
                document,
                version,
                updated_at: at(i64::try_from(version).unwrap()),
            };
            store
                .settings
                .put_settings(&DataScope::Platform, owner, group, &stored, &audit)
                .await
                .unwrap();
        }
    };
    assert_eq!(allowlist(key.hash).await, None);

    write("branding", 1, json!({"ipAllowlist": ["10.0.0.0/8"]})).await;
    assert_eq!(
        allowlist(key.hash).await,
        None,
        "only the security group counts"
    );
    write(
        "security",
        1,
        json!({"ipAllowlist": ["203.0.113.0/24", "2001:db8::/32"]}),
    )
    .await;
    let list = allowlist(key.hash).await.expect("the tenant's list");
    let shown: Vec<&str> = list.networks().iter().map(|n| n.as_str()).collect();
    assert_eq!(shown, ["203.0.113.0/24", "2001:db8::/32"]);
    assert_eq!(allowlist(other.hash).await, None, "another tenant's keys");

    write("security", 2, json!({"requireMfa": true})).await;
    assert_eq!(allowlist(key.hash).await, None, "removed");
    write("security", 3, json!({"ipAllowlist": []})).await;
    assert_eq!(
        allowlist(key.hash).await,
        None,
        "an empty list restricts nothing"
    );
}
