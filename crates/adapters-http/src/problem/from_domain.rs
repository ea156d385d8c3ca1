//! Domain errors as problems: one `From` per domain error enum, matching every
//! variant, so a new variant does not compile until it has its code and sentence.
//! (Self-service registration's, `RegistrationError`, sits with its endpoints in
//! `registrations.rs`.)

use domain::{
    ApiKeyError, AuditChainError, DomainError, IdempotencyError, InvalidTransition, LibraryError,
    ListError, MemberError, NamespaceError, OrgError, PageError, ProvisionError, SecretError,
    SettingsUseError, TenantError, TenantStatus, VersionRefused,
};

use domain::settings::SettingsError;

use super::{Cause, Code, FieldError, Problem};

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

fn quota_exceeded(quota: &'static str, used: u64, limit: u64) -> Problem {
    let mut problem = Problem::new(
        Code::QuotaExceeded,
        format!("The tenant uses {used} of its {limit} `{quota}`."),
    );
    problem.extensions.quota = Some(quota);
    problem.extensions.used = Some(used);
    problem.extensions.limit = Some(limit);
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
                Self::internal().because(Cause::UndecryptableResponse)
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
                Self::internal().because(Cause::UndecryptableSecret(name.to_string()))
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
            TenantError::QuotaExceeded { quota, used, limit } => quota_exceeded(quota, used, limit),
            TenantError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<MemberError> for Problem {
    fn from(e: MemberError) -> Self {
        match e {
            MemberError::OrgNotFound => Self::not_found("org"),
            MemberError::TenantNotFound => Self::not_found("tenant"),
            MemberError::NotFound => Self::not_found("member"),
            MemberError::TenantDeleted => TenantError::Deleted.into(),
            MemberError::AlreadyMember => Self::new(
                Code::MemberExists,
                "This user is already in the tenant (as a member or as its owner).",
            ),
            MemberError::OwnerNotRemovable => Self::new(
                Code::OwnerNotRemovable,
                "The owner cannot be removed; move ownership with PUT .../owner first.",
            ),
            MemberError::QuotaExceeded { used, limit } => {
                quota_exceeded("max_members", used, limit)
            }
            MemberError::Page(e) => e.into(),
            MemberError::Unavailable(message) => Self::unavailable(&message),
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
                quota_exceeded(quota, used, limit)
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

impl From<AuditChainError> for Problem {
    fn from(e: AuditChainError) -> Self {
        match e {
            AuditChainError::OrgNotFound => Self::not_found("org"),
            AuditChainError::NoSigningKey => crate::audit_chain::no_signing_key(),
            AuditChainError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::OrgNotFound => Self::not_found("org"),
            DomainError::TenantNotFound => Self::not_found("tenant"),
            DomainError::NotFound => Self::not_found("custom domain"),
            DomainError::TenantDeleted => TenantError::Deleted.into(),
            DomainError::Exists(current) => Self::new(
                Code::DomainExists,
                format!("The tenant's custom domain is {current}; remove it first."),
            ),
            DomainError::Taken => {
                Self::new(Code::DomainTaken, "Another tenant has added this domain.")
            }
            DomainError::Unusable(message) => Self::fields(
                Code::DomainUnusable,
                vec![FieldError {
                    field: "domain".to_owned(),
                    message,
                }],
            ),
            DomainError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

impl From<SettingsUseError> for Problem {
    fn from(e: SettingsUseError) -> Self {
        match e {
            SettingsUseError::OrgNotFound => Self::not_found("org"),
            SettingsUseError::TenantNotFound => Self::not_found("tenant"),
            SettingsUseError::NamespaceNotFound => Self::not_found("namespace"),
            SettingsUseError::TenantDeleted => TenantError::Deleted.into(),
            SettingsUseError::TenantOnly(group) | SettingsUseError::OrgOnly(group) => {
                Self::not_found(&format!("{group} settings"))
            }
            SettingsUseError::Invalid(e) => settings_refused(e),
            SettingsUseError::VersionMismatch { current } => {
                let mut problem = Self::new(
                    Code::PreconditionFailed,
                    format!(
                        "The settings changed since they were read: they are at version \
                         \"{current}\" now. Read them again and retry."
                    ),
                );
                problem.extensions.current_version = Some(format!("\"{current}\""));
                problem
            }
            SettingsUseError::MissingScope(scope) => Self::missing_scope(scope),
            SettingsUseError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}

fn settings_refused(e: SettingsError) -> Problem {
    let (field, message) = match &e {
        SettingsError::NotAnObject { .. } => (String::new(), "must be a JSON object".to_owned()),
        SettingsError::UnknownField { field, .. } => {
            (field.clone(), "is not a setting of this group".to_owned())
        }
        SettingsError::Invalid { field, reason } => ((*field).to_owned(), reason.to_string()),
    };
    Problem::fields(Code::ValidationFailed, vec![FieldError { field, message }])
}

#[cfg(test)]
mod tests {
    use super::*;

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
