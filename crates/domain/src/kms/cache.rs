//! [`DataKeys`]: the bounded, time-limited cache of unwrapped data keys the
//! use cases go through, in front of the [`Kms`] port.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{DataKey, EncryptionContext, Kms, KmsError, WrappedKey};
use crate::ports::Clock;

/// Bounds of [`DataKeys`]' cache of unwrapped keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataKeyCacheLimits {
    /// Most unwrapped keys held at once.
    pub max_keys: usize,
    /// How long an unwrapped key is kept after it was unwrapped.
    pub ttl: chrono::Duration,
}

impl Default for DataKeyCacheLimits {
    fn default() -> Self {
        Self {
            max_keys: 10_000,
            ttl: chrono::Duration::minutes(5),
        }
    }
}

#[derive(Debug)]
struct CachedKey {
    key: Arc<DataKey>,
    expires: DateTime<Utc>,
}

/// Envelope encryption for the use cases: mints data keys through the [`Kms`],
/// and unwraps them through a bounded cache with a time-to-live, so a busy
/// tenant does not cost a KMS call per secret. Keys leave the cache (and are
/// zeroized once the last user drops its `Arc`) when they expire, when the
/// cache is full, or when [`DataKeys::forget`] is called for their context
/// (crypto-shredding a deleted tenant).
pub struct DataKeys {
    kms: Arc<dyn Kms>,
    clock: Arc<dyn Clock>,
    limits: DataKeyCacheLimits,
    cache: Mutex<HashMap<(EncryptionContext, WrappedKey), CachedKey>>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeys")
            .field("limits", &self.limits)
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

impl DataKeys {
    pub fn new(kms: Arc<dyn Kms>, clock: Arc<dyn Clock>, limits: DataKeyCacheLimits) -> Self {
        Self {
            kms,
            clock,
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh data key for `context` ([`Kms::generate_data_key`]); the key is
    /// cached under its wrapped form, as the caller stores that next.
    pub async fn generate(
        &self,
        context: &EncryptionContext,
    ) -> Result<(Arc<DataKey>, WrappedKey), KmsError> {
        let generated = self.kms.generate_data_key(context).await?;
        let key = Arc::new(generated.plaintext);
        self.insert(context, &generated.wrapped, &key);
        Ok((key, generated.wrapped))
    }

    /// The data key inside `wrapped`: from the cache when it holds it and it
    /// has not expired, else from [`Kms::unwrap`] (errors as there).
    pub async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<Arc<DataKey>, KmsError> {
        let now = self.clock.now();
        let lookup = (*context, wrapped.clone());
        if let Some(entry) = self.lock().get(&lookup) {
            if entry.expires > now {
                return Ok(Arc::clone(&entry.key));
            }
        }
        let key = Arc::new(self.kms.unwrap(wrapped, context).await?);
        self.insert(context, wrapped, &key);
        Ok(key)
    }

    /// Drops every cached key of `context`.
    pub fn forget(&self, context: &EncryptionContext) {
        self.lock().retain(|(cached, _), _| cached != context);
    }

    /// How many keys the cache holds now (expired ones included until evicted).
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    fn insert(&self, context: &EncryptionContext, wrapped: &WrappedKey, key: &Arc<DataKey>) {
        if self.limits.max_keys == 0 {
            return;
        }
        let now = self.clock.now();
        let mut cache = self.lock();
        if cache.len() >= self.limits.max_keys {
            cache.retain(|_, entry| entry.expires > now);
        }
        while cache.len() >= self.limits.max_keys {
            // Full of live keys: drop the one closest to expiry (the oldest).
            let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, entry)| entry.expires)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            cache.remove(&oldest);
        }
        cache.insert(
            (*context, wrapped.clone()),
            CachedKey {
                key: Arc::clone(key),
                expires: now + self.limits.ttl,
            },
        );
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(EncryptionContext, WrappedKey), CachedKey>> {
        // A panic elsewhere while holding the lock leaves a map that is still
        // consistent (every operation is a single insert or removal).
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
