//! The `Idempotency-Key` protocol (docs/api.md §2) around a handler: a first request
//! runs and its successful response is stored (sealed by the domain with the
//! org's data key); a retry with the same key, method, path and body gets
//! those bytes again, marked `Idempotent-Replayed: true`.
//!
//! Only successful responses are stored. A request that fails changed nothing
//! (every use case is all or nothing), so its key is released and a retry
//! runs again: a transient `503` does not stick for a day.

use std::future::Future;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{
    Context, IdempotencyKey, Idempotent, OrgRef, RequestFingerprint, StoredResponse, TenantId,
};
use serde::Serialize;

use crate::AppState;
use crate::problem::{Code, Problem};

/// Set on a replayed response.
pub(crate) const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// What identifies a request for its idempotency key.
pub(crate) struct RequestParts {
    /// What the request is known by; the domain decides how its JSON body
    /// counts (by its canonical text).
    fingerprint: RequestFingerprint,
}

impl RequestParts {
    /// A request with a JSON body (already parsed by the handler, so known to
    /// be JSON).
    pub(crate) fn json(method: &str, path: &str, body: &[u8]) -> Result<Self, Problem> {
        let fingerprint = RequestFingerprint::of_json(method, path, body)
            .map_err(|_| Problem::new(Code::MalformedJson, "The body is not JSON."))?;
        Ok(Self { fingerprint })
    }
}

/// What a handler run under an idempotency key answered.
pub(crate) struct Answer {
    pub(crate) response: StoredResponse,
    /// The tenant the response is about: deleting that tenant deletes the
    /// stored response too, so nothing replays it afterwards.
    pub(crate) about: Option<TenantId>,
}

/// Runs `handler` at most once per `key` within `org`, replaying its stored
/// response to retries; without a key, simply runs it.
pub(crate) async fn run<F, Fut>(
    state: &AppState,
    ctx: &Context,
    org: &OrgRef,
    key: Option<IdempotencyKey>,
    request: RequestParts,
    handler: F,
) -> Result<Response, Problem>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Answer, Problem>>,
{
    let Some(key) = key else {
        return handler()
            .await
            .map(|answer| respond(answer.response, false));
    };
    let fingerprint = request.fingerprint;
    let claim = match state
        .tenancy
        .begin_idempotent(ctx, org, key, fingerprint)
        .await?
    {
        Idempotent::Replay(stored) => return Ok(respond(stored, true)),
        Idempotent::Proceed(claim) => claim,
    };
    match handler().await {
        Ok(Answer { response, about }) => {
            // The response goes out whatever happens to its record: the
            // change is made. A retry after a failed store runs again and
            // meets the change (provisioning answers it as a replay).
            if let Err(error) = state
                .tenancy
                .complete_idempotent(claim, &response, about)
                .await
            {
                tracing::warn!(%error, "could not store an idempotent response; a retry will run again");
            }
            Ok(respond(response, false))
        }
        Err(problem) => {
            if let Err(error) = state.tenancy.release_idempotent(claim).await {
                tracing::warn!(%error, "could not release an idempotency key; it frees itself when its lease ends");
            }
            Err(problem)
        }
    }
}

/// A JSON response as bytes, the form it is stored and sent in.
pub(crate) fn json(
    status: StatusCode,
    headers: &[(HeaderName, String)],
    body: &impl Serialize,
) -> Result<StoredResponse, Problem> {
    let body = serde_json::to_vec(body).map_err(|e| {
        tracing::error!(error = %e, "a response body did not serialize");
        Problem::internal()
    })?;
    let mut stored = StoredResponse {
        status: status.as_u16(),
        headers: vec![(
            CONTENT_TYPE.as_str().to_owned(),
            "application/json".to_owned(),
        )],
        body,
    };
    stored.headers.extend(
        headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.clone())),
    );
    Ok(stored)
}

/// A response built by [`json`] that no idempotency key stores.
pub(crate) fn fresh(stored: StoredResponse) -> Response {
    respond(stored, false)
}

fn respond(stored: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Body::from(stored.body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    if replayed {
        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}
