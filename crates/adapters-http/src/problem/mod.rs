//! RFC 9457 problem details: the one shape every error response of the API takes.
//!
//! A [`Problem`] carries a stable [`Code`] (which fixes the status, the `type` URN and
//! the title), a detail sentence written here for API callers, and typed extensions.
//! The codes are one table in [`code`]; domain errors are translated into problems
//! in [`from_domain`], variant by variant: a domain error's `Display` never reaches a
//! client, and the text of `Unavailable` is logged, never sent.
//!
//! Rendering happens twice on purpose. [`Problem::into_response`] renders a complete
//! body so a problem is valid even outside this router, and also leaves the problem
//! in the response's extensions; the [`finish`] middleware then re-renders it with the
//! request id, and turns any error response that is not a problem yet (from a layer or
//! an extractor we do not own) into one, so no plain-text error ever escapes.
//!
//! What went wrong inside (a dependency's error text) travels with the problem as
//! its cause and is logged once, by [`finish`], in the request's span: building a
//! problem logs nothing, so a problem built and then dropped leaves no stray line.

mod code;
mod from_domain;

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::Scope;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) use code::Code;

/// The media type of every error body.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field (or query parameter) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct FieldError {
    /// Where the value sits, e.g. `namespaces[1].key` or `limit`.
    pub field: String,
    /// What is wrong with it, written for the caller.
    pub message: String,
}

/// An error response in the making.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    code: Code,
    detail: String,
    // Boxed: problems travel in `Result`s, which should stay small.
    extensions: Box<Extensions>,
    /// For the logs only, never the response.
    cause: Option<Box<Cause>>,
    /// Seconds for `Retry-After` when the answer knows them (a rate limit's
    /// wait); otherwise codes that ask for a retry say 1.
    retry_after: Option<u64>,
}

/// What went wrong inside a request, logged by [`finish`] and never sent: the
/// messages may name hosts, queries or other internals.
#[derive(Debug, Clone)]
enum Cause {
    /// The storage (or another dependency) failed with this message.
    Dependency(String),
    /// The KMS failed with this message.
    Kms(String),
    /// A stored idempotent response did not decrypt.
    UndecryptableResponse,
    /// The named secret did not decrypt.
    UndecryptableSecret(String),
}

impl Cause {
    fn log(&self) {
        match self {
            Self::Dependency(message) => {
                tracing::error!(error = %message, "a dependency of the request is unavailable");
            }
            Self::Kms(message) => tracing::error!(error = %message, "the KMS is unavailable"),
            Self::UndecryptableResponse => {
                tracing::error!(
                    "a stored idempotent response does not open with its org's data key"
                );
            }
            Self::UndecryptableSecret(name) => {
                tracing::error!(secret = %name, "a stored secret does not open with its tenant's data key");
            }
        }
    }
}

/// Members a problem may add to the standard ones, depending on its code.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ProblemExtensions)]
pub(crate) struct Extensions {
    /// `validation_failed`, `invalid_query`: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// `conflict`: the tenant that holds the key with another spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    /// `invalid_transition`, `tenant_not_active`: the tenant's status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "suspended")]
    pub current_state: Option<&'static str>,
    /// `invalid_transition`: the refused action.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "suspend")]
    pub action: Option<&'static str>,
    /// `malformed_json`: where in the body the problem is, when known (`owner.email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `unauthorized`: why the bearer token was refused: `missing`, `malformed`,
    /// `not_found`, `revoked` or `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "revoked")]
    pub reason: Option<&'static str>,
    /// `missing_scope`: the scope the endpoint needs and the key lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "keys:write")]
    pub scope: Option<&'static str>,
    /// `quota_exceeded`: which quota, how much of it is used, and its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "max_resources")]
    pub quota: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// `version_not_increasing`, `already_installed`, `downgrade_refused`: the
    /// version stored or pinned now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "1.2.0")]
    pub current_version: Option<String>,
}

/// The wire form of a problem (RFC 9457 members plus `code`, `requestId` and the
/// extensions).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Problem)]
pub(crate) struct ProblemDocument {
    /// `urn:tenancy:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:tenancy:problem:not_found")]
    pub kind: String,
    pub title: &'static str,
    /// The HTTP status, repeated.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong this time, for humans.
    pub detail: String,
    pub code: Code,
    /// The request's `x-request-id`, to quote when asking for help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub extensions: Extensions,
}

