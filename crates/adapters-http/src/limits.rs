//! Request limits (docs/security.md): how long one request may run and how
//! many may run at once.
//!
//! A request beyond the in-flight limit is answered `503 overloaded` with
//! `Retry-After` at once, never queued: a queue would only move the wait (and
//! the memory) from the client into the server. A request that runs past the
//! timeout is stopped (its future dropped, so an open transaction rolls back)
//! and answered `503 timed_out`.
//!
//! One small layer rather than tower's `ConcurrencyLimit` + `LoadShed` +
//! `Timeout`: those answer with errors that axum needs a `HandleErrorLayer`
//! (and a boxed future) to turn into responses, and this sits on the
//! verification hot path, where it costs an atomic operation and a timer entry
//! and allocates nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tower::{Layer, Service};

use crate::problem::{Code, Problem};

/// How long a request may run and how many may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// From the moment the router gets the request (its headers read) until
    /// the handler has produced the response.
    pub timeout: Duration,
    /// Requests being handled at once, on every connection together.
    pub max_in_flight: usize,
}

impl RequestLimits {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 512;

    /// The layer that enforces these limits; each layer counts its own
    /// requests, so build it once per server.
    pub fn layer(self) -> RequestLimitLayer {
        RequestLimitLayer {
            timeout: self.timeout,
            slots: Arc::new(Semaphore::new(self.max_in_flight)),
        }
    }
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// See [`RequestLimits::layer`].
#[derive(Debug, Clone)]
pub struct RequestLimitLayer {
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl<S> Layer<S> for RequestLimitLayer {
    type Service = RequestLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimit {
            inner,
            timeout: self.timeout,
            slots: Arc::clone(&self.slots),
        }
    }
}

/// The service of [`RequestLimitLayer`].
#[derive(Debug, Clone)]
pub struct RequestLimit<S> {
    inner: S,
    timeout: Duration,
    slots: Arc<Semaphore>,
}

impl<S> Service<Request> for RequestLimit<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Limited<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => Limited::Running {
                inner: self.inner.call(request),
                deadline: tokio::time::sleep(self.timeout),
                _slot: slot,
            },
            Err(_) => Limited::Refused,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestLimit`].
    #[project = LimitedProjection]
    pub enum Limited<F> {
        Running {
            #[pin]
            inner: F,
            #[pin]
            deadline: Sleep,
            // Held until the response is ready, then released with the future.
            _slot: OwnedSemaphorePermit,
        },
        Refused,
    }
}

impl<F, E> Future for Limited<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            LimitedProjection::Running {
                inner, deadline, ..
            } => {
                if let Poll::Ready(output) = inner.poll(cx) {
                    return Poll::Ready(output);
                }
                match deadline.poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Ok(timed_out())),
                    Poll::Pending => Poll::Pending,
                }
            }
            LimitedProjection::Refused => Poll::Ready(Ok(overloaded())),
        }
    }
}

fn overloaded() -> Response {
    Problem::new(
        Code::Overloaded,
        "The server is handling as many requests as it allows at once; retry shortly.",
    )
    .into_response()
}

fn timed_out() -> Response {
    tracing::warn!("a request ran past the request timeout and was stopped");
    Problem::new(
        Code::TimedOut,
        "The request took longer than the server allows and was stopped; retry it (with the \
         same Idempotency-Key where the endpoint takes one).",
    )
    .into_response()
}
