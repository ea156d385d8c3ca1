//! Self-service registration (docs/api.md, registration): an org's
//! `registration` settings under `/v1/orgs/{org}/settings/registration` (for
//! the org), and the two public endpoints: `POST
//! /v1/public/orgs/{org}/registrations`, which emails a one-time link and
//! answers `202` alike whether or not the key is free, rate limited per client
//! address; and `POST /v1/public/registrations/confirm`, which follows the
//! link: the tenant, and its first key shown once.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::settings::RegistrationSettings;
use domain::{
    Email, Name, RegionCode, RegistrationError, RegistrationRequest, SettingsTarget, TenantKey,
};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddress;
use crate::extract::{JsonBytes, MergePatch, OrgPath, parse_json};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::problem::{Code, FieldError, Problem};
use crate::settings::{Document, change, read};
use crate::tenants::ProvisionedView;
use crate::validate::Validator;

/// How many registration requests one client address may make, and over
/// how long (`TENANCY_REGISTRATION_RATE`): a burst of `requests`, then one
/// more each `per / requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationRate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl Default for RegistrationRate {
    /// 10 an hour.
    fn default() -> Self {
        Self {
            requests: NonZeroU32::new(10).expect("a non-zero literal"),
            per: Duration::from_secs(3600),
        }
    }
}

/// Entries past which the limiter forgets addresses whose budget is full
/// again (their state says nothing any more), so that many addresses
/// cannot grow it without bound.
const FORGET_ABOVE: usize = 10_000;

/// The registration limiter: one GCRA budget per client address (the
/// socket's peer, or what a trusted proxy forwarded: [`ClientAddress`]).
/// Requests with no known client (a router driven in process) share one
/// budget.
pub(crate) struct RegistrationLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
}

impl RegistrationLimiter {
    pub(crate) fn new(rate: RegistrationRate) -> Self {
        let interval = (rate.per / rate.requests.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(interval)
            .expect("a non-zero interval")
            .allow_burst(rate.requests);
        Self {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU32::new(0),
        }
    }

    /// Counts one request of `client`; when its budget is spent, the
    /// `429 rate_limited` answer to give instead, with `Retry-After` in whole
    /// seconds.
    fn refusal(&self, client: Option<IpAddr>) -> Option<Problem> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 0
            && self.limiter.len() > FORGET_ABOVE
        {
            self.limiter.retain_recent();
        }
        let key = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let not_until = self.limiter.check_key(&key).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let problem = Problem::new(
            Code::RateLimited,
            "Too many registrations from this address; retry later.",
        );
        Some(problem.retry_after(seconds))
    }
}

/// An org's `registration` settings; every field optional (`null` in a patch
/// removes it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RegistrationSettings)]
pub(crate) struct RegistrationSettingsSchema {
    /// Whether the public registration endpoint serves the org; off unless
    /// `true`.
    enabled: Option<bool>,
    /// The plan a registered tenant gets; `free` unless set.
    #[schema(
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9_-]+$",
        example = "starter"
    )]
    default_plan: Option<String>,
    /// Where a registration that names no region goes: an available region
    /// of the deployment (`GET /v1/regions`); the deployment's default
    /// unless set.
    #[schema(value_type = Option<crate::fields::AvailableRegion>)]
    default_region: Option<String>,
    /// The domain names an admin email may be at (exactly, without regard
    /// to case; distinct, at most 100); every domain when unset or empty.
    #[schema(max_items = 100, example = json!(["acme.io"]))]
    allowed_email_domains: Option<Vec<EmailDomainSchema>>,
}

/// A domain name (`acme.io`): at least two labels of letters, digits and
/// inner hyphens, at most 253 characters, not ending in an all-digit label.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = EmailDomain,
    value_type = String,
    pattern = r"^(?=.{1,253}\.?$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![0-9]+\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$"
)]
#[allow(
    dead_code,
    reason = "the OpenAPI schema only: documents travel as JSON, checked by the domain"
)]
pub(crate) struct EmailDomainSchema(String);

