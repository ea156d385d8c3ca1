//! `/v1/orgs/{org}/tenants/{tenant}/domain`: a tenant's custom domain, for
//! the platform admin and the org's keys. The answer names the TXT record to
//! publish (and the CNAME target); the background job checks it until it is
//! verified or fails, and `POST .../domain/verify` restarts verification.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::{CheckReason, CustomDomain, DomainName, DomainStatus, TenantDomain};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, TenantPath};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::problem::Problem;
use crate::validate::Validator;

/// The domain to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with domain"
)]
#[schema(as = NewCustomDomain)]
pub(crate) struct NewDomainBody {
    /// The host name, case-insensitive (stored lower-cased, without a
    /// trailing dot): dot-separated labels of letters, digits and hyphens
    /// (neither first nor last), 1–63 characters each, 253 in all, the last
    /// not all digits; never an IP address, a wildcard, the base domain or a
    /// name under it.
    #[schema(
        example = "login.acme.com",
        min_length = 3,
        max_length = 254,
        pattern = r"^(?=.{3,253}\.?$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![0-9]+\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
    )]
    domain: String,
}

/// Where verification stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CustomDomainStatus)]
pub(crate) enum StatusBody {
    Pending,
    Verified,
    Failed,
}

impl From<DomainStatus> for StatusBody {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Pending => Self::Pending,
            DomainStatus::Verified => Self::Verified,
            DomainStatus::Failed => Self::Failed,
        }
    }
}

/// Why the last check did not find the token: `no_record` (the name holds
/// no TXT record), `wrong_value` (TXT records, none the token), `nxdomain`
/// (the name does not exist), `servfail` (the nameservers failed or refused),
/// `timeout` (none answered in time).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CustomDomainCheckReason)]
pub(crate) enum ReasonBody {
    NoRecord,
    WrongValue,
    Nxdomain,
    Servfail,
    Timeout,
}

impl From<CheckReason> for ReasonBody {
    fn from(reason: CheckReason) -> Self {
        match reason {
            CheckReason::NoRecord => Self::NoRecord,
            CheckReason::WrongValue => Self::WrongValue,
            CheckReason::NxDomain => Self::Nxdomain,
            CheckReason::ServFail => Self::Servfail,
            CheckReason::Timeout => Self::Timeout,
        }
    }
}

/// The TXT record to publish.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CustomDomainTxtRecord)]
pub(crate) struct TxtRecordView {
    /// Its owner name: the challenge prefix, then the domain.
    #[schema(example = "_tenancy-challenge.login.acme.com")]
    name: String,
    /// Its value, exactly: `tenancy-verify=` and 32 lowercase hex digits.
    #[schema(pattern = "^tenancy-verify=[0-9a-f]{32}$")]
    value: String,
}

/// A tenant's custom domain and the records that verify and serve it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CustomDomain)]
pub(crate) struct DomainView {
    #[schema(example = "login.acme.com")]
    domain: String,
    status: StatusBody,
    /// Why the last check did not find the token; `null` before the first
    /// check and after one that found it.
    #[schema(required = true)]
    reason: Option<ReasonBody>,
    txt_record: TxtRecordView,
    /// Where the domain's CNAME should point: the tenant's subdomain; `null`
    /// when the deployment has no base domain.
    #[schema(required = true, example = "acme.tenancy.example")]
    cname_target: Option<String>,
    /// When verification started (or was restarted).
    started_at: DateTime<Utc>,
    #[schema(required = true)]
    last_checked_at: Option<DateTime<Utc>>,
    /// When the background job checks next; `null` once verified or failed.
    #[schema(required = true)]
    next_check_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    verified_at: Option<DateTime<Utc>>,
    /// While pending: when the domain fails unless verified by then (7 days
    /// after `startedAt`); `null` otherwise.
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
}

