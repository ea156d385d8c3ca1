//! What the webhook endpoints read and write: bodies, views, the path and the
//! mapping of `WebhookError` to problems.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use domain::{Description, EventFilter, OrgRef, WebhookEndpoint, WebhookError, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use crate::extract::{Segments, path_parameter};
use crate::problem::{Code, Problem};
use crate::validate::{Validator, present};

/// `/v1/orgs/{org}/webhooks/{webhook}`
#[derive(Debug)]
pub(crate) struct WebhookPath {
    pub org: OrgRef,
    pub id: WebhookId,
}

impl<S: Send + Sync> FromRequestParts<S> for WebhookPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
            id: segments.get("webhook", |raw| {
                Uuid::parse_str(raw).map(WebhookId::from_uuid)
            })?,
        })
    }
}

impl utoipa::IntoParams for WebhookPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", "The org's key or id."),
            path_parameter("webhook", "The webhook endpoint's id."),
        ]
    }
}

/// A webhook endpoint. Its secret is never shown again after the answer that
/// created or rotated it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookEndpoint)]
pub(crate) struct WebhookView {
    id: Uuid,
    org_id: Uuid,
    #[schema(example = "https://hooks.example.com/tenancy")]
    url: String,
    #[schema(required = true)]
    description: Option<String>,
    /// The event types delivered; empty: every type.
    #[schema(example = json!(["tenant.suspended", "api_key.revoked"]))]
    event_types: Vec<&'static str>,
    /// Whether deliveries go out. Turned off by the org, or by the delivery
    /// worker when the endpoint answers `410 Gone` or fails for 5 days.
    enabled: bool,
    /// Since when deliveries have failed without a success; `null` when the
    /// last one succeeded. After 5 days the endpoint is disabled.
    #[schema(required = true)]
    failing_since: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation signs deliveries
    /// beside the current one (a past time: it no longer does); `null`
    /// before the first rotation.
    #[schema(required = true)]
    previous_secret_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            org_id: e.org_id.as_uuid(),
            url: e.url.as_str().to_owned(),
            description: e.description.map(|d| d.as_str().to_owned()),
            event_types: e.event_types.types().iter().map(|t| t.as_str()).collect(),
            enabled: e.enabled,
            failing_since: e.failing_since,
            previous_secret_expires_at: e.secrets.previous.map(|p| p.until),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookWithSecret)]
pub(crate) struct WithSecretView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The Standard Webhooks signing secret (`whsec_` and base64). Store it
    /// now: it is never shown again.
    #[schema(example = "whsec_…")]
    pub secret: String,
}

/// An endpoint to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewWebhook)]
pub(crate) struct NewWebhookBody {
    /// An `https` URL; private, loopback and link-local addresses are refused
    /// unless the deployment allows them.
    #[schema(example = "https://hooks.example.com/tenancy")]
    pub url: String,
    pub description: Option<String>,
    /// The event types to deliver; empty or absent: every type.
    pub event_types: Option<Vec<String>>,
    /// `true` unless given.
    pub enabled: Option<bool>,
}

/// Changes to an endpoint (JSON merge-patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = WebhookPatch)]
pub(crate) struct WebhookPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `[]` or `null`: every type.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub event_types: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Option<bool>>,
}

/// How long the replaced secret keeps signing.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = RotateWebhookSecret)]
pub(crate) struct RotateSecretBody {
    /// 0 to 604800 (7 days); 86400 (24 hours) unless given.
    #[schema(example = 86400)]
    pub grace_seconds: Option<i64>,
}

/// Parses event type names into a filter, recording bad ones under `field`.
pub(crate) fn event_filter(
    v: &mut Validator,
    field: &str,
    names: &[String],
) -> Option<EventFilter> {
    let mut types = Vec::with_capacity(names.len());
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        match domain::EventType::parse(name) {
            Some(t) => types.push(t),
            None => {
                ok = false;
                v.add(
                    format!("{field}[{i}]"),
                    format!("`{name}` is not an event type"),
                );
            }
        }
    }
    ok.then(|| EventFilter::of(types))
}

pub(crate) fn description(v: &mut Validator, raw: Option<&str>) -> Option<Option<Description>> {
    match raw {
        None => Some(None),
        Some(raw) => v.check("description", Description::parse(raw)).map(Some),
    }
}

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::OrgNotFound => Self::not_found("org"),
            WebhookError::NotFound => Self::not_found("webhook"),
            WebhookError::DeliveryNotFound => Self::not_found("delivery"),
            WebhookError::Invalid(field, error) => Self::field(field, error),
            WebhookError::Page(e) => e.into(),
            WebhookError::Conflict => Self::new(
                Code::Conflict,
                "The webhook endpoint kept changing while this request ran; retry it.",
            ),
            WebhookError::KmsUnavailable(message) => Self::kms_unavailable(&message),
            WebhookError::Undecryptable => {
                tracing::error!("a stored webhook secret does not open with its org's data key");
                Self::internal()
            }
            WebhookError::Unavailable(message) => Self::unavailable(&message),
        }
    }
}
