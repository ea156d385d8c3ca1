//! Bounds on the work one request may ask for, enforced by the use cases
//! themselves, so an embedder that calls the domain without the HTTP adapter
//! gets them too (docs/security.md, "Limits and timeouts").

use domain::{
    Access, ApiKeyError, KeyLocation, Limit, ListError, Mode, Name, NewApiKey, NewNamespace,
    OrgRef, ProvisionError, ProvisionTenant, ResourceKey, TenantFilter, TenantSort,
};

use crate::support::{App, admin, namespace_key, spec};

#[tokio::test]
async fn a_provisioning_request_with_more_namespaces_than_allowed_is_refused_and_stores_nothing() {
    let app = App::new();
    let org = app.org("signstack").await;
    let namespaces: Vec<NewNamespace> = (0..=ProvisionTenant::MAX_NAMESPACES)
        .map(|n| NewNamespace {
            key: namespace_key(&format!("ns-{n:03}")),
            name: None,
            mode: Mode::Live,
        })
        .collect();
    let request = ProvisionTenant {
        namespaces,
        ..spec("acme")
    };

    let result = app
        .tenancy
        .provision(&admin(), &OrgRef::Id(org.id), request)
        .await;

    assert!(
        matches!(result, Err(ProvisionError::TooManyNamespaces(_))),
        "{result:?}"
    );
    let page = app
        .tenancy
        .list_tenants(
            &admin(),
            Some(&OrgRef::Id(org.id)),
            TenantFilter::default(),
            TenantSort::default(),
            None,
            Limit::new(10).unwrap(),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty(), "a tenant was stored");
}

#[tokio::test]
async fn a_key_restricted_to_more_resources_than_allowed_is_refused() {
    let app = App::new();
    let org = app.org("signstack").await;
    app.tenancy
        .provision(&admin(), &OrgRef::Id(org.id), spec("acme"))
        .await
        .unwrap();
    let location = KeyLocation::Namespace {
        org: OrgRef::Id(org.id),
        tenant: domain::TenantRef::Key(crate::support::tenant_key("acme")),
        namespace: domain::NamespaceRef::Key(namespace_key("acme-live")),
    };
    let resources: Vec<ResourceKey> = (0..=Access::MAX_RESOURCES)
        .map(|n| ResourceKey::parse(&format!("doc_{n}")).unwrap())
        .collect();

    let result = app
        .tenancy
        .issue_key(
            &admin(),
            &location,
            NewApiKey {
                name: Name::parse("reporting").unwrap(),
                role: None,
                scopes: None,
                resources: Some(resources),
                expires_at: None,
            },
        )
        .await;

    assert!(
        matches!(result, Err(ApiKeyError::TooManyResources(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_inventory_filter_holding_a_control_character_is_refused_by_the_use_case() {
    let app = App::new();
    let org = app.org("signstack").await;
    for filter in [
        TenantFilter {
            text: Some("ac\u{0}me".to_owned()),
            ..TenantFilter::default()
        },
        TenantFilter {
            metadata: vec![("tier".to_owned(), "go\u{1b}ld".to_owned())],
            ..TenantFilter::default()
        },
    ] {
        let result = app
            .tenancy
            .list_tenants(
                &admin(),
                Some(&OrgRef::Id(org.id)),
                filter.clone(),
                TenantSort::default(),
                None,
                Limit::new(10).unwrap(),
            )
            .await;
        assert!(
            matches!(&result, Err(ListError::InvalidFilter(errors)) if errors.len() == 1),
            "{filter:?}: {result:?}"
        );
    }
}
