//! `WebhookStore`: endpoints stored exactly as handed over (secrets sealed by
//! the domain), per org, written by version with one audit record each.

use domain::ports::{DataScope, StoreError};
use domain::{
    AuditAction, AuditDetails, AuditId, AuditRecord, EndpointSecrets, EventFilter, EventType, Org,
    RetiringSecret, SealedSecret, TargetKind, WebhookEndpoint, WebhookId, WebhookUrl,
};

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, epoch, operator};

pub(super) fn endpoint(f: &Fixtures, org: &Org, path: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookId::from_uuid(f.id()),
        org_id: org.id,
        url: WebhookUrl::parse(&format!("https://hooks.example.com/{path}"), false)
            .expect("a valid URL"),
        description: Some(domain::Description::parse("billing").expect("a description")),
        event_types: EventFilter::of(vec![EventType::TenantSuspended, EventType::ApiKeyRevoked]),
        enabled: true,
        failing_since: None,
        secrets: EndpointSecrets {
            current: SealedSecret(vec![1, 2, 3]),
            previous: None,
        },
        created_at: epoch(),
        updated_at: epoch(),
        version: 1,
    }
}

pub(super) fn audit(f: &Fixtures, e: &WebhookEndpoint, action: AuditAction) -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(f.id()),
        at: e.updated_at,
        actor: operator("key-ops"),
        action,
        target_kind: TargetKind::WebhookEndpoint,
        target_id: e.id.as_uuid(),
        org_id: e.org_id,
        tenant_id: None,
        request_id: None,
        details: AuditDetails::changes_only(Vec::new()),
    }
}

pub(super) async fn create(store: &StorePorts, f: &Fixtures, e: &WebhookEndpoint) {
    store
        .webhooks
        .create_endpoint(
            &DataScope::Org(e.org_id),
            e,
            &audit(f, e, AuditAction::WebhookEndpointCreated),
        )
        .await
        .expect("creating an endpoint");
}

async fn listed(store: &StorePorts, scope: &DataScope, org: &Org) -> Vec<WebhookEndpoint> {
    store
        .webhooks
        .list_endpoints(scope, org.id, None, ALL)
        .await
        .expect("listing endpoints")
}

pub async fn an_endpoint_is_stored_read_back_exactly_and_listed_by_org_in_id_order(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let first = endpoint(&f, &org, "one");
    let theirs = endpoint(&f, &other, "theirs");
    let second = WebhookEndpoint {
        description: None,
        event_types: EventFilter::all(),
        enabled: false,
        secrets: EndpointSecrets {
            current: SealedSecret(vec![9; 60]),
            previous: Some(RetiringSecret {
                sealed: SealedSecret(vec![8; 60]),
                until: at(90),
            }),
        },
        ..endpoint(&f, &org, "two")
    };
    for e in [&first, &theirs, &second] {
        create(&store, &f, e).await;
    }
    let scope = DataScope::Org(org.id);
    assert_eq!(
        store
            .webhooks
            .get_endpoint(&scope, org.id, second.id)
            .await
            .unwrap(),
        Some(second.clone()),
        "read back exactly"
    );
    assert_eq!(
        listed(&store, &scope, &org).await,
        [first.clone(), second.clone()]
    );
    let after_first = store
        .webhooks
        .list_endpoints(&scope, org.id, Some(first.id), 1)
        .await
        .unwrap();
    assert_eq!(after_first, std::slice::from_ref(&second));
    let created: Vec<AuditAction> = trail(&store, &org)
        .await
        .iter()
        .map(|r| r.action)
        .filter(|a| *a == AuditAction::WebhookEndpointCreated)
        .collect();
    assert_eq!(created.len(), 2, "one audit record per creation");
    let nobody = domain::OrgId::from_uuid(f.id());
    let orphan = WebhookEndpoint {
        org_id: nobody,
        ..endpoint(&f, &org, "orphan")
    };
    assert_eq!(
        store
            .webhooks
            .create_endpoint(
                &DataScope::Platform,
                &orphan,
                &audit(&f, &orphan, AuditAction::WebhookEndpointCreated)
            )
            .await,
        Err(StoreError::Stale),
        "an endpoint of an org that does not exist"
    );
}

pub async fn endpoint_updates_and_deletions_go_by_version_with_one_audit_record_each(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let e = endpoint(&f, &org, "one");
    create(&store, &f, &e).await;
    let before = trail(&store, &org).await.len();
    let next = WebhookEndpoint {
        enabled: false,
        updated_at: at(1),
        version: 2,
        ..e.clone()
    };
    store
        .webhooks
        .update_endpoint(
            &scope,
            &next,
            &audit(&f, &next, AuditAction::WebhookEndpointUpdated),
        )
        .await
        .unwrap();
    assert_eq!(trail(&store, &org).await.len(), before + 1);
    assert_eq!(
        store
            .webhooks
            .update_endpoint(
                &scope,
                &next,
                &audit(&f, &next, AuditAction::WebhookEndpointUpdated)
            )
            .await,
        Err(StoreError::Stale),
        "the same version twice"
    );
    assert_eq!(
        store
            .webhooks
            .delete_endpoint(
                &scope,
                &e,
                &audit(&f, &e, AuditAction::WebhookEndpointDeleted)
            )
            .await,
        Err(StoreError::Stale),
        "deleting from a stale version"
    );
    assert_eq!(
        trail(&store, &org).await.len(),
        before + 1,
        "failures write no audit"
    );
    assert_eq!(
        store
            .webhooks
            .get_endpoint(&scope, org.id, e.id)
            .await
            .unwrap(),
        Some(next.clone())
    );
    store
        .webhooks
        .delete_endpoint(
            &scope,
            &next,
            &audit(&f, &next, AuditAction::WebhookEndpointDeleted),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .webhooks
            .get_endpoint(&scope, org.id, e.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(trail(&store, &org).await.len(), before + 2);
}

pub async fn another_orgs_endpoints_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let e = endpoint(&f, &org, "one");
    create(&store, &f, &e).await;
    let as_tenant = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    for scope in [DataScope::Org(other.id), as_tenant] {
        assert_eq!(
            store
                .webhooks
                .get_endpoint(&scope, org.id, e.id)
                .await
                .unwrap(),
            None,
            "{scope:?}"
        );
        assert_eq!(listed(&store, &scope, &org).await, [], "{scope:?}");
        let next = WebhookEndpoint {
            version: 2,
            ..e.clone()
        };
        let refused = store
            .webhooks
            .update_endpoint(
                &scope,
                &next,
                &audit(&f, &next, AuditAction::WebhookEndpointUpdated),
            )
            .await;
        assert!(refused.is_err(), "{scope:?} updated another's endpoint");
        let refused = store
            .webhooks
            .delete_endpoint(
                &scope,
                &e,
                &audit(&f, &e, AuditAction::WebhookEndpointDeleted),
            )
            .await;
        assert!(refused.is_err(), "{scope:?} deleted another's endpoint");
        let planted = endpoint(&f, &org, "planted");
        let refused = store
            .webhooks
            .create_endpoint(
                &scope,
                &planted,
                &audit(&f, &planted, AuditAction::WebhookEndpointCreated),
            )
            .await;
        assert_eq!(refused, Err(StoreError::OutOfScope), "{scope:?}");
    }
    assert_eq!(
        store
            .webhooks
            .get_endpoint(&DataScope::Org(org.id), org.id, e.id)
            .await
            .unwrap(),
        Some(e)
    );
}
