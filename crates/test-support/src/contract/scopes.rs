//! Data scopes: what every adapter enforces underneath the application's own
//! checks (Postgres with row-level security), so a filter the application
//! forgets can neither show nor touch another org's or tenant's rows.

use domain::ports::{DataScope, StoreError};
use domain::{
    AuditAction, Limit, NamespaceRef, OrgRef, TenantFilter, TenantQuery, TenantRef, TenantSort,
};

use super::{ALL, seed_key, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, renamed};

fn everything() -> TenantQuery {
    TenantQuery::new(
        TenantFilter::default(),
        TenantSort::CreatedAsc,
        None,
        Limit::new(200).expect("a valid limit"),
    )
    .expect("a valid query")
}

pub async fn a_tenant_scope_sees_its_own_rows_and_nothing_of_other_tenants(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;
    let acme_key = seed_key(&store, &f, f.namespace_api_key(&acme.namespaces[0], "k")).await;
    let globex_key = seed_key(&store, &f, f.namespace_api_key(&globex.namespaces[0], "k")).await;
    let org_key = seed_key(&store, &f, f.org_api_key(&org, "k")).await;
    let scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };

    let org_row = store
        .orgs
        .get_org(&scope, &OrgRef::Id(org.id))
        .await
        .unwrap();
    assert_eq!(
        org_row.map(|o| o.id),
        Some(org.id),
        "its own org row is readable"
    );
    let other = TenantRef::Id(globex.tenant.id);
    assert_eq!(
        store.tenants.get_tenant(&scope, &other).await.unwrap(),
        None
    );
    let by_key = TenantRef::Key(globex.tenant.key.clone());
    assert_eq!(
        store.tenants.get_tenant(&scope, &by_key).await.unwrap(),
        None
    );
    let listed = store
        .tenants
        .list_tenants(&scope, &everything())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![acme.tenant.id]
    );
    let ns = NamespaceRef::Id(globex.namespaces[0].id);
    let seen = store
        .namespaces
        .get_namespace(&scope, globex.tenant.id, &ns)
        .await;
    assert_eq!(seen.unwrap(), None);
    let listed = store
        .namespaces
        .list_namespaces(&scope, globex.tenant.id, None, ALL)
        .await
        .unwrap();
    assert_eq!(listed, vec![]);
    for hidden in [&globex_key, &org_key] {
        let got = store.keys.get_key(&scope, org.id, hidden.id).await.unwrap();
        assert_eq!(got, None, "{:?}", hidden.owner);
        let listed = store
            .keys
            .list_keys(&scope, org.id, hidden.owner, None, ALL)
            .await
            .unwrap();
        assert_eq!(listed, vec![], "{:?}", hidden.owner);
    }
    let mine = store
        .keys
        .get_key(&scope, org.id, acme_key.id)
        .await
        .unwrap();
    assert_eq!(mine.map(|k| k.id), Some(acme_key.id));
    let records = store
        .audit
        .audit_records(&scope, org.id, None, None, ALL)
        .await
        .unwrap();
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r.tenant_id == Some(acme.tenant.id)),
        "only the tenant's own records: {records:?}"
    );
}

pub async fn an_org_scope_sees_its_org_and_nothing_of_other_orgs(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let umbrella = seed_tenant(&store, &f, &tigris, "umbrella", &["umbrella-live"]).await;
    let tigris_key = seed_key(&store, &f, f.org_api_key(&tigris, "k")).await;
    let scope = DataScope::Org(signstack.id);

    let other_org = store
        .orgs
        .get_org(&scope, &OrgRef::Id(tigris.id))
        .await
        .unwrap();
    assert_eq!(other_org, None);
    let by_key = store
        .orgs
        .get_org(&scope, &OrgRef::Key(tigris.key.clone()))
        .await
        .unwrap();
    assert_eq!(by_key, None);
    let orgs = store.orgs.list_orgs(&scope, None, ALL).await.unwrap();
    assert_eq!(
        orgs.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![signstack.id]
    );
    let other = TenantRef::Id(umbrella.tenant.id);
    assert_eq!(
        store.tenants.get_tenant(&scope, &other).await.unwrap(),
        None
    );
    let listed = store
        .tenants
        .list_tenants(&scope, &everything())
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![acme.tenant.id]
    );
    let key = store
        .keys
        .get_key(&scope, tigris.id, tigris_key.id)
        .await
        .unwrap();
    assert_eq!(key, None);
    let records = store
        .audit
        .audit_records(&scope, tigris.id, None, None, ALL)
        .await
        .unwrap();
    assert_eq!(records, vec![], "another org's trail");
}

