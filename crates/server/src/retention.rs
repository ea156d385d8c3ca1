//! The retention job: deletes tenants whose retention period (SPEC §2) ended.

use std::time::Duration;

use domain::Tenancy;
use tokio::sync::watch;

/// How often the job looks for expired tenants.
const PERIOD: Duration = Duration::from_secs(60);

/// Tenants deleted per call; the job calls again while a call fills its batch.
const BATCH: usize = 100;

/// Runs until `stop` turns true (or its sender is gone). The first round runs at
/// once, so a restart catches up on what expired while the server was down.
pub async fn run(tenancy: Tenancy, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if stopping {
            break;
        }
        purge(&tenancy, &stop).await;
    }
    tracing::debug!("retention job stopped");
}

/// One round: batches until a batch comes back short, or shutdown begins.
async fn purge(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    let mut deleted = 0;
    loop {
        match tenancy.purge_expired_tenants(BATCH).await {
            Ok(count) => {
                deleted += count;
                if count < BATCH || *stop.borrow() {
                    break;
                }
            }
            Err(error) => {
                tracing::error!(%error, deleted, "retention job failed; it retries in the next round");
                return;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(
            deleted,
            "retention job deleted tenants whose retention period ended"
        );
    } else {
        tracing::debug!("retention job found no tenant past its retention period");
    }
}
