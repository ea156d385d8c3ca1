//! `EventLog` and the outbox rule every audited write shares: a write that
//! appends an audit record whose action emits an event (`Event::of_audit`)
//! writes exactly that event in the same atomic operation; a failed or refused
//! write writes none.

use chrono::{DateTime, Duration, Utc};
use domain::ports::{DataScope, StoreError};
use domain::{AuditAction, AuditRecord, Event, EventFilter, EventType, Org, TenantStatus};
use uuid::Uuid;

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, epoch, moved, name, renamed, revoked, tombstone};

/// Earlier than every fixture: "the whole feed".
fn long_ago() -> DateTime<Utc> {
    epoch() - Duration::days(365)
}

/// The org's whole feed as the platform sees it.
async fn feed(store: &StorePorts, org: &Org) -> Vec<Event> {
    feed_of(store, &DataScope::Platform, org, None, &EventFilter::all()).await
}

async fn feed_of(
    store: &StorePorts,
    scope: &DataScope,
    org: &Org,
    after: Option<Uuid>,
    types: &EventFilter,
) -> Vec<Event> {
    store
        .events
        .events(scope, org.id, after, long_ago(), types, ALL)
        .await
        .expect("reading the event feed")
}

fn types_of(events: &[Event]) -> Vec<EventType> {
    events.iter().map(|e| e.event_type).collect()
}

pub async fn every_audited_change_writes_exactly_its_event_in_the_order_written(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    assert_eq!(
        feed(&store, &org).await,
        [],
        "creating an org emits nothing"
    );
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];

    let tenant = renamed(&acme.tenant, "Acme Holdings");
    let record = f.tenant_audit(&tenant, AuditAction::TenantUpdated);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &tenant, &record)
        .await
        .unwrap();
    let suspended = moved(&tenant, TenantStatus::Suspended, at(2));
    let record = f.tenant_audit(&suspended, AuditAction::TenantSuspended);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &suspended, &record)
        .await
        .unwrap();
    let active = moved(&suspended, TenantStatus::Active, at(3));
    let record = f.tenant_audit(&active, AuditAction::TenantReactivated);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &active, &record)
        .await
        .unwrap();
    let extra = f.namespace(&active, "acme-extra");
    store
        .namespaces
        .create_namespace(
            &DataScope::Platform,
            &extra,
            &f.namespace_audit(&extra, AuditAction::NamespaceCreated),
        )
        .await
        .unwrap();
    let extra = domain::Namespace {
        name: name("Extra"),
        version: extra.version + 1,
        ..extra
    };
    store
        .namespaces
        .update_namespace(
            &DataScope::Platform,
            &extra,
            &f.namespace_audit(&extra, AuditAction::NamespaceUpdated),
        )
        .await
        .unwrap();
    let key = f.namespace_api_key(ns, "CI");
    store
        .keys
        .create_key(
            &DataScope::Platform,
            &key,
            &f.key_audit(&key, AuditAction::ApiKeyCreated),
        )
        .await
        .unwrap();
    let (old, new) = f.rotation(&key, at(4));
    store
        .keys
        .rotate_key(
            &DataScope::Platform,
            &old,
            &new,
            &f.key_audit(&old, AuditAction::ApiKeyRotated),
        )
        .await
        .unwrap();
    let gone = revoked(&new, at(5));
    store
        .keys
        .update_key(
            &DataScope::Platform,
            &gone,
            &f.key_audit(&gone, AuditAction::ApiKeyRevoked),
        )
        .await
        .unwrap();
    store.keys.record_usage(&[(key.id, at(6))]).await.unwrap();
    let dead = tombstone(&active);
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &dead,
            &f.tenant_audit(&dead, AuditAction::TenantDeleted),
        )
        .await
        .unwrap();

    let events = feed(&store, &org).await;
    use EventType as T;
    assert_eq!(
        types_of(&events),
        [
            T::TenantProvisioned,
            T::TenantUpdated,
            T::TenantSuspended,
            T::TenantReactivated,
            T::NamespaceCreated,
            T::ApiKeyCreated,
            T::ApiKeyRotated,
            T::ApiKeyRevoked,
            T::TenantDeleted,
        ],
        "one event per emitting change, in the order written"
    );
    let derived: Vec<Event> = trail(&store, &org)
        .await
        .iter()
        .filter_map(Event::of_audit)
        .collect();
    assert_eq!(
        events, derived,
        "each event is exactly the one its audit record emits"
    );
    let texts: String = events.iter().map(Event::payload_text).collect();
    assert!(
        !texts.contains("Acme") && !texts.contains("contract case"),
        "an event carries no name and no reason: {texts}"
    );
}

