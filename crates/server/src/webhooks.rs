//! The webhook delivery worker: claims due messages (`Tenancy::claim_webhook_deliveries`,
//! each the oldest pending one of its endpoint, so messages are concurrent
//! across endpoints and ordered within one) and sends them all at once
//! through the `WebhookSender` port (`Tenancy::deliver_webhook`). It wakes on
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

use domain::Tenancy;
use domain::ports::WebhookSender;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// The backstop: the longest the worker sleeps without a wake-up.
    pub poll: Duration,
    /// Most messages claimed (and sent at once) per round.
    pub batch: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            batch: 64,
        }
    }
}

/// Runs until `stop` turns true (or its sender is gone). Each round claims
/// and delivers; a round that found work is followed at once by another.
pub async fn run(
    tenancy: Tenancy,
    sender: Arc<dyn WebhookSender>,
    wake: Arc<Notify>,
    settings: WorkerSettings,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let busy = round(&tenancy, &sender, settings.batch).await;
        if busy {
            continue;
        }
        let stopping = tokio::select! {
            () = wake.notified() => false,
            () = tokio::time::sleep(settings.poll) => false,
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if stopping {
            break;
        }
    }
    tracing::debug!("webhook delivery worker stopped");
}

/// One round: whether it found anything to deliver.
async fn round(tenancy: &Tenancy, sender: &Arc<dyn WebhookSender>, batch: usize) -> bool {
    let claimed = match tenancy.claim_webhook_deliveries(batch).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tracing::error!(%error, "webhook delivery worker could not claim; it retries");
            return false;
        }
    };
    if claimed.is_empty() {
        return false;
    }
    let mut sending = JoinSet::new();
    for message in claimed {
        let tenancy = tenancy.clone();
        let sender = Arc::clone(sender);
        sending.spawn(async move {
            let result = tenancy.deliver_webhook(&message, sender.as_ref()).await;
            (message.delivery.id, result)
        });
    }
    while let Some(done) = sending.join_next().await {
        match done {
            Ok((delivery, Ok(next))) => {
                tracing::debug!(%delivery, ?next, "webhook delivery attempted");
            }
            Ok((delivery, Err(error))) => {
                // Its lease ends and it is claimed again.
                tracing::error!(%delivery, %error, "webhook delivery could not be recorded");
            }
            Err(error) => tracing::error!(%error, "a webhook delivery task failed"),
        }
    }
    true
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
    use domain::webhook_delivery::{OutgoingWebhook, SendOutcome};
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
        async fn check_target(&self, _url: &str) -> Result<(), String> {
            Ok(())
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
            batch: 8,
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