/// Reads the org's registration settings.
#[utoipa::path(get, path = "/v1/orgs/{org}/settings/registration",
    operation_id = "getRegistrationSettings", tag = "settings", params(OrgPath),
    responses(
        (status = 200, description = "The settings; `ETag` is their version.",
            body = RegistrationSettingsSchema,
            headers(("ETag" = String, description = "The version, for If-Match."))),
        (status = 404, response = NotFound),
    ))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
) -> Result<Document, Problem> {
    read::<RegistrationSettings>(&state.tenancy, &ctx, SettingsTarget::Org(path.org)).await
}

/// Changes the org's registration settings (JSON merge-patch; `null`
/// removes a field).
#[utoipa::path(patch, path = "/v1/orgs/{org}/settings/registration",
    operation_id = "updateRegistrationSettings", tag = "settings", params(OrgPath),
    request_body(content(
        (RegistrationSettingsSchema = "application/merge-patch+json"),
        (RegistrationSettingsSchema = "application/json"),
    )),
    responses(
        (status = 200, description = "The settings after the change.",
            body = RegistrationSettingsSchema,
            headers(("ETag" = String, description = "The new version."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 412, description = "`If-Match` names another version (`precondition_failed`)."),
    ))]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    headers: HeaderMap,
    MergePatch(patch): MergePatch<Value>,
) -> Result<Document, Problem> {
    let target = SettingsTarget::Org(path.org);
    change::<RegistrationSettings>(&state.tenancy, &ctx, target, &headers, &patch).await
}

/// A registration request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with name, key and adminEmail"
)]
#[schema(as = RegistrationRequest)]
pub(crate) struct RegistrationBody {
    /// The tenant's name.
    #[schema(min_length = 1, max_length = 200, example = "Ada's workspace")]
    name: String,
    /// The tenant's key and subdomain: 3–63 characters of `a-z`, `0-9` and
    /// `-`, starting and ending with a letter or digit, not reserved
    /// (`www`, `admin`, ...).
    #[schema(
        min_length = 3,
        max_length = 63,
        pattern = "^[a-z0-9][a-z0-9-]*[a-z0-9]$",
        example = "ada"
    )]
    key: String,
    /// Who receives the link and becomes the tenant's owner.
    #[schema(schema_with = crate::fields::email_address)]
    admin_email: String,
    /// An available region; the org's `defaultRegion`, else the
    /// deployment's default, unless given.
    #[schema(value_type = Option<crate::fields::AvailableRegion>)]
    region: Option<String>,
}

impl RegistrationBody {
    fn validate(self) -> Result<RegistrationRequest, Problem> {
        let mut v = Validator::body();
        let name = v.check("name", Name::parse(&self.name));
        let key = v.check("key", TenantKey::parse(&self.key));
        let admin_email = v.check("adminEmail", Email::parse(&self.admin_email));
        let region = v.check(
            "region",
            self.region.as_deref().map(RegionCode::parse).transpose(),
        );
        let (Some(name), Some(key), Some(admin_email), Some(region)) =
            (name, key, admin_email, region)
        else {
            return Err(v.into_problem());
        };
        Ok(RegistrationRequest {
            name,
            key,
            admin_email,
            region,
        })
    }
}

/// The answer to every accepted registration request, whether or not its
/// key is free.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RegistrationAccepted)]
pub(crate) struct AcceptedView {
    /// Always `accepted`.
    #[schema(example = "accepted")]
    status: &'static str,
    detail: &'static str,
}

const ACCEPTED: AcceptedView = AcceptedView {
    status: "accepted",
    detail: "An email is on its way to adminEmail: a link that creates the tenant \
             within 24 hours, or why it cannot be created.",
};

/// Asks an org for a tenant (self-service registration). Public: no token.
///
/// When the org has registration enabled and the request is well-formed,
/// always `202` with the same body: an email goes to `adminEmail` with a
/// one-time link valid 24 hours, or, when the key is taken, an email that
/// says so (the answer never tells whether a key is free). Rate limited per
/// client address (`429` with `Retry-After`).
#[utoipa::path(post, path = "/v1/public/orgs/{org}/registrations",
    operation_id = "requestRegistration", tag = "public", params(OrgPath),
    request_body = RegistrationBody,
    responses(
        (status = 202, description = "Accepted: an email is on its way.", body = AcceptedView),
        (status = 400, response = BadRequest),
        (status = 404, description = "No such org, or it does not take registrations \
            (`not_found`, alike)."),
        (status = 422, description = "The admin email's domain is not one the org allows \
            (`email_domain_not_allowed`)."),
        (status = 429, description = "Too many registrations from this address \
            (`rate_limited`); `Retry-After` says when to retry."),
    ))]