pub async fn writes_outside_the_scope_are_refused_and_write_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let globex = seed_tenant(&store, &f, &signstack, "globex", &["globex-live"]).await;
    let globex_key = seed_key(&store, &f, f.namespace_api_key(&globex.namespaces[0], "k")).await;
    let acme_scope = DataScope::Tenant {
        org: signstack.id,
        tenant: acme.tenant.id,
    };
    let tigris_scope = DataScope::Org(tigris.id);
    let before = (
        trail(&store, &signstack).await,
        trail(&store, &tigris).await,
    );

    // Creating rows of another tenant or org is refused outright.
    let ns = f.namespace(&globex.tenant, "globex-extra");
    let created = store
        .namespaces
        .create_namespace(
            &acme_scope,
            &ns,
            &f.namespace_audit(&ns, AuditAction::NamespaceCreated),
        )
        .await;
    assert_eq!(
        created,
        Err(StoreError::OutOfScope),
        "another tenant's namespace"
    );
    let newcomer = f.provisioning(&signstack, "initech", &["initech-live"]);
    let provisioned = store.tenants.provision(&tigris_scope, &newcomer).await;
    assert_eq!(
        provisioned,
        Err(StoreError::OutOfScope),
        "a tenant of another org"
    );
    let key = f.namespace_api_key(&globex.namespaces[0], "sneaky");
    let minted = store
        .keys
        .create_key(
            &acme_scope,
            &key,
            &f.key_audit(&key, AuditAction::ApiKeyCreated),
        )
        .await;
    assert_eq!(
        minted,
        Err(StoreError::OutOfScope),
        "a key of another tenant"
    );
    let org_key = f.org_api_key(&signstack, "sneaky");
    let minted = store
        .keys
        .create_key(
            &acme_scope,
            &org_key,
            &f.key_audit(&org_key, AuditAction::ApiKeyCreated),
        )
        .await;
    assert_eq!(
        minted,
        Err(StoreError::OutOfScope),
        "an org key from a tenant scope"
    );

    // Changing rows out of sight finds nothing to change.
    let renamed_globex = renamed(&globex.tenant, "Globex 2");
    let audit = f.tenant_audit(&renamed_globex, AuditAction::TenantUpdated);
    let updated = store
        .tenants
        .update_tenant(&acme_scope, &renamed_globex, &audit)
        .await;
    assert_eq!(updated, Err(StoreError::Stale), "another tenant");
    let revoked = crate::fixtures::revoked(&globex_key, crate::fixtures::at(1));
    let audit = f.key_audit(&revoked, AuditAction::ApiKeyRevoked);
    let updated = store.keys.update_key(&tigris_scope, &revoked, &audit).await;
    assert_eq!(updated, Err(StoreError::Stale), "another org's key");

    let after = (
        trail(&store, &signstack).await,
        trail(&store, &tigris).await,
    );
    assert_eq!(after, before, "no audit record");
    let globex_now = store
        .tenants
        .get_tenant(&DataScope::Platform, &TenantRef::Id(globex.tenant.id))
        .await
        .unwrap();
    assert_eq!(globex_now, Some(globex.tenant.clone()), "unchanged");
    let newcomer_row = store
        .tenants
        .get_tenant(&DataScope::Platform, &TenantRef::Id(newcomer.tenant.id))
        .await
        .unwrap();
    assert_eq!(newcomer_row, None);
    let key_row = store
        .keys
        .get_key(&DataScope::Platform, signstack.id, key.id)
        .await
        .unwrap();
    assert_eq!(key_row, None);
}
