//! The retention job: deletes tenants whose retention period (docs/api.md §2) ended,
//! idempotency records past their replay window, and events older than the
//! feed's window with their finished webhook messages, and self-service
//! registrations whose link expired.

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
        purge_idempotency(&tenancy, &stop).await;
        purge_events(&tenancy, &stop).await;
        purge_registrations(&tenancy, &stop).await;
    }
    tracing::debug!("retention job stopped");
}

/// One round of tenant deletions.
async fn purge(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    match in_batches(stop, || tenancy.purge_expired_tenants(BATCH)).await {
        Ok(0) => tracing::debug!("retention job found no tenant past its retention period"),
        Ok(deleted) => tracing::info!(
            deleted,
            "retention job deleted tenants whose retention period ended"
        ),
        Err((error, deleted)) => {
            tracing::error!(%error, deleted, "retention job failed; it retries in the next round");
        }
    }
}

/// One round over idempotency records whose replay window ended.
async fn purge_idempotency(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    match in_batches(stop, || tenancy.purge_expired_idempotency(BATCH)).await {
        Ok(0) => {}
        Ok(deleted) => {
            tracing::debug!(
                deleted,
                "deleted idempotency records past their replay window"
            );
        }
        Err((error, deleted)) => tracing::error!(
            %error,
            deleted,
            "purging idempotency records failed; it retries in the next round"
        ),
    }
}

/// One round over events older than the feed's window.
async fn purge_events(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    match in_batches(stop, || tenancy.purge_old_events(BATCH)).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted events older than the feed's window"),
        Err((error, deleted)) => tracing::error!(
            %error,
            deleted,
            "purging old events failed; it retries in the next round"
        ),
    }
}

/// One round over registrations whose link expired (used or not).
async fn purge_registrations(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    match in_batches(stop, || tenancy.purge_expired_registrations(BATCH)).await {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "deleted expired registrations"),
        Err((error, deleted)) => tracing::error!(
            %error,
            deleted,
            "purging expired registrations failed; it retries in the next round"
        ),
    }
}

/// Calls `call` until a batch comes back short or shutdown begins; the total
/// it deleted, or the error that stopped it with the total so far.
async fn in_batches<F, Fut, E>(
    stop: &watch::Receiver<bool>,
    mut call: F,
) -> Result<usize, (E, usize)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
{
    let mut deleted = 0;
    loop {
        match call().await {
            Ok(count) => {
                deleted += count;
                if count < BATCH || *stop.borrow() {
                    return Ok(deleted);
                }
            }
            Err(error) => return Err((error, deleted)),
        }
    }
}
