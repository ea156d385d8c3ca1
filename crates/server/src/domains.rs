//! The custom-domain job: every interval (`TENANCY_DOMAIN_CHECK_INTERVAL_MS`),
//! looks up the TXT records of the pending domains whose next check is due,
//! a few at a time, and records what each answer makes of its domain
//! (`Tenancy::check_due_domain`: verified, still pending with a reason and a
//! later check, or failed after 7 days). It also builds the resolver from the
//! configuration.

use std::sync::Arc;
use std::time::Duration;

use adapters_dns::{DnsConfig, HickoryDns};
use domain::Tenancy;
use domain::ports::DnsResolver;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::DomainSettings;

/// Domains listed per round; the job lists again while a round fills it.
const BATCH: usize = 100;

/// Lookups in flight at once: enough to hide one slow nameserver, few enough
/// to stay a polite client of the resolvers.
const IN_FLIGHT: usize = 4;

/// The resolver of `settings`: its nameservers, or the system's.
pub fn resolver(settings: &DomainSettings) -> Result<Arc<dyn DnsResolver>, String> {
    let dns = HickoryDns::new(&DnsConfig {
        nameservers: settings.nameservers.clone(),
        timeout: settings.timeout,
    })
    .map_err(|e| {
        format!("could not set up DNS for custom domains (set TENANCY_DNS_NAMESERVERS): {e}")
    })?;
    Ok(Arc::new(dns))
}

/// Runs until `stop` turns true (or its sender is gone). The first round runs
/// at once, so domains that came due while the server was down are checked.
pub async fn run(tenancy: Tenancy, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if stopping {
            break;
        }
        check_due(&tenancy, &stop).await;
    }
    tracing::debug!("custom domain job stopped");
}

/// One round: batches of due domains until one comes back short, a check
/// fails or shutdown begins, each domain checked with at most [`IN_FLIGHT`]
/// lookups running.
async fn check_due(tenancy: &Tenancy, stop: &watch::Receiver<bool>) {
    loop {
        let due = match tenancy.due_custom_domains(BATCH).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "listing the custom domains due for a check failed; \
                    the job retries in the next round");
                return;
            }
        };
        let listed = due.len();
        let mut checks = JoinSet::new();
        let mut failed = false;
        for domain in due {
            while checks.len() >= IN_FLIGHT {
                failed |= matches!(checks.join_next().await, Some(Ok(false)) | Some(Err(_)));
            }
            let tenancy = tenancy.clone();
            checks.spawn(async move {
                match tenancy.check_due_domain(&domain).await {
                    Ok(status) => {
                        tracing::debug!(
                            domain = %domain.domain.domain,
                            status = status.map_or("removed", |s| s.as_str()),
                            "checked a custom domain"
                        );
                        true
                    }
                    Err(error) => {
                        tracing::error!(
                            %error,
                            domain = %domain.domain.domain,
                            "checking a custom domain failed; it is checked again in a later round"
                        );
                        false
                    }
                }
            });
        }
        while let Some(checked) = checks.join_next().await {
            failed |= !matches!(checked, Ok(true));
        }
        // A failed check leaves its domain due: listing again now would find
        // it again, so the next round retries instead.
        if listed < BATCH || failed || *stop.borrow() {
            return;
        }
    }
}
