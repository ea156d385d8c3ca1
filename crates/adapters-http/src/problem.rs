//! RFC 9457 problem details: the one shape every error response of the API takes.
//!
//! A [`Problem`] carries a stable [`Code`] (which fixes the status, the `type` URN and
//! the title), a detail sentence written here for API callers, and typed extensions.
//! Domain errors are translated into problems in this module, variant by variant: a
//! domain error's `Display` never reaches a client, and the text of `Unavailable` is
//! logged, never sent.
//!
//! Rendering happens twice on purpose. [`Problem::into_response`] renders a complete
//! body so a problem is valid even outside this router, and also leaves the problem
//! in the response's extensions; the [`finish`] middleware then re-renders it with the
//! request id, and turns any error response that is not a problem yet (from a layer or
//! an extractor we do not own) into one, so no plain-text error ever escapes.

use std::fmt;

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{
    ApiKeyError, IdempotencyError, InvalidTransition, LibraryError, ListError, NamespaceError,
    OrgError, PageError, ProvisionError, Scope, SecretError, TenantError, TenantStatus,
    VersionRefused,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The media type of every error body.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// The stable machine-readable kind of a problem. Its spelling is part of the API:
/// clients match on it, so a variant is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ProblemCode)]
pub(crate) enum Code {
    ValidationFailed,
    MalformedJson,
    InvalidQuery,
    InvalidCursor,
    ConfirmationRequired,
    UnknownRegion,
    RegionUnavailable,
    DuplicateNamespace,
    InvalidMetadata,
    Unauthorized,
    Forbidden,
    MissingScope,
    ScopeEscalation,
    TestKeyRefused,
    RestrictedKeyRefused,
    TenantSuspended,
    TenantDeactivated,
    NotFound,
    MethodNotAllowed,
    KeyTaken,
    Conflict,
    InvalidTransition,
    TenantDeleted,
    TenantNotActive,
    KeyInactive,
    VersionConflict,
    VersionNotIncreasing,
    AlreadyInstalled,
    DowngradeRefused,
    AmbiguousListing,
    QuotaExceeded,
    IdempotencyKeyReused,
    IdempotencyInProgress,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    SearchTooBroad,
    Internal,
    Unavailable,
    NotReady,
    Overloaded,
    TimedOut,
}

impl Code {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 42] = [
        Self::ValidationFailed,
        Self::MalformedJson,
        Self::InvalidQuery,
        Self::InvalidCursor,
        Self::ConfirmationRequired,
        Self::UnknownRegion,
        Self::RegionUnavailable,
        Self::DuplicateNamespace,
        Self::InvalidMetadata,
        Self::Unauthorized,
        Self::Forbidden,
        Self::MissingScope,
        Self::ScopeEscalation,
        Self::TestKeyRefused,
        Self::RestrictedKeyRefused,
        Self::TenantSuspended,
        Self::TenantDeactivated,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::KeyTaken,
        Self::Conflict,
        Self::InvalidTransition,
        Self::TenantDeleted,
        Self::TenantNotActive,
        Self::KeyInactive,
        Self::VersionConflict,
        Self::VersionNotIncreasing,
        Self::AlreadyInstalled,
        Self::DowngradeRefused,
        Self::AmbiguousListing,
        Self::QuotaExceeded,
        Self::IdempotencyKeyReused,
        Self::IdempotencyInProgress,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::SearchTooBroad,
        Self::Internal,
        Self::Unavailable,
        Self::NotReady,
        Self::Overloaded,
        Self::TimedOut,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::MalformedJson => "malformed_json",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidCursor => "invalid_cursor",
            Self::ConfirmationRequired => "confirmation_required",
            Self::UnknownRegion => "unknown_region",
            Self::RegionUnavailable => "region_unavailable",
            Self::DuplicateNamespace => "duplicate_namespace",
            Self::InvalidMetadata => "invalid_metadata",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::MissingScope => "missing_scope",
            Self::ScopeEscalation => "scope_escalation",
            Self::TestKeyRefused => "test_key_refused",
            Self::RestrictedKeyRefused => "restricted_key_refused",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantDeactivated => "tenant_deactivated",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::KeyTaken => "key_taken",
            Self::Conflict => "conflict",
            Self::InvalidTransition => "invalid_transition",
            Self::TenantDeleted => "tenant_deleted",
            Self::TenantNotActive => "tenant_not_active",
            Self::KeyInactive => "key_inactive",
            Self::VersionConflict => "version_conflict",
            Self::VersionNotIncreasing => "version_not_increasing",
            Self::AlreadyInstalled => "already_installed",
            Self::DowngradeRefused => "downgrade_refused",
            Self::AmbiguousListing => "ambiguous_listing",
            Self::QuotaExceeded => "quota_exceeded",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_in_progress",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::SearchTooBroad => "search_too_broad",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::NotReady => "not_ready",
            Self::Overloaded => "overloaded",
            Self::TimedOut => "timed_out",
        }
    }

    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::ValidationFailed
            | Self::MalformedJson
            | Self::InvalidQuery
            | Self::InvalidCursor
            | Self::ConfirmationRequired
            | Self::UnknownRegion
            | Self::RegionUnavailable
            | Self::DuplicateNamespace
            | Self::InvalidMetadata => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::MissingScope
            | Self::ScopeEscalation
            | Self::TestKeyRefused
            | Self::RestrictedKeyRefused
            | Self::TenantSuspended
            | Self::TenantDeactivated
            | Self::QuotaExceeded => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::KeyTaken
            | Self::Conflict
            | Self::InvalidTransition
            | Self::TenantDeleted
            | Self::TenantNotActive
            | Self::KeyInactive
            | Self::VersionConflict
            | Self::VersionNotIncreasing
            | Self::AlreadyInstalled
            | Self::DowngradeRefused
            | Self::AmbiguousListing
            | Self::IdempotencyInProgress => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused | Self::SearchTooBroad => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable | Self::NotReady | Self::Overloaded | Self::TimedOut => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// A short summary that does not change from occurrence to occurrence.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::ValidationFailed => "Some fields are invalid",
            Self::MalformedJson => "The request body is not the JSON this endpoint expects",
            Self::InvalidQuery => "The query string is invalid",
            Self::InvalidCursor => "The cursor is not valid for this listing",
            Self::ConfirmationRequired => "The deletion was not confirmed",
            Self::UnknownRegion => "The region is not configured",
            Self::RegionUnavailable => "The region does not accept new tenants",
            Self::DuplicateNamespace => "A namespace key appears twice",
            Self::InvalidMetadata => "The metadata would be invalid",
            Self::Unauthorized => "Authentication is required",
            Self::Forbidden => "The caller may not do this",
            Self::MissingScope => "The key lacks a scope this endpoint needs",
            Self::ScopeEscalation => "A key cannot grant more than it holds",
            Self::TestKeyRefused => "A test-mode key cannot do this",
            Self::RestrictedKeyRefused => "A key restricted to some resources cannot do this",
            Self::TenantSuspended => "The key's tenant is suspended",
            Self::TenantDeactivated => "The key's tenant is deactivated",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::KeyTaken => "The key is already taken",
            Self::Conflict => "The request conflicts with an existing resource",
            Self::InvalidTransition => "The lifecycle does not allow this transition",
            Self::TenantDeleted => "The tenant is deleted",
            Self::TenantNotActive => "The tenant is not active",
            Self::KeyInactive => "The API key is revoked or expired",
            Self::VersionConflict => "This version exists with other content",
            Self::VersionNotIncreasing => "Versions must increase",
            Self::AlreadyInstalled => "The listing is installed at another version",
            Self::DowngradeRefused => "Pins move forward only",
            Self::AmbiguousListing => "Several listings have this key",
            Self::QuotaExceeded => "A quota is exhausted",
            Self::IdempotencyKeyReused => "The idempotency key was used for a different request",
            Self::IdempotencyInProgress => "A request with this idempotency key is in progress",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::RateLimited => "Too many requests",
            Self::SearchTooBroad => "The search is too broad to answer",
            Self::Internal => "Internal error",
            Self::Unavailable => "The service is temporarily unavailable",
            Self::NotReady => "The server cannot serve traffic right now",
            Self::Overloaded => "The server is at its limit of requests in flight",
            Self::TimedOut => "The request took too long",
        }
    }

    /// The problem `type`: a URN rather than a URL, so nothing suggests that it
    /// can be fetched.
    pub(crate) fn type_uri(self) -> String {
        format!("urn:tenancy:problem:{}", self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
        }
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
        tracing::error!(error = %message, "a dependency of the request is unavailable");
        Self::new(
            Code::Unavailable,
            "The service could not complete the request right now; retry shortly.",
        )
    }

    /// The KMS failed: nothing was stored (in clear or otherwise). The message
    /// goes to the logs only.
    pub(crate) fn kms_unavailable(message: &str) -> Self {
        tracing::error!(error = %message, "the KMS is unavailable");
        Self::new(
            Code::Unavailable,
            "The key management service could not be reached, so nothing was stored; \
             retry shortly.",
        )
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
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
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

/// Outermost error handling (inside request ids and tracing): adds the request id
/// to problems, and replaces any other error response with a problem.
pub(crate) async fn finish(request: Request, next: Next) -> Response {
    let request_id = crate::request_id::of(request.headers());
    let mut response = next.run(request).await;
    let problem = match response.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        None if is_foreign_error(&response) => foreign(response.status()),
        None => return response,
    };
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

fn invalid_transition(e: InvalidTransition) -> Problem {
    let mut problem = Problem::new(
        Code::InvalidTransition,
        // Our own sentence, kept equal to the lifecycle's wording on purpose.
        format!("cannot {} a tenant that is {}", e.action, e.from),
    );
    problem.extensions.current_state = Some(e.from.as_str());
    problem.extensions.action = Some(e.action.as_str());
    problem
}

fn tenant_not_active(status: TenantStatus) -> Problem {
    let mut problem = Problem::new(
        Code::TenantNotActive,
        format!("The tenant is {status}; only active tenants accept changes."),
    );
    problem.extensions.current_state = Some(status.as_str());
    problem
}

impl From<OrgError> for Problem {
    fn from(e: OrgError) -> Self {
        match e {
            OrgError::NotFound => Self::not_found("org"),
            OrgError::Forbidden => {
                Self::new(Code::Forbidden, "Only a platform admin may create orgs.")
            }
            OrgError::KeyTaken(key) => Self::new(
                Code::KeyTaken,
                format!("The org key \"{key}\" is already taken."),
            ),
            OrgError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<ProvisionError> for Problem {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::OrgNotFound => Self::not_found("org"),
            ProvisionError::UnknownRegion(code) => Self::new(
                Code::UnknownRegion,
                format!("No region \"{code}\" is configured; GET /v1/regions lists them."),
            ),
            ProvisionError::RegionUnavailable(code) => Self::new(
                Code::RegionUnavailable,
                format!("Region \"{code}\" does not accept new tenants."),
            ),
            ProvisionError::TooManyNamespaces(error) => Self::field("namespaces", error),
            ProvisionError::DuplicateNamespace(key) => Self::new(
                Code::DuplicateNamespace,
                format!("The namespace key \"{key}\" is listed more than once."),
            ),
            ProvisionError::KeyTaken(key) => Self::new(
                Code::KeyTaken,
                format!(
                    "The tenant key \"{key}\" is already taken on this platform \
                     (tenant keys are subdomains, so they are unique across orgs)."
                ),
            ),
            ProvisionError::SpecConflict { key, existing } => {
                let mut problem = Self::new(
                    Code::Conflict,
                    format!(
                        "Tenant \"{key}\" already exists in this org with a different \
                         specification; change it with PATCH instead."
                    ),
                );
                problem.extensions.tenant_id = Some(existing.as_uuid());
                problem
            }
            ProvisionError::KmsUnavailable(message) => Self::kms_unavailable(&message),
            ProvisionError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<IdempotencyError> for Problem {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::OrgNotFound => Self::not_found("org"),
            IdempotencyError::KeyReused => Self::new(
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was first sent with another request (method, path or \
                 body); use a new key for a new request.",
            ),
            IdempotencyError::InProgress => Self::new(
                Code::IdempotencyInProgress,
                "The first request with this Idempotency-Key has not finished; retry after \
                 `Retry-After` seconds to get its response.",
            ),
            IdempotencyError::KmsUnavailable(message) => Self::kms_unavailable(&message),
            IdempotencyError::Undecryptable => {
                tracing::error!(
                    "a stored idempotent response does not open with its org's data key"
                );
                Self::internal()
            }
            IdempotencyError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<SecretError> for Problem {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::OrgNotFound => Self::not_found("org"),
            SecretError::TenantNotFound => Self::not_found("tenant"),
            SecretError::NotFound(name) => {
                Self::new(Code::NotFound, format!("No secret is named \"{name}\"."))
            }
            SecretError::NotANamespaceKey => {
                Self::forbidden("This endpoint needs a namespace key.")
            }
            SecretError::MissingScope(scope) => Self::missing_scope(scope),
            SecretError::TestKey => Self::new(
                Code::TestKeyRefused,
                "Secret values are live credentials: revealing or writing one needs a live \
                 key, and this is a test-mode key.",
            ),
            SecretError::RestrictedKey => Self::new(
                Code::RestrictedKeyRefused,
                "Secrets belong to the whole tenant: revealing or writing one needs a key \
                 that is not restricted to some resources.",
            ),
            SecretError::TenantNotActive(status) => Self::new(
                Code::TenantNotActive,
                format!("The tenant is {status}: its secrets cannot change."),
            ),
            SecretError::Page(e) => e.into(),
            SecretError::KmsUnavailable(message) => Self::kms_unavailable(&message),
            SecretError::Undecryptable(name) => {
                tracing::error!(secret = %name, "a stored secret does not open with its tenant's data key");
                Self::internal()
            }
            SecretError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<TenantError> for Problem {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::OrgNotFound => Self::not_found("org"),
            TenantError::NotFound => Self::not_found("tenant"),
            TenantError::InvalidTransition(t) => invalid_transition(t),
            TenantError::ConfirmationMismatch => Self::new(
                Code::ConfirmationRequired,
                "Deleting a tenant needs ?confirm= set to the tenant's key.",
            ),
            TenantError::PlatformAdminOnly(what) => Self::new(
                Code::Forbidden,
                format!("Only a platform admin may {what}."),
            ),
            TenantError::Deleted => Self::new(
                Code::TenantDeleted,
                "The tenant is deleted; only its tombstone remains and it cannot change.",
            ),
            TenantError::InvalidMetadata(why) => Self::new(
                Code::InvalidMetadata,
                // `InvalidValue` messages are written for callers.
                format!("After this patch the metadata {why}."),
            ),
            TenantError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<NamespaceError> for Problem {
    fn from(e: NamespaceError) -> Self {
        match e {
            NamespaceError::OrgNotFound => Self::not_found("org"),
            NamespaceError::TenantNotFound => Self::not_found("tenant"),
            NamespaceError::NotFound => Self::not_found("namespace"),
            NamespaceError::KeyTaken(key) => Self::new(
                Code::KeyTaken,
                format!("The namespace key \"{key}\" is already taken in this tenant."),
            ),
            NamespaceError::TenantNotActive(status) => tenant_not_active(status),
            NamespaceError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<ListError> for Problem {
    fn from(e: ListError) -> Self {
        match e {
            ListError::OrgNotFound => Self::not_found("org"),
            ListError::Forbidden => Self::new(
                Code::Forbidden,
                "Only a platform admin may list across orgs.",
            ),
            ListError::TenantNotFound => Self::not_found("tenant"),
            ListError::Page(e) => e.into(),
            ListError::InvalidFilter(errors) => Self::fields(
                Code::InvalidQuery,
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        field: e.field,
                        message: e.message,
                    })
                    .collect(),
            ),
            ListError::TooBroad => Self::new(
                Code::SearchTooBroad,
                "The search examined more tenants than one query may and was stopped; \
                 narrow it (a longer or rarer search term, a status, region, plan or \
                 metadata filter).",
            ),
            ListError::Busy => Self::new(
                Code::RateLimited,
                "This caller has as many tenant listings running as it may; retry after \
                 `Retry-After` seconds.",
            ),
            ListError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<LibraryError> for Problem {
    fn from(e: LibraryError) -> Self {
        match e {
            LibraryError::OrgNotFound => Self::not_found("org"),
            LibraryError::NamespaceNotFound => Self::not_found("namespace"),
            LibraryError::NotANamespaceKey => {
                Self::forbidden("This endpoint needs a namespace key.")
            }
            LibraryError::MissingScope(scope) => Self::missing_scope(scope),
            LibraryError::ResourceNotAllowed(key) => Self::forbidden(&format!(
                "This key is restricted to other resources than \"{key}\"."
            )),
            LibraryError::PlatformAdminOnly => Self::forbidden(
                "Only a platform admin may publish or grant a listing with scope `platform`.",
            ),
            LibraryError::InvalidGrant { index, reason } => Self::fields(
                Code::ValidationFailed,
                vec![FieldError {
                    field: format!("accessGrants[{index}].orgId"),
                    message: reason.to_owned(),
                }],
            ),
            LibraryError::ListingNotFound => Self::not_found("listing"),
            LibraryError::AmbiguousListing(key) => Self::new(
                Code::AmbiguousListing,
                format!(
                    "More than one publisher's listing \"{key}\" is granted to this \
                     namespace; name the listing by its id."
                ),
            ),
            LibraryError::ResourceNotFound(_) => Self::not_found("resource"),
            LibraryError::VersionNotFound(version) => {
                Self::new(Code::NotFound, format!("No version {version} exists."))
            }
            LibraryError::InstallNotFound => Self::new(
                Code::NotFound,
                "This namespace has not installed that listing; try it first.",
            ),
            LibraryError::Version(VersionRefused::NotIncreasing { version, latest }) => {
                let mut problem = Self::new(
                    Code::VersionNotIncreasing,
                    format!(
                        "Version {version} is not greater than the latest version, {latest}; \
                         versions must increase by semver precedence."
                    ),
                );
                problem.extensions.current_version = Some(latest.to_string());
                problem
            }
            LibraryError::Version(VersionRefused::ContentDiffers(version)) => Self::new(
                Code::VersionConflict,
                format!(
                    "Version {version} exists with other content; versions are immutable, \
                     publish a new version instead."
                ),
            ),
            LibraryError::TypeMismatch { key, stored } => Self::new(
                Code::Conflict,
                format!("\"{key}\" is a {stored}; its versions keep that type."),
            ),
            LibraryError::ResourceKeyTaken(key) => Self::new(
                Code::KeyTaken,
                format!(
                    "The resource key \"{key}\" is taken in this namespace; a fork is a new \
                     resource, so pass another `key`."
                ),
            ),
            LibraryError::AlreadyInstalled { listing, pinned } => {
                let mut problem = Self::new(
                    Code::AlreadyInstalled,
                    format!("\"{listing}\" is installed at {pinned}; move the pin with upgrade."),
                );
                problem.extensions.current_version = Some(pinned.to_string());
                problem
            }
            LibraryError::NotForward { pinned, requested } => {
                let mut problem = Self::new(
                    Code::DowngradeRefused,
                    format!("The pin is at {pinned}; it cannot move back to {requested}."),
                );
                problem.extensions.current_version = Some(pinned.to_string());
                problem
            }
            LibraryError::QuotaExceeded { quota, used, limit } => {
                let mut problem = Self::new(
                    Code::QuotaExceeded,
                    format!("The tenant uses {used} of its {limit} `{quota}`."),
                );
                problem.extensions.quota = Some(quota);
                problem.extensions.used = Some(used);
                problem.extensions.limit = Some(limit);
                problem
            }
            LibraryError::TenantNotActive(status) => tenant_not_active(status),
            LibraryError::Page(e) => e.into(),
            LibraryError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<PageError> for Problem {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Cursor => Self::new(
                Code::InvalidCursor,
                "The cursor was not issued by this listing (or for another sort order); \
                 start again without it.",
            ),
            PageError::Limit => Self::fields(Code::InvalidQuery, vec![crate::page::limit_error()]),
        }
    }
}

impl From<ApiKeyError> for Problem {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::TooManyResources(error) => Self::field("resources", error),
            ApiKeyError::OrgNotFound => Self::not_found("org"),
            ApiKeyError::TenantNotFound => Self::not_found("tenant"),
            ApiKeyError::NamespaceNotFound => Self::not_found("namespace"),
            ApiKeyError::NotFound => Self::not_found("API key"),
            ApiKeyError::TenantNotActive(status) => tenant_not_active(status),
            ApiKeyError::MissingScope(scope) => Self::missing_scope(scope),
            ApiKeyError::Escalation => Self::new(
                Code::ScopeEscalation,
                "A key can create, rotate or revoke only its own key or keys whose scopes, \
                 resources and expiry its own cover.",
            ),
            ApiKeyError::NotANamespaceKey => {
                Self::forbidden("This endpoint needs a namespace key.")
            }
            ApiKeyError::ExpiryInPast => Self::fields(
                Code::ValidationFailed,
                vec![FieldError {
                    field: "expiresAt".to_owned(),
                    message: "must be in the future".to_owned(),
                }],
            ),
            ApiKeyError::GraceOutOfRange { max_days } => Self::fields(
                Code::ValidationFailed,
                vec![FieldError {
                    field: "gracePeriodSeconds".to_owned(),
                    message: format!(
                        "must be from 0 to {} ({max_days} days)",
                        max_days * 24 * 60 * 60
                    ),
                }],
            ),
            ApiKeyError::Page(e) => e.into(),
            ApiKeyError::KeyInactive => Self::new(
                Code::KeyInactive,
                "The API key is revoked or expired; only active keys can be rotated.",
            ),
            ApiKeyError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_spelling_and_a_client_or_server_status() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str(), "serde and as_str agree");
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn each_domain_error_gets_its_own_code() {
        use domain::{LifecycleAction, TenantStatus};
        let cases: Vec<(Problem, Code)> = vec![
            (
                TenantError::PlatformAdminOnly("restore a tenant").into(),
                Code::Forbidden,
            ),
            (TenantError::Deleted.into(), Code::TenantDeleted),
            (
                TenantError::ConfirmationMismatch.into(),
                Code::ConfirmationRequired,
            ),
            (
                TenantError::InvalidTransition(InvalidTransition {
                    from: TenantStatus::Deleted,
                    action: LifecycleAction::Restore,
                })
                .into(),
                Code::InvalidTransition,
            ),
            (
                NamespaceError::TenantNotActive(TenantStatus::Deactivated).into(),
                Code::TenantNotActive,
            ),
            (
                ListError::Page(PageError::Cursor).into(),
                Code::InvalidCursor,
            ),
            (ListError::Page(PageError::Limit).into(), Code::InvalidQuery),
            (ListError::TooBroad.into(), Code::SearchTooBroad),
            (ListError::Busy.into(), Code::RateLimited),
            (OrgError::NotFound.into(), Code::NotFound),
        ];
        for (problem, code) in cases {
            assert_eq!(problem.code(), code, "{problem:?}");
        }
    }

    #[test]
    fn every_api_key_error_has_its_own_status_code_and_message() {
        use domain::{ApiKeyError as E, Scope};
        let cases: Vec<(E, u16, Code)> = vec![
            (E::OrgNotFound, 404, Code::NotFound),
            (E::TenantNotFound, 404, Code::NotFound),
            (E::NamespaceNotFound, 404, Code::NotFound),
            (E::NotFound, 404, Code::NotFound),
            (
                E::TenantNotActive(TenantStatus::Suspended),
                409,
                Code::TenantNotActive,
            ),
            (E::MissingScope(Scope::KeysWrite), 403, Code::MissingScope),
            (E::Escalation, 403, Code::ScopeEscalation),
            (E::NotANamespaceKey, 403, Code::Forbidden),
            (E::ExpiryInPast, 400, Code::ValidationFailed),
            (
                E::GraceOutOfRange { max_days: 30 },
                400,
                Code::ValidationFailed,
            ),
            (E::Page(PageError::Cursor), 400, Code::InvalidCursor),
            (E::Page(PageError::Limit), 400, Code::InvalidQuery),
            (E::KeyInactive, 409, Code::KeyInactive),
            (E::Unavailable("pg down".into()), 503, Code::Unavailable),
        ];
        let mut details = std::collections::HashSet::new();
        for (error, status, code) in cases {
            let shown = format!("{error:?}");
            let problem = Problem::from(error);
            assert_eq!(problem.code(), code, "{shown}");
            assert_eq!(problem.code.status().as_u16(), status, "{shown}");
            let body = serde_json::to_value(problem.document(None)).unwrap();
            assert!(details.insert(body.to_string()), "{shown} shares a body");
        }
        let scope = Problem::from(E::MissingScope(Scope::KeysWrite));
        assert_eq!(scope.extensions.scope, Some("keys:write"));
        assert!(scope.detail.contains("keys:write"));
        for (error, field) in [
            (E::ExpiryInPast, "expiresAt"),
            (E::GraceOutOfRange { max_days: 30 }, "gracePeriodSeconds"),
        ] {
            let problem = Problem::from(error);
            assert_eq!(problem.extensions.errors[0].field, field);
        }
    }

    #[test]
    fn unavailable_problems_do_not_carry_the_internal_message() {
        let problem = Problem::from(TenantError::Unavailable("pg: connection refused".into()));
        let body = serde_json::to_string(&problem.document(None)).unwrap();
        assert!(!body.contains("connection refused"), "{body}");
        assert_eq!(problem.code(), Code::Unavailable);
    }
}
