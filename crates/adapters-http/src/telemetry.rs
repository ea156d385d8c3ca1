//! Tracing of requests: one span per request with its method, matched route and
//! request id; one event when it ends (5xx at error, the rest at debug).
//!
//! Nothing here records headers or bodies: the `Authorization` header carries the
//! admin token, and bodies carry customer data.

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::problem::Problem;

type MakeSpan = fn(&Request<Body>) -> Span;
type OnResponse = fn(&Response<Body>, Duration, &Span);

/// The request span and the end-of-request event.
pub(crate) fn trace_layer()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), OnResponse, (), (), ()> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan)
        .on_request(())
        .on_response(log_response as OnResponse)
        .on_body_chunk(())
        .on_eos(())
        // `on_response` already logs server errors at error level.
        .on_failure(())
}

fn request_span(request: &Request<Body>) -> Span {
    // Routing ran before this layer (it wraps each route), so the route template is
    // known; the fallback has none, and the raw path is not logged in its place
    // because it can hold anything a caller typed.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    let request_id = crate::request_id::of(request.headers()).unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
    )
}

fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "request failed");
    } else {
        tracing::debug!(status, latency_ms, "request finished");
    }
}

/// A panic in a handler becomes a `500 internal` problem. The panic message stays
/// in the logs: it may quote internal state.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".to_owned());
    tracing::error!(panic = %message, "a request handler panicked");
    Problem::internal().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_problem_without_its_message() {
        let response = panic_response(Box::new("index out of bounds: secret-state"));
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()["content-type"],
            crate::problem::PROBLEM_JSON
        );
        let problem = response.extensions().get::<Problem>().expect("a problem");
        assert_eq!(problem.code(), crate::problem::Code::Internal);
        assert!(!format!("{problem:?}").contains("secret-state"));
    }
}