pub(crate) async fn request(
    State(state): State<AppState>,
    path: OrgPath,
    headers: HeaderMap,
    ClientAddress(client): ClientAddress,
    JsonBytes(bytes): JsonBytes,
) -> Result<Response, Problem> {
    if let Some(limited) = state.registration_limiter.refusal(client) {
        return Err(limited);
    }
    let body: RegistrationBody = parse_json(&bytes)?;
    let request = body.validate()?;
    let request_id = crate::request_id::of(&headers);
    let accepted = state
        .tenancy
        .request_registration(request_id, &path.org, request)
        .await?;
    // Off the request path: a free key and a taken one answer in the same
    // time, whatever the mail server does.
    let tenancy = state.tenancy.clone();
    tokio::spawn(async move {
        if let Err(error) = tenancy.send_mail(&accepted.mail).await {
            tracing::warn!(%error, "a registration email was not sent");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(ACCEPTED)).into_response())
}

/// A registration link's token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with token"
)]
#[schema(as = RegistrationConfirmation)]
pub(crate) struct ConfirmBody {
    /// The `token` of the emailed link: 43 base64url characters.
    #[schema(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{43}$")]
    token: String,
}

/// Follows a registration link: provisions the tenant, with the requester as
/// its owner, exactly once. Public: the token is the credential.
///
/// `201` with the tenant and its first API key, whose secret is in this
/// response only. A token used already is `410 token_used`, one that expired
/// `410 token_expired`, an unknown one `404`; a key taken since the request
/// is `409 key_taken` (the link is used up: register again with another).
#[utoipa::path(post, path = "/v1/public/registrations/confirm",
    operation_id = "confirmRegistration", tag = "public",
    request_body = ConfirmBody,
    responses(
        (status = 201, description = "Provisioned, with the first key's secret shown this once.",
            body = ProvisionedView),
        (status = 400, response = BadRequest),
        (status = 404, description = "No registration has this token (`not_found`)."),
        (status = 409, response = Conflict),
        (status = 410, description = "The link was used already (`token_used`) or expired \
            (`token_expired`)."),
    ))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBytes(bytes): JsonBytes,
) -> Result<Response, Problem> {
    let body: ConfirmBody = parse_json(&bytes)?;
    let request_id = crate::request_id::of(&headers);
    let provisioned = state
        .tenancy
        .confirm_registration(request_id, &body.token)
        .await?;
    crate::tenants::provisioned_response(&state, provisioned).map(crate::idempotency::fresh)
}

/// What each refusal of a registration or confirmation answers.
impl From<RegistrationError> for Problem {
    fn from(e: RegistrationError) -> Self {
        match e {
            // One answer for an unknown org and one that takes no
            // registrations: the endpoint tells nothing about orgs.
            RegistrationError::NotOpen => Self::new(
                Code::NotFound,
                "No org takes registrations at this key or id.",
            ),
            RegistrationError::EmailDomainNotAllowed => Self::fields(
                Code::EmailDomainNotAllowed,
                vec![FieldError {
                    field: "adminEmail".into(),
                    message: "must be at one of the org's allowed email domains".into(),
                }],
            ),
            RegistrationError::RegionUnavailable(code) => Self::fields(
                Code::RegionUnavailable,
                vec![FieldError {
                    field: "region".into(),
                    message: format!("{code} is not an available region of this deployment"),
                }],
            ),
            RegistrationError::UnknownToken => {
                Self::new(Code::NotFound, "No registration has this token.")
            }
            RegistrationError::TokenUsed => Self::new(
                Code::TokenUsed,
                "This registration link was used already; each link works once.",
            ),
            RegistrationError::TokenExpired => Self::new(
                Code::TokenExpired,
                "This registration link expired; register again for a new one.",
            ),
            RegistrationError::KeyTaken => Self::new(
                Code::KeyTaken,
                "The tenant key was taken since the registration; the link is used up: \
                 register again with another key.",
            ),
            RegistrationError::MailUnavailable(message)
            | RegistrationError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}
