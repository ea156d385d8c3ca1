//! Cross-instance cache invalidation over `LISTEN`/`NOTIFY` (docs/benchmarks.md#targets: a
//! suspension or revocation is visible on every instance).
//!
//! **Emitting.** The writes that can turn a cached "valid" stale send
//! `pg_notify('tenancy_invalidation', payload)` inside their own transaction:
//! `update_key` and `rotate_key` name the (old) key's hash, `update_tenant`
//! the tenant. Postgres delivers a notification only when its transaction
//! commits, so a write that rolls back tells nobody. `pg_notify` is an
//! ordinary function call, so emitting works through a transaction-mode
//! pooler too.
//!
//! **Payloads** are compact text: `k:` and the 64 lowercase hex digits of a
//! key hash, or `t:` and a tenant id (hyphenated UUID).
//!
//! **Listening.** [`InvalidationListener`] holds one connection that
//! `LISTEN`s on the channel and hands each notification to an
//! [`InvalidationSink`] (the verification cache). Whenever it (re)connects it
//! calls [`InvalidationSink::clear`], since notifications sent while it was
//! away are gone for good.

use std::sync::Arc;
use std::time::Duration;

use domain::{KeyHash, TenantId};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::error::describe;

/// The channel every instance notifies and listens on.
pub const INVALIDATION_CHANNEL: &str = "tenancy_invalidation";

/// The `application_name` of the listener's connection, to find it in
/// `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "tenancy-invalidation-listener";

/// The first wait before reconnecting; it doubles after each failed attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long one attempt to connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What another instance changed: one notification.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalidation {
    Key(KeyHash),
    Tenant(TenantId),
}

impl std::fmt::Debug for Invalidation {
    // The hash stays out of logs, like `KeyHash`'s own `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Invalidation::Key(<redacted>)"),
            Self::Tenant(id) => write!(f, "Invalidation::Tenant({})", id.as_uuid()),
        }
    }
}

impl Invalidation {
    /// The notification's payload: `k:<hex hash>` or `t:<uuid>`.
    pub(crate) fn payload(&self) -> String {
        match self {
            Self::Key(hash) => {
                let mut text = String::with_capacity(2 + 64);
                text.push_str("k:");
                for byte in hash.as_bytes() {
                    text.push(hex_digit(byte >> 4));
                    text.push(hex_digit(byte & 0x0f));
                }
                text
            }
            Self::Tenant(id) => format!("t:{}", id.as_uuid().hyphenated()),
        }
    }

    /// Reads a payload back; `None` when it is not one of [`Invalidation::payload`]'s.
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        if let Some(hex) = payload.strip_prefix("k:") {
            let digits = hex.as_bytes();
            if digits.len() != 64 {
                return None;
            }
            let mut bytes = [0u8; 32];
            for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
                *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
            }
            Some(Self::Key(KeyHash::from_bytes(bytes)))
        } else if let Some(id) = payload.strip_prefix("t:") {
            Uuid::try_parse(id)
                .ok()
                .map(|id| Self::Tenant(TenantId::from_uuid(id)))
        } else {
            None
        }
    }

    fn apply(self, sink: &dyn InvalidationSink) {
        match self {
            Self::Key(hash) => sink.invalidate_key(&hash),
            Self::Tenant(tenant) => sink.invalidate_tenant(tenant),
        }
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Receives what other instances changed, so caches can drop it.
pub trait InvalidationSink: Send + Sync + 'static {
    fn invalidate_key(&self, hash: &domain::KeyHash);
    fn invalidate_tenant(&self, tenant: domain::TenantId);
    /// The listener (re)connected: notifications may have been missed.
    fn clear(&self);
}

/// Why the listener could not start. Meant for the operator at startup; no
/// value from the server's messages is passed on.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("the listener's database URL is not valid: {0}")]
    Url(String),
    #[error("could not connect the invalidation listener: {0}")]
    Connect(String),
    #[error("could not LISTEN for cache invalidations: {0}")]
    Listen(String),
}

/// The background task that applies other instances' invalidations to a sink.
/// Dropping it stops the task as [`InvalidationListener::stop`] does: keep it
/// for as long as the cache it feeds is in use.
#[must_use = "dropping the listener stops it"]
#[derive(Debug)]
pub struct InvalidationListener {
    task: JoinHandle<()>,
}