impl Problem {
    pub(crate) fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            extensions: Box::default(),
            cause: None,
            retry_after: None,
        }
    }

    /// The same problem, asking to retry after `seconds` (at least 1).
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Attaches what went wrong inside, for [`finish`] to log.
    fn because(mut self, cause: Cause) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> Code {
        self.code
    }

    /// A 400 listing every invalid field; `code` says whether they came from the
    /// body or the query string.
    pub(crate) fn fields(code: Code, errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{} {}.", one.field, one.message),
            many => format!("{} fields are invalid; see `errors`.", many.len()),
        };
        let mut problem = Self::new(code, detail);
        problem.extensions.errors = errors;
        problem
    }

    /// `400 validation_failed` naming one field and what is wrong with it.
    pub(crate) fn field(field: &str, error: domain::InvalidValue) -> Self {
        Self::fields(
            Code::ValidationFailed,
            vec![FieldError {
                field: field.to_owned(),
                message: error.to_string(),
            }],
        )
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("No {what} matches this key or id."))
    }

    /// A `401`: `reason` says why the credentials were refused.
    pub(crate) fn unauthorized(reason: &'static str, detail: &str) -> Self {
        let mut problem = Self::new(Code::Unauthorized, detail);
        problem.extensions.reason = Some(reason);
        problem
    }

    pub(crate) fn forbidden(detail: &str) -> Self {
        Self::new(Code::Forbidden, detail)
    }

    pub(crate) fn missing_scope(scope: Scope) -> Self {
        let mut problem = Self::new(
            Code::MissingScope,
            format!("This endpoint needs a key with the `{scope}` scope, which this key lacks."),
        );
        problem.extensions.scope = Some(scope.as_str());
        problem
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            Code::Internal,
            "Something failed on our side; quote the request id when reporting it.",
        )
    }

    /// The storage (or another dependency) failed. The message goes to the logs
    /// only: it may name hosts, queries or other internals.
    pub(crate) fn unavailable(message: &str) -> Self {
        Self::new(
            Code::Unavailable,
            "The service could not complete the request right now; retry shortly.",
        )
        .because(Cause::Dependency(message.to_owned()))
    }

    /// The KMS failed: nothing was stored (in clear or otherwise). The message
    /// goes to the logs only.
    pub(crate) fn kms_unavailable(message: &str) -> Self {
        Self::new(
            Code::Unavailable,
            "The key management service could not be reached, so nothing was stored; \
             retry shortly.",
        )
        .because(Cause::Kms(message.to_owned()))
    }

    pub(crate) fn with_field(mut self, field: String) -> Self {
        self.extensions.field = Some(field);
        self
    }

    fn document(&self, request_id: Option<String>) -> ProblemDocument {
        ProblemDocument {
            kind: self.code.type_uri(),
            title: self.code.title(),
            status: self.code.status().as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            request_id,
            extensions: (*self.extensions).clone(),
        }
    }

    fn render(&self, request_id: Option<String>) -> Response {
        let body = serde_json::to_vec(&self.document(request_id))
            .expect("a problem document always serializes");
        let mut response = (
            self.code.status(),
            [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        match self.code {
            Code::Unauthorized => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Code::Unavailable
            | Code::NotReady
            | Code::Overloaded
            | Code::TimedOut
            | Code::RateLimited
            | Code::IdempotencyInProgress => {
                headers.insert(
                    RETRY_AFTER,
                    HeaderValue::from(self.retry_after.unwrap_or(1)),
                );
            }
            _ => {}
        }
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.render(None);
        response.extensions_mut().insert(self);
        response
    }
}

/// Outermost error handling (inside request ids and tracing): logs a problem's
/// cause, adds the request id to problems, and replaces any other error response
/// with a problem.
pub(crate) async fn finish(request: Request, next: Next) -> Response {
    let request_id = crate::request_id::of(request.headers());
    let mut response = next.run(request).await;
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        None if is_foreign_error(&response) => foreign(response.status()),
        None => return response,
    };
    // The one place a problem is logged: inside the request's span, once.
    if let Some(cause) = &problem.cause {
        cause.log();
    }
    // Keep headers set along the way (`Allow` on a 405, the request id), replace
    // the body and what describes it.
    let rendered = problem.render(request_id);
    let (mut parts, _) = response.into_parts();
    let (fresh, body) = rendered.into_parts();
    parts.status = fresh.status;
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.extend(fresh.headers);
    Response::from_parts(parts, body)
}

fn is_foreign_error(response: &Response) -> bool {
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    (response.status().is_client_error() || response.status().is_server_error()) && !is_problem
}

/// A problem for an error response produced by code we do not own.
fn foreign(status: StatusCode) -> Problem {
    match status {
        StatusCode::NOT_FOUND => route_not_found_problem(),
        StatusCode::METHOD_NOT_ALLOWED => method_not_allowed_problem(),
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(
            Code::UnsupportedMediaType,
            "The request's content type is not supported here.",
        ),
        StatusCode::UNAUTHORIZED => Problem::unauthorized("missing", "Authentication is required."),
        s if s.is_client_error() => {
            Problem::new(Code::MalformedJson, "The request could not be understood.")
        }
        _ => Problem::internal(),
    }
}

pub(crate) fn payload_too_large() -> Problem {
    Problem::new(
        Code::PayloadTooLarge,
        format!(
            "Request bodies may be at most {} bytes.",
            crate::MAX_BODY_BYTES
        ),
    )
}

fn route_not_found_problem() -> Problem {
    Problem::new(
        Code::NotFound,
        "No endpoint has this path; see /openapi.json.",
    )
}

fn method_not_allowed_problem() -> Problem {
    Problem::new(
        Code::MethodNotAllowed,
        "This endpoint does not accept this method; the Allow header lists those it does.",
    )
}

/// The fallback for paths no route matches.
pub(crate) async fn route_not_found() -> Problem {
    route_not_found_problem()
}

/// The fallback for a known path with a method it does not accept. Axum adds the
/// `Allow` header to whatever this returns.
pub(crate) async fn method_not_allowed() -> Problem {
    method_not_allowed_problem()
}
