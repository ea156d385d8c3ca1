//! Batched, coarse `last_used_at` writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ApiKeyId;
use domain::ports::{ApiKeyStore, KeyUsage};
use tokio::task::JoinHandle;

/// Collects key uses in memory and writes the latest per key in one batch.
pub struct UsageBatcher {
    store: Arc<dyn ApiKeyStore>,
    pending: Mutex<HashMap<ApiKeyId, DateTime<Utc>>>,
}

impl UsageBatcher {
    pub fn new(store: Arc<dyn ApiKeyStore>) -> Arc<Self> {
        Arc::new(Self {
            store,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Flushes every `every` until the returned task is aborted.
    pub fn spawn_flusher(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.flush().await;
            }
        })
    }

    /// Writes what has been collected. On a store failure the uses are kept for
    /// the next flush (later uses of the same key overwrite them).
    pub async fn flush(&self) {
        let batch: Vec<_> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_usage(&batch).await {
            tracing::warn!(error = %e, keys = batch.len(), "could not record key usage; will retry");
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (id, at) in batch {
                let slot = pending.entry(id).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
    }

    /// Uses waiting for the next flush.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl KeyUsage for UsageBatcher {
    fn key_used(&self, key: ApiKeyId, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pending.entry(key).or_insert(at);
        *slot = (*slot).max(at);
    }
}