impl InvalidationListener {
    /// Connects with `url` (the runtime role is fine: LISTEN needs no table
    /// rights), LISTENs on `tenancy_invalidation`, calls `sink.clear()` once
    /// listening (and after every reconnect), then applies each notification.
    /// Reconnects with backoff forever; returns once the first LISTEN succeeded.
    ///
    /// `url` must reach PostgreSQL **directly**, not through a transaction-mode
    /// pooler such as PgBouncer: `LISTEN` belongs to a session, and the pooler
    /// hands the server connection to someone else after each transaction, so
    /// notifications would never arrive. Behind a pooler, give the listener a
    /// URL of its own (a setting such as `TENANCY_LISTEN_DATABASE_URL`) that
    /// bypasses it; emitting (`pg_notify` in the writes) works through the
    /// pooler as it is. The listener holds one connection, named
    /// [`LISTENER_APPLICATION_NAME`] in `pg_stat_activity`.
    ///
    /// Must be called within a Tokio runtime. Fails (without retrying) when
    /// the first connection or `LISTEN` fails, so a wrong URL shows at startup.
    pub async fn spawn(
        url: &str,
        sink: std::sync::Arc<dyn InvalidationSink>,
    ) -> Result<Self, ListenError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| ListenError::Url(e.to_string()))?;
        let options = options.application_name(LISTENER_APPLICATION_NAME);
        let listener = listen(&options).await?;
        sink.clear();
        let task = tokio::spawn(run(listener, options, sink));
        Ok(Self { task })
    }

    /// Stops the background task.
    pub fn stop(self) {
        self.task.abort();
        // `Drop` aborts again, which does nothing more.
    }
}

impl Drop for InvalidationListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection (in a pool of one, which sqlx's listener reconnects
/// through), listening on the channel.
async fn listen(options: &PgConnectOptions) -> Result<PgListener, ListenError> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options.clone())
        .await
        .map_err(|e| ListenError::Connect(describe(e)))?;
    let mut listener = PgListener::connect_with(&pool)
        .await
        .map_err(|e| ListenError::Connect(describe(e)))?;
    // Nobody closes this pool but the listener's own drop.
    listener.ignore_pool_close_event(true);
    listener
        .listen(INVALIDATION_CHANNEL)
        .await
        .map_err(|e| ListenError::Listen(describe(e)))?;
    Ok(listener)
}

/// Applies notifications until the task is aborted, reconnecting whenever the
/// connection fails.
async fn run(mut listener: PgListener, options: PgConnectOptions, sink: Arc<dyn InvalidationSink>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match Invalidation::parse(notification.payload()) {
                Some(invalidation) => invalidation.apply(sink.as_ref()),
                None => tracing::warn!(
                    channel = INVALIDATION_CHANNEL,
                    length = notification.payload().len(),
                    "ignored a malformed cache invalidation"
                ),
            },
            // The connection was lost and sqlx has already reconnected and
            // LISTENs again: whatever was sent meanwhile is gone.
            Ok(None) => {
                tracing::warn!("the cache invalidation listener reconnected; clearing the cache");
                sink.clear();
            }
            Err(e) => {
                tracing::warn!(
                    error = %describe(e),
                    "the cache invalidation listener lost its connection; reconnecting"
                );
                drop(listener);
                listener = reconnect(&options).await;
                sink.clear();
            }
        }
    }
}

/// A new listening connection, trying with growing pauses until one works.
async fn reconnect(options: &PgConnectOptions) -> PgListener {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        match listen(options).await {
            Ok(listener) => {
                tracing::info!("the cache invalidation listener reconnected; clearing the cache");
                return listener;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the cache invalidation listener could not reconnect");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::try_from(i * 8).unwrap();
        }
        let key = Invalidation::Key(KeyHash::from_bytes(bytes));
        let payload = key.payload();
        assert_eq!(payload.len(), 66);
        assert!(payload.starts_with("k:0008101820"));
        assert_eq!(Invalidation::parse(&payload), Some(key));
        assert_eq!(
            Invalidation::parse(&payload.to_uppercase().replacen('K', "k", 1)),
            Some(key)
        );

        let tenant = Invalidation::Tenant(TenantId::from_uuid(Uuid::from_u128(0xA100)));
        assert_eq!(tenant.payload(), "t:00000000-0000-0000-0000-00000000a100");
        assert_eq!(Invalidation::parse(&tenant.payload()), Some(tenant));
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let long = format!("k:{}", "0".repeat(66));
        let short = format!("k:{}", "0".repeat(62));
        let not_hex = format!("k:{}", "g".repeat(64));
        let multibyte = format!("k:{}é", "0".repeat(62));
        for payload in [
            "",
            "k:",
            "t:",
            "x:00",
            "t:not-a-uuid",
            long.as_str(),
            short.as_str(),
            not_hex.as_str(),
            multibyte.as_str(),
        ] {
            assert_eq!(Invalidation::parse(payload), None, "{payload:?}");
        }
    }
}
