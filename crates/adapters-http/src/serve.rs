//! Serving a router over TCP with the limits that keep a client from holding
//! the server (docs/security.md): hyper's HTTP/1 server with a Tokio timer, so
//! a client that does not finish its request headers in time is disconnected,
//! a bound on open connections, and a graceful shutdown that lets in-flight
//! requests finish.
//!
//! `axum::serve` runs hyper without a timer, hence without any header-read
//! timeout: a client trickling one header line every few seconds kept its
//! connection, and a task, for as long as it liked.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Limits on connections, as opposed to requests (see [`crate::RequestLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's whole header, from the first
    /// moment the server waits for it (also on an idle kept-alive connection,
    /// so idle connections close after this long too).
    pub header_read_timeout: Duration,
    /// Most connections open at once. Beyond it the server stops accepting:
    /// new connections wait in the operating system's listen backlog until one
    /// closes, rather than being refused.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting,
/// closes idle connections and waits for in-flight requests to finish.
///
/// # Panics
///
/// If `limits.max_connections` is zero or `header_read_timeout` is zero: the
/// configuration refuses both before this is called.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    assert!(
        limits.max_connections > 0 && !limits.header_read_timeout.is_zero(),
        "the configuration refuses zero limits"
    );
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // A free slot first, then a connection: at the limit, new clients wait
        // in the listen backlog instead of holding a task each.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses are small and written at once: do not wait to coalesce them.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a connection");
        }
        // Every request on the connection learns its peer, the client
        // address unless a trusted proxy says otherwise (`crate::client`).
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A header-read timeout, a reset or a malformed request ends the
            // connection with an error: the client's doing, worth a debug line.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
            drop(slot);
        });
    }

    drop(listener);
    graceful.shutdown().await;
}

/// Errors of `accept` that concern one connection (it was reset before we took
/// it) are skipped; others (out of file descriptors) would repeat at once, so
/// the loop pauses before trying again, as `axum::serve` does.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "could not accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
