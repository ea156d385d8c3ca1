//! The table of problem codes: each code's wire spelling, HTTP status and title in
//! one row, from which [`Code`] and its lookups are generated.

use std::fmt;

use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Generates [`Code`] from rows `Variant => "spelling", status, "Title";`, so the
/// spelling, status and title of a code sit on one line and adding a code is adding
/// a row. Serde spells the variant itself (`snake_case`, which keeps the OpenAPI
/// schema a plain string enum; a `rename` per variant would not), and a test checks
/// that it agrees with the row's spelling.
macro_rules! problem_codes {
    ($($variant:ident => $spelling:literal, $status:expr, $title:literal;)+) => {
        /// The stable machine-readable kind of a problem. Its spelling is part of the API:
        /// clients match on it, so a variant is never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = ProblemCode)]
        pub(crate) enum Code {
            $($variant,)+
        }

        impl Code {
            /// Every code, in the table's order.
            #[cfg(test)]
            pub(crate) const ALL: [Self; <[&str]>::len(&[$($spelling),+])] =
                [$(Self::$variant),+];

            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $spelling,)+
                }
            }

            pub(crate) fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => $status,)+
                }
            }

            /// A short summary that does not change from occurrence to occurrence.
            pub(crate) fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)+
                }
            }
        }
    };
}

problem_codes! {
    ValidationFailed => "validation_failed", StatusCode::BAD_REQUEST, "Some fields are invalid";
    MalformedJson => "malformed_json", StatusCode::BAD_REQUEST, "The request body is not the JSON this endpoint expects";
    InvalidQuery => "invalid_query", StatusCode::BAD_REQUEST, "The query string is invalid";
    InvalidHeader => "invalid_header", StatusCode::BAD_REQUEST, "A request header is invalid";
    InvalidCursor => "invalid_cursor", StatusCode::BAD_REQUEST, "The cursor is not valid for this listing";
    ConfirmationRequired => "confirmation_required", StatusCode::BAD_REQUEST, "The deletion was not confirmed";
    UnknownRegion => "unknown_region", StatusCode::BAD_REQUEST, "The region is not configured";
    RegionUnavailable => "region_unavailable", StatusCode::BAD_REQUEST, "The region does not accept new tenants";
    DuplicateNamespace => "duplicate_namespace", StatusCode::BAD_REQUEST, "A namespace key appears twice";
    InvalidMetadata => "invalid_metadata", StatusCode::BAD_REQUEST, "The metadata would be invalid";
    Unauthorized => "unauthorized", StatusCode::UNAUTHORIZED, "Authentication is required";
    Forbidden => "forbidden", StatusCode::FORBIDDEN, "The caller may not do this";
    MissingScope => "missing_scope", StatusCode::FORBIDDEN, "The key lacks a scope this endpoint needs";
    ScopeEscalation => "scope_escalation", StatusCode::FORBIDDEN, "A key cannot grant more than it holds";
    TestKeyRefused => "test_key_refused", StatusCode::FORBIDDEN, "A test-mode key cannot do this";
    RestrictedKeyRefused => "restricted_key_refused", StatusCode::FORBIDDEN, "A key restricted to some resources cannot do this";
    TenantSuspended => "tenant_suspended", StatusCode::FORBIDDEN, "The key's tenant is suspended";
    TenantDeactivated => "tenant_deactivated", StatusCode::FORBIDDEN, "The key's tenant is deactivated";
    IpNotAllowed => "ip_not_allowed", StatusCode::FORBIDDEN, "The key's tenant does not accept its keys from this address";
    NotFound => "not_found", StatusCode::NOT_FOUND, "Not found";
    MethodNotAllowed => "method_not_allowed", StatusCode::METHOD_NOT_ALLOWED, "Method not allowed";
    KeyTaken => "key_taken", StatusCode::CONFLICT, "The key is already taken";
    Conflict => "conflict", StatusCode::CONFLICT, "The request conflicts with an existing resource";
    InvalidTransition => "invalid_transition", StatusCode::CONFLICT, "The lifecycle does not allow this transition";
    TenantDeleted => "tenant_deleted", StatusCode::CONFLICT, "The tenant is deleted";
    TenantNotActive => "tenant_not_active", StatusCode::CONFLICT, "The tenant is not active";
    KeyInactive => "key_inactive", StatusCode::CONFLICT, "The API key is revoked or expired";
    VersionConflict => "version_conflict", StatusCode::CONFLICT, "This version exists with other content";
    VersionNotIncreasing => "version_not_increasing", StatusCode::CONFLICT, "Versions must increase";
    AlreadyInstalled => "already_installed", StatusCode::CONFLICT, "The listing is installed at another version";
    DowngradeRefused => "downgrade_refused", StatusCode::CONFLICT, "Pins move forward only";
    AmbiguousListing => "ambiguous_listing", StatusCode::CONFLICT, "Several listings have this key";
    PreconditionFailed => "precondition_failed", StatusCode::PRECONDITION_FAILED, "The object changed since it was read";
    MemberExists => "member_exists", StatusCode::CONFLICT, "The user is already in the tenant";
    OwnerNotRemovable => "owner_not_removable", StatusCode::CONFLICT, "The owner cannot be removed, only replaced";
    EmailDomainNotAllowed => "email_domain_not_allowed", StatusCode::UNPROCESSABLE_ENTITY, "The email's domain is not allowed";
    TokenUsed => "token_used", StatusCode::GONE, "The link was used already";
    TokenExpired => "token_expired", StatusCode::GONE, "The link expired";
    DomainExists => "domain_exists", StatusCode::CONFLICT, "The tenant has another custom domain";
    DomainTaken => "domain_taken", StatusCode::CONFLICT, "The domain is another tenant's";
    DomainUnusable => "domain_unusable", StatusCode::UNPROCESSABLE_ENTITY, "The domain cannot be a custom domain here";
    QuotaExceeded => "quota_exceeded", StatusCode::FORBIDDEN, "A quota is exhausted";
    IdempotencyKeyReused => "idempotency_key_reused", StatusCode::UNPROCESSABLE_ENTITY, "The idempotency key was used for a different request";
    IdempotencyInProgress => "idempotency_in_progress", StatusCode::CONFLICT, "A request with this idempotency key is in progress";
    PayloadTooLarge => "payload_too_large", StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large";
    UnsupportedMediaType => "unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    RateLimited => "rate_limited", StatusCode::TOO_MANY_REQUESTS, "Too many requests";
    SearchTooBroad => "search_too_broad", StatusCode::UNPROCESSABLE_ENTITY, "The search is too broad to answer";
    Internal => "internal", StatusCode::INTERNAL_SERVER_ERROR, "Internal error";
    Unavailable => "unavailable", StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable";
    NotReady => "not_ready", StatusCode::SERVICE_UNAVAILABLE, "The server cannot serve traffic right now";
    Overloaded => "overloaded", StatusCode::SERVICE_UNAVAILABLE, "The server is at its limit of requests in flight";
    TimedOut => "timed_out", StatusCode::SERVICE_UNAVAILABLE, "The request took too long";
    SigningKeyUnavailable => "signing_key_unavailable", StatusCode::SERVICE_UNAVAILABLE, "No audit checkpoint signing key is configured";
}

impl Code {
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
}
