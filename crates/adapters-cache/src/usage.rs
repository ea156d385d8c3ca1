//! Batched, coarse `last_used_at` writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ApiKeyId;
use domain::ports::{ApiKeyStore, KeyUsage};
use tokio::task::JoinHandle;

/// Collects key uses in memory and writes the latest per key in one batch.
///
/// `key_used` runs on every verification, so the pending uses are split over
/// shards by key: concurrent requests for different keys rarely share a lock.
pub struct UsageBatcher {
    store: Arc<dyn ApiKeyStore>,
    shards: [Mutex<HashMap<ApiKeyId, DateTime<Utc>>>; SHARDS],
}

const SHARDS: usize = 16;

impl UsageBatcher {
    pub fn new(store: Arc<dyn ApiKeyStore>) -> Arc<Self> {
        Arc::new(Self {
            store,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        })
    }

    fn shard(&self, key: ApiKeyId) -> &Mutex<HashMap<ApiKeyId, DateTime<Utc>>> {
        // UUIDv7: the low bits are random, so they spread keys evenly.
        let low = key.as_uuid().as_u128() as usize;
        &self.shards[low % SHARDS]
    }

    fn note(&self, key: ApiKeyId, at: DateTime<Utc>) {
        let mut pending = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let slot = pending.entry(key).or_insert(at);
        *slot = (*slot).max(at);
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
        let batch: Vec<_> = self
            .shards
            .iter()
            .flat_map(|shard| {
                let mut pending = shard.lock().unwrap_or_else(|e| e.into_inner());
                pending.drain().collect::<Vec<_>>()
            })
            .collect();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_usage(&batch).await {
            tracing::warn!(error = %e, keys = batch.len(), "could not record key usage; will retry");
            for (id, at) in batch {
                self.note(id, at);
            }
        }
    }

    /// Uses waiting for the next flush.
    pub fn pending(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

impl KeyUsage for UsageBatcher {
    fn key_used(&self, key: ApiKeyId, at: DateTime<Utc>) {
        self.note(key, at);
    }
}