pub async fn failed_and_refused_changes_write_no_event(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let before = feed(&store, &org).await;
    assert_eq!(types_of(&before), [EventType::TenantProvisioned]);

    let twin = f.provisioning(&org, "acme", &["acme-live"]);
    let stale = moved(&acme.tenant, TenantStatus::Suspended, at(1));
    let stale = domain::Tenant {
        version: stale.version + 1,
        ..stale
    };
    let foreign = moved(&acme.tenant, TenantStatus::Suspended, at(1));
    let missing_ns = f.namespace_api_key(&f.namespace(&acme.tenant, "acme-never"), "CI");
    let failures: Vec<(&str, Result<(), StoreError>)> = vec![
        (
            "provisioning a used tenant key",
            store.tenants.provision(&DataScope::Platform, &twin).await,
        ),
        (
            "suspending from a stale version",
            store
                .tenants
                .update_tenant(
                    &DataScope::Platform,
                    &stale,
                    &f.tenant_audit(&stale, AuditAction::TenantSuspended),
                )
                .await,
        ),
        (
            "suspending from another org's scope",
            store
                .tenants
                .update_tenant(
                    &DataScope::Org(other.id),
                    &foreign,
                    &f.tenant_audit(&foreign, AuditAction::TenantSuspended),
                )
                .await,
        ),
        (
            "creating a key for a namespace that does not exist",
            store
                .keys
                .create_key(
                    &DataScope::Platform,
                    &missing_ns,
                    &f.key_audit(&missing_ns, AuditAction::ApiKeyCreated),
                )
                .await,
        ),
    ];
    for (what, result) in failures {
        assert!(result.is_err(), "{what} succeeded");
        assert_eq!(feed(&store, &org).await, before, "{what} wrote an event");
    }
    assert_eq!(
        feed(&store, &other).await,
        [],
        "nothing reached the other org"
    );
}

pub async fn events_resume_after_an_event_and_filter_by_type_time_and_scope(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"]).await;
    seed_tenant(&store, &f, &other, "initech", &["initech-live"]).await;
    // A suspension an hour later than the rest.
    let suspended = moved(&acme.tenant, TenantStatus::Suspended, at(60));
    let late = AuditRecord {
        at: at(60),
        ..f.tenant_audit(&suspended, AuditAction::TenantSuspended)
    };
    store
        .tenants
        .update_tenant(&DataScope::Platform, &suspended, &late)
        .await
        .unwrap();

    let all = feed(&store, &org).await;
    assert_eq!(all.len(), 3, "the org's events only: {all:?}");
    assert!(all.iter().all(|e| e.org_id == org.id));

    let rest = feed_of(
        &store,
        &DataScope::Platform,
        &org,
        Some(all[0].id),
        &EventFilter::all(),
    )
    .await;
    assert_eq!(rest, all[1..], "resumes strictly after the event named");
    let page = store
        .events
        .events(
            &DataScope::Platform,
            org.id,
            Some(all[0].id),
            long_ago(),
            &EventFilter::all(),
            1,
        )
        .await
        .unwrap();
    assert_eq!(page, all[1..2], "at most the limit");
    let unknown = feed_of(
        &store,
        &DataScope::Platform,
        &org,
        Some(Uuid::nil()),
        &EventFilter::all(),
    )
    .await;
    assert_eq!(unknown, [], "an unknown position yields nothing");

    let suspensions = feed_of(
        &store,
        &DataScope::Platform,
        &org,
        None,
        &EventFilter::of(vec![EventType::TenantSuspended, EventType::ApiKeyRevoked]),
    )
    .await;
    assert_eq!(suspensions, all[2..], "only the types asked for");

    let recent = store
        .events
        .events(
            &DataScope::Platform,
            org.id,
            None,
            at(30),
            &EventFilter::all(),
            ALL,
        )
        .await
        .unwrap();
    assert_eq!(recent, all[2..], "only events at or after `since`");

    let as_acme = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    let seen = feed_of(&store, &as_acme, &org, None, &EventFilter::all()).await;
    assert_eq!(
        types_of(&seen),
        [EventType::TenantProvisioned, EventType::TenantSuspended],
        "a tenant scope sees its own events only"
    );
    assert!(seen.iter().all(|e| e.tenant_id == Some(acme.tenant.id)));
    let past_globex = feed_of(&store, &as_acme, &org, Some(all[1].id), &EventFilter::all()).await;
    assert_eq!(
        past_globex,
        [],
        "another tenant's event is no position for a tenant scope"
    );
    assert_eq!(all[1].tenant_id, Some(globex.tenant.id));
    let from_other_org = feed_of(
        &store,
        &DataScope::Org(other.id),
        &org,
        None,
        &EventFilter::all(),
    )
    .await;
    assert_eq!(from_other_org, [], "another org's scope sees nothing");
}