impl From<TenantDomain> for DomainView {
    fn from(view: TenantDomain) -> Self {
        let d = view.domain;
        Self {
            domain: d.domain.to_string(),
            status: d.status.into(),
            reason: d.last_reason.map(ReasonBody::from),
            txt_record: TxtRecordView {
                name: view.txt_name.to_string(),
                value: d.token.to_string(),
            },
            cname_target: view.cname_target.map(|c| c.to_string()),
            started_at: d.started_at,
            last_checked_at: d.last_checked_at,
            next_check_at: d.next_check_at,
            verified_at: d.verified_at,
            expires_at: view.expires_at,
        }
    }
}

/// A custom domain as the tenant export writes it: what is stored, without
/// the records derived from the deployment's settings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DomainLine {
    domain: String,
    status: StatusBody,
    reason: Option<ReasonBody>,
    token: String,
    started_at: DateTime<Utc>,
    last_checked_at: Option<DateTime<Utc>>,
    next_check_at: Option<DateTime<Utc>>,
    verified_at: Option<DateTime<Utc>>,
}

impl From<CustomDomain> for DomainLine {
    fn from(d: CustomDomain) -> Self {
        Self {
            domain: d.domain.to_string(),
            status: d.status.into(),
            reason: d.last_reason.map(ReasonBody::from),
            token: d.token.to_string(),
            started_at: d.started_at,
            last_checked_at: d.last_checked_at,
            next_check_at: d.next_check_at,
            verified_at: d.verified_at,
        }
    }
}

/// Adds the tenant's custom domain, pending until its TXT record is found.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org}/tenants/{tenant}/domain",
    operation_id = "putCustomDomain",
    tag = "domains",
    params(TenantPath),
    request_body = NewDomainBody,
    responses(
        (status = 201, description = "Added: publish `txtRecord`, then wait for the check \
            (or `POST .../domain/verify`).", body = DomainView),
        (status = 200, description = "The tenant has this domain already: it as it is.",
            body = DomainView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, description = "`domain_exists` (the tenant has another domain: \
            remove it first), `domain_taken` (another tenant's), or `tenant_deleted`."),
        (status = 422, description = "`domain_unusable`: the base domain or a name under \
            it, or too long to hold the challenge label (see `errors`)."),
    )
)]
pub(crate) async fn put(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<NewDomainBody>,
) -> Result<(StatusCode, Json<DomainView>), Problem> {
    let mut v = Validator::body();
    let Some(name) = v.check("domain", DomainName::parse(&body.domain)) else {
        return Err(v.into_problem());
    };
    let (view, created) = state
        .tenancy
        .add_custom_domain(&ctx, &path.org, &path.tenant, name)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view.into())))
}

/// Reads the tenant's custom domain and where its verification stands.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/domain",
    operation_id = "getCustomDomain",
    tag = "domains",
    params(TenantPath),
    responses(
        (status = 200, description = "The domain.", body = DomainView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<Json<DomainView>, Problem> {
    let view = state
        .tenancy
        .get_custom_domain(&ctx, &path.org, &path.tenant)
        .await?;
    Ok(Json(view.into()))
}

/// Removes the tenant's custom domain; its host stops naming the tenant at
/// once.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}/domain",
    operation_id = "deleteCustomDomain",
    tag = "domains",
    params(TenantPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<StatusCode, Problem> {
    state
        .tenancy
        .remove_custom_domain(&ctx, &path.org, &path.tenant)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Re-verification: the domain is pending again with a fresh 7-day window
/// and is checked now; the answer is the domain after that check.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/domain/verify",
    operation_id = "verifyCustomDomain",
    tag = "domains",
    params(TenantPath),
    responses(
        (status = 200, description = "The domain after the check.", body = DomainView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<Json<DomainView>, Problem> {
    let view = state
        .tenancy
        .reverify_custom_domain(&ctx, &path.org, &path.tenant)
        .await?;
    Ok(Json(view.into()))
}
