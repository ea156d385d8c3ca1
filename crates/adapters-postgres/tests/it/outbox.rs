//! The transactional outbox on PostgreSQL: an event commits with its change
//! or not at all, and the commit wakes the delivery workers.

use std::time::Duration;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{OUTBOX_CHANNEL, PgStore};
use chrono::Duration as Days;
use domain::ports::{DataScope, EventLog, OrgStore, TenantStore};
use domain::{AuditAction, EventFilter, EventType, Org};
use sqlx::postgres::PgListener;
use test_support::fixtures::{Fixtures, epoch};

/// The longest a test waits for a notification.
const DEADLINE: Duration = Duration::from_secs(5);

async fn seeded_org(store: &PgStore, f: &Fixtures) -> Org {
    let org = f.org("signstack");
    store
        .create_org(
            &DataScope::Platform,
            &org,
            &f.org_audit(&org, AuditAction::OrgCreated),
        )
        .await
        .unwrap();
    org
}

async fn event_types(store: &PgStore, org: &Org) -> Vec<EventType> {
    store
        .events(
            &DataScope::Platform,
            org.id,
            None,
            epoch() - Days::days(1),
            &EventFilter::all(),
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

#[tokio::test]
async fn a_change_whose_transaction_rolls_back_at_commit_emits_no_event() {
    let test = TestDatabase::new().await;
    // A deferred check that fails at COMMIT, after the whole provisioning
    // (its audit record and event included) was written: the last moment a
    // transaction can still roll back.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.key = 'doomed' THEN RAISE EXCEPTION 'doomed at commit'; END IF; \
         RETURN NULL; END $$; \
         CREATE CONSTRAINT TRIGGER refuse_doomed AFTER INSERT ON tenants \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_doomed();",
    )
    .execute(&test.owner_pool().await)
    .await
    .unwrap();
    let store = PgStore::new(test.runtime().await);
    let f = Fixtures::new();
    let org = seeded_org(&store, &f).await;

    let doomed = f.provisioning(&org, "doomed", &["doomed-live"]);
    store
        .provision(&DataScope::Platform, &doomed)
        .await
        .expect_err("the commit fails");
    assert_eq!(
        event_types(&store, &org).await,
        [],
        "no event without its change"
    );

    let acme = f.provisioning(&org, "acme", &["acme-live"]);
    store.provision(&DataScope::Platform, &acme).await.unwrap();
    assert_eq!(
        event_types(&store, &org).await,
        [EventType::TenantProvisioned],
        "the change that commits has its event"
    );
}

#[tokio::test]
async fn a_committed_event_wakes_the_listeners_of_the_outbox_channel() {
    let test = TestDatabase::new().await;
    let mut listener = PgListener::connect(test.owner_url()).await.unwrap();
    listener.listen(OUTBOX_CHANNEL).await.unwrap();
    let store = PgStore::new(test.runtime().await);
    let f = Fixtures::new();
    let org = seeded_org(&store, &f).await;
    let acme = f.provisioning(&org, "acme", &["acme-live"]);
    store.provision(&DataScope::Platform, &acme).await.unwrap();
    let woken = tokio::time::timeout(DEADLINE, listener.recv())
        .await
        .expect("a notification before the deadline")
        .unwrap();
    assert_eq!(woken.channel(), OUTBOX_CHANNEL);
}
