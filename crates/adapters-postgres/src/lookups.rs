//! The connections of the verification lookup on a cache miss (`find_key`),
//! kept apart from the pool.
//!
//! sqlx's pool tests every connection it gets back with a `Sync` message and
//! waits for the server's answer before handing the connection out again: one
//! more round trip, and one more wake-up of the server process, per call. For
//! a store call of four or more round trips that is noise; for the lookup,
//! which is one round trip (`tenancy_find_key`), it cost about a third of its
//! throughput (docs/benchmarks.md). These connections skip that test. What
//! the test guards against is a call abandoned halfway (its future dropped),
//! which may leave unread replies on the connection: such a connection is
//! closed here instead of reused, and so is one whose call failed.
//!
//! The lookup runs as one statement outside any explicit transaction, so a
//! connection carries nothing from one call to the next (the scope the
//! function sets is transaction-local), behind a transaction-mode pooler too.
//!
//! A lookup has a deadline of its own, short since it is one index probe:
//! the connections set it as their `statement_timeout` when they open (a
//! startup parameter, so it costs no round trip; not behind a
//! transaction-mode pooler, which refuses such parameters and whose own
//! `query_timeout` then applies), and the caller also stops waiting at the
//! deadline, closing the connection.

use std::sync::Mutex;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `limit` connections, opened on first use and reused.
pub(crate) struct Lookups {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    permits: Semaphore,
    /// How long a call waits for a connection, as for the pool's.
    timeout: Duration,
    /// How long one lookup may run.
    deadline: Duration,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl Lookups {
    /// `deadline` is each lookup's; `pooled` says that a transaction-mode
    /// pooler sits in front (which refuses the startup parameter that sets it
    /// on the server).
    pub(crate) fn new(
        options: PgConnectOptions,
        limit: u32,
        timeout: Duration,
        deadline: Duration,
        pooled: bool,
    ) -> Self {
        let options = if pooled {
            options
        } else {
            options.options([("statement_timeout", format!("{}ms", deadline.as_millis()))])
        };
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(usize::try_from(limit.max(1)).unwrap_or(1)),
            timeout,
            deadline,
        }
    }

    /// How long one lookup may run.
    pub(crate) fn deadline(&self) -> Duration {
        self.deadline
    }

    /// A connection for one call: an idle one, else a new one. Waits while
    /// `limit` are in use, as long as the pool's acquire timeout at most.
    /// Hand it back with [`Lookup::reuse`] once its call succeeded; dropped
    /// otherwise, it is closed.
    pub(crate) async fn get(&self) -> Result<Lookup<'_>, sqlx::Error> {
        tokio::time::timeout(self.timeout, async {
            let permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let connection = match idle {
                Some(connection) => connection,
                None => PgConnection::connect_with(&self.options).await?,
            };
            Ok(Lookup {
                lookups: self,
                connection: Some(connection),
                _permit: permit,
            })
        })
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    /// Closes the idle connections and refuses new calls.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for connection in idle {
            let _ = connection.close().await;
        }
    }
}

/// One checked-out lookup connection.
pub(crate) struct Lookup<'a> {
    lookups: &'a Lookups,
    connection: Option<PgConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Lookup<'_> {
    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        self.connection
            .as_mut()
            .expect("a lookup holds its connection until reused or dropped")
    }

    /// Returns the connection for the next call: its call read every reply.
    pub(crate) fn reuse(mut self) {
        if let Some(connection) = self.connection.take() {
            if !self.lookups.permits.is_closed() {
                self.lookups
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(connection);
            }
        }
    }
}
