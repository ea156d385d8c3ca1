//! The transactional outbox on PostgreSQL: an event commits with its change
//! or not at all, and the commit wakes the delivery workers.

use std::sync::Arc;
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

/// Records every event id it is sent; answers 200.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl domain::ports::WebhookSender for Recorder {
    /// Every target resolves to a public address here.
    async fn check_target(&self, _url: &str) -> domain::webhook_delivery::Target {
        domain::webhook_delivery::Target::Allowed
    }

    async fn send(
        &self,
        request: &domain::webhook_delivery::OutgoingWebhook,
    ) -> domain::webhook_delivery::SendOutcome {
        self.0.lock().unwrap().push(request.message_id.clone());
        tokio::task::yield_now().await;
        domain::webhook_delivery::SendOutcome::Answered {
            status: 200,
            retry_after: None,
            latency_ms: 1,
            excerpt: String::new(),
        }
    }
}

/// Every storage port on `store`, the rest from `base`.
pub(crate) fn ports_on(store: &Arc<PgStore>, base: domain::Ports) -> domain::Ports {
    domain::Ports {
        orgs: store.clone(),
        tenants: store.clone(),
        namespaces: store.clone(),
        keys: store.clone(),
        audit: store.clone(),
        events: store.clone(),
        webhooks: store.clone(),
        deliveries: store.clone(),
        members: store.clone(),
        settings: store.clone(),
        custom_domains: store.clone(),
        library: store.clone(),
        data_keys: store.clone(),
        tenant_secrets: store.clone(),
        idempotency: store.clone(),
        registrations: store.clone(),
        ..base
    }
}

#[tokio::test]
async fn two_instances_deliver_every_event_once_and_lose_none() {
    use adapters_memory::{ManualClock, MemoryKms, MemoryStore};
    use domain::{Context, Metadata, Name, NewOrg, NewWebhook, OrgKey, OrgRef, ProvisionTenant};
    use domain::{Settings, Tenancy, TenantKey};

    let test = TestDatabase::new().await;
    let harness = Arc::new(MemoryStore::new());
    let base = domain::Ports {
        kms: Arc::new(MemoryKms::default()),
        ..harness.ports(Arc::new(ManualClock::default()))
    };
    let one = Arc::new(PgStore::new(test.runtime().await));
    let two = Arc::new(PgStore::new(test.runtime().await));
    let first = Tenancy::new(ports_on(&one, base.clone()), Settings::default());
    let second = Tenancy::new(ports_on(&two, base), Settings::default());
    let admin = Context::platform_admin();
    let org = first
        .create_org(
            &admin,
            NewOrg {
                key: OrgKey::parse("signstack").unwrap(),
                name: Name::parse("SignStack").unwrap(),
            },
        )
        .await
        .unwrap();
    let at = OrgRef::Id(org.id);
    for path in ["a", "b", "c"] {
        first
            .create_webhook(
                &admin,
                &at,
                NewWebhook {
                    url: format!("https://hooks.example.com/{path}"),
                    description: None,
                    event_types: EventFilter::of(vec![EventType::TenantProvisioned]),
                    enabled: true,
                },
            )
            .await
            .unwrap();
    }
    for n in 0..12 {
        first
            .provision(
                &admin,
                &at,
                ProvisionTenant {
                    key: TenantKey::parse(&format!("tenant-{n}")).unwrap(),
                    name: Name::parse("Tenant").unwrap(),
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: Metadata::default(),
                    namespaces: vec![],
                },
            )
            .await
            .unwrap();
    }
    let recorder = Arc::new(Recorder::default());
    let work = |tenancy: Tenancy, recorder: Arc<Recorder>| async move {
        let mut idle = 0;
        while idle < 3 {
            let claimed = tenancy.claim_webhook_deliveries(4, 4).await.unwrap();
            if claimed.is_empty() {
                idle += 1;
                tokio::task::yield_now().await;
                continue;
            }
            idle = 0;
            for batch in &claimed {
                tenancy
                    .deliver_webhooks(batch, recorder.as_ref())
                    .await
                    .unwrap();
            }
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(work(first, recorder.clone())),
        tokio::spawn(work(second, recorder.clone()))
    );
    x.unwrap();
    y.unwrap();
    let sent = recorder.0.lock().unwrap().clone();
    let mut counts = std::collections::HashMap::new();
    for id in &sent {
        *counts.entry(id.clone()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 12, "every event delivered");
    assert!(
        counts.values().all(|n| *n == 3),
        "once to each of the three endpoints: {counts:?}"
    );
}
