//! The webhook delivery worker: claims due messages in batches
//! (`Tenancy::claim_webhook_deliveries`: an endpoint's oldest pending
//! messages, so messages are concurrent across endpoints and ordered within
//! one) and sends each batch through the `WebhookSender` port
//! (`Tenancy::deliver_webhooks`), the batches of different endpoints at once. It wakes on
//! `wake` (on PostgreSQL: a notification on `tenancy_outbox`, sent by every
//! commit that writes an event, see [`outbox_wakeups`]) and polls every
//! [`WorkerSettings::poll`] as a backstop (a missed notification, retries
//! coming due). Claims are safe with any number of instances; a worker that
//! dies mid-delivery leaves its messages to be claimed again after their lease.
//!
//! The real sender (signing, SSRF guard, 15 s timeout) is wired by the
//! caller; this module decides nothing about a delivery's outcome.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::WebhookSender;
use domain::webhook_delivery::{ClaimedDelivery, Next};
use domain::{Tenancy, WebhookError};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinError, JoinSet};

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// The backstop: the longest the worker sleeps without a wake-up.
    pub poll: Duration,
    /// Most endpoints whose batches are in flight at once.
    pub endpoints: usize,
    /// Most messages of one endpoint claimed (and sent one after another)
    /// as one batch.
    pub per_endpoint: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            endpoints: 64,
            per_endpoint: 100,
        }
    }
}

/// Runs until `stop` turns true (or its sender is gone). Batches are sent
/// concurrently, one per endpoint; whenever one is done or a wake-up comes,
/// free places are filled by claiming again, so a slow endpoint holds up
/// only itself. Batches in flight are finished (and recorded) before it
/// returns.
pub async fn run(
    tenancy: Tenancy,
    sender: Arc<dyn WebhookSender>,
    wake: Arc<Notify>,
    settings: WorkerSettings,
    mut stop: watch::Receiver<bool>,
) {
    let mut sending = JoinSet::new();
    // Whether the last claim may have left due work behind.
    let mut more = true;
    loop {
        if *stop.borrow() {
            break;
        }
        let free = settings.endpoints.saturating_sub(sending.len());
        if more && free > 0 {
            let claimed = claim(&tenancy, free, settings.per_endpoint).await;
            more = claimed.len() == free;
            for batch in claimed {
                let tenancy = tenancy.clone();
                let sender = Arc::clone(&sender);
                sending
                    .spawn(async move { tenancy.deliver_webhooks(&batch, sender.as_ref()).await });
            }
        }
        let stopping = tokio::select! {
            Some(done) = sending.join_next(), if !sending.is_empty() => {
                report(done);
                // The endpoint is free again, and may have more.
                more = true;
                false
            }
            () = wake.notified() => { more = true; false }
            () = tokio::time::sleep(settings.poll) => { more = true; false }
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if stopping {
            break;
        }
    }
    while let Some(done) = sending.join_next().await {
        report(done);
    }
    tracing::debug!("webhook delivery worker stopped");
}

/// Up to `endpoints` batches; none (logged) when the store fails.
async fn claim(
    tenancy: &Tenancy,
    endpoints: usize,
    per_endpoint: usize,
) -> Vec<Vec<ClaimedDelivery>> {
    tenancy
        .claim_webhook_deliveries(endpoints, per_endpoint)
        .await
        .unwrap_or_else(|error| {
            tracing::error!(%error, "webhook delivery worker could not claim; it retries");
            Vec::new()
        })
}

fn report(done: Result<Result<Vec<Next>, WebhookError>, JoinError>) {
    match done {
        Ok(Ok(nexts)) => tracing::debug!(attempted = nexts.len(), ?nexts, "webhook batch sent"),
        // Its lease ends and it is claimed again.
        Ok(Err(error)) => tracing::error!(%error, "webhook batch could not be recorded"),
        Err(error) => tracing::error!(%error, "a webhook delivery task failed"),
    }
}

/// Listens on `tenancy_outbox` at `listen_url` (a direct connection: LISTEN
/// does not pass a transaction-mode pooler) and wakes `wake` at each
/// notification, reconnecting after a failure; until `stop`.
pub async fn outbox_wakeups(
    listen_url: String,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let listened = async {
            let mut listener = sqlx::postgres::PgListener::connect(&listen_url).await?;
            listener.listen(adapters_postgres::OUTBOX_CHANNEL).await?;
            loop {
                listener.recv().await?;
                wake.notify_one();
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        let stopping = tokio::select! {
            result = listened => {
                if let Err(error) = result {
                    tracing::warn!(error = %adapters_postgres::error::translate(error),
                        "outbox listener lost its connection; polling until it is back");
                }
                false
            }
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if stopping {
            break;
        }
        // Whatever was committed meanwhile is found by the poll.
        wake.notify_one();
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use adapters_memory::{ManualClock, MemoryStore};
    use async_trait::async_trait;
    use domain::webhook_delivery::{OutgoingWebhook, SendOutcome, Target};
    use domain::{
        Context, EventFilter, Metadata, Name, NewOrg, NewWebhook, OrgKey, OrgRef, ProvisionTenant,
        Settings, TenantKey,
    };

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait]
    impl WebhookSender for Recorder {
        /// Every target resolves to a public address here.
        async fn check_target(&self, _url: &str) -> Target {
            Target::Allowed
        }

        async fn send(&self, request: &OutgoingWebhook) -> SendOutcome {
            self.0.lock().unwrap().push(request.payload.clone());
            SendOutcome::Answered {
                status: 200,
                retry_after: None,
                latency_ms: 1,
                excerpt: String::new(),
            }
        }
    }

    #[tokio::test]
    async fn the_worker_delivers_an_event_once_woken_and_stops_when_asked() {
        let store = Arc::new(MemoryStore::new());
        let tenancy = Tenancy::new(
            store.ports(Arc::new(ManualClock::default())),
            Settings::default(),
        );
        let admin = Context::platform_admin();
        let org = tenancy
            .create_org(
                &admin,
                NewOrg {
                    key: OrgKey::parse("signstack").unwrap(),
                    name: Name::parse("SignStack").unwrap(),
                },
            )
            .await
            .unwrap();
        tenancy
            .create_webhook(
                &admin,
                &OrgRef::Id(org.id),
                NewWebhook {
                    url: "https://hooks.example.com/".into(),
                    description: None,
                    event_types: EventFilter::all(),
                    enabled: true,
                },
            )
            .await
            .unwrap();
        let recorder = Arc::new(Recorder::default());
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let settings = WorkerSettings {
            // Only the wake-up can start a round within the test.
            poll: Duration::from_secs(3600),
            endpoints: 8,
            per_endpoint: 8,
        };
        let worker = tokio::spawn(run(
            tenancy.clone(),
            recorder.clone(),
            wake.clone(),
            settings,
            stopped,
        ));
        tenancy
            .provision(
                &admin,
                &OrgRef::Id(org.id),
                ProvisionTenant {
                    key: TenantKey::parse("acme").unwrap(),
                    name: Name::parse("Acme").unwrap(),
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: Metadata::default(),
                    namespaces: vec![],
                },
            )
            .await
            .unwrap();
        wake.notify_one();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while recorder.0.lock().unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "nothing delivered");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), worker)
            .await
            .expect("the worker stops")
            .unwrap();
        let sent = recorder.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("\"type\":\"tenant.provisioned\""));
    }
}
