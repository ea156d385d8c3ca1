//! `/v1/orgs/{org}/webhooks/{webhook}/deliveries` and `/recover`: the
//! delivery log, redelivery of one message and recovery of a time range.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use domain::webhook_delivery::{Attempt, Delivery, DeliveryId};
use domain::{OrgRef, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use super::WebhookPath;
use crate::AppState;
use crate::auth::Caller;
use crate::events::EventView;
use crate::extract::{Body, QueryParams, Segments, path_parameter};
use crate::openapi::responses::{BadRequest, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;

/// `/v1/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}`
#[derive(Debug)]
pub(crate) struct DeliveryPath {
    pub org: OrgRef,
    pub webhook: WebhookId,
    pub delivery: DeliveryId,
}

impl<S: Send + Sync> FromRequestParts<S> for DeliveryPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
            webhook: segments.get("webhook", |raw| {
                Uuid::parse_str(raw).map(WebhookId::from_uuid)
            })?,
            delivery: segments.get("delivery", |raw| {
                Uuid::parse_str(raw).map(DeliveryId::from_uuid)
            })?,
        })
    }
}

impl utoipa::IntoParams for DeliveryPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", "The org's key or id."),
            path_parameter("webhook", "The webhook endpoint's id."),
            path_parameter("delivery", "The delivery's id."),
        ]
    }
}

/// One attempt to deliver a message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeliveryAttempt)]
pub(crate) struct AttemptView {
    at: DateTime<Utc>,
    /// The HTTP status the receiver answered; `null` when it did not answer.
    #[schema(required = true)]
    status: Option<u16>,
    latency_ms: u64,
    /// The first KiB of the answer's body.
    #[schema(required = true)]
    excerpt: Option<String>,
    /// Why no answer came (timeout, connection refused, address refused).
    #[schema(required = true)]
    error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            at: a.at,
            status: a.status,
            latency_ms: a.latency_ms,
            excerpt: a.excerpt,
            error: a.error,
        }
    }
}

/// One message (an event for this endpoint) with every attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookDelivery)]
pub(crate) struct DeliveryView {
    id: Uuid,
    /// `pending`, `delivered` or `gave_up`.
    #[schema(example = "delivered")]
    state: &'static str,
    /// The event, exactly as delivered.
    event: EventView,
    queued_at: DateTime<Utc>,
    /// When the next attempt is due (for a pending message).
    next_attempt_at: DateTime<Utc>,
    /// Oldest first.
    attempts: Vec<AttemptView>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.as_uuid(),
            state: d.state.as_str(),
            event: EventView(d.event.payload()),
            queued_at: d.queued_at,
            next_attempt_at: d.next_attempt_at,
            attempts: d.attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}

/// A time range to deliver again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = RecoverRange)]
pub(crate) struct RecoverBody {
    /// Events that happened at or after this time...
    since: DateTime<Utc>,
    /// ...and before this one.
    until: DateTime<Utc>,
}

/// How many messages were queued again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Recovered)]
pub(crate) struct RecoveredView {
    queued: u64,
}

/// The endpoint's delivery log: its messages, newest first, with every attempt.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks/{webhook}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "events",
    params(WebhookPath, PageParams),
    responses(
        (status = 200, description = "A page of deliveries.", body = ListBody<DeliveryView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<DeliveryView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let deliveries = state
        .tenancy
        .list_deliveries(&ctx, &path.org, path.id, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(deliveries, DeliveryView::from)))
}

/// Delivers one message again, after the endpoint's pending ones.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks/{webhook}/deliveries/{delivery}/redeliver",
    operation_id = "redeliverWebhook",
    tag = "events",
    params(DeliveryPath),
    responses(
        (status = 202, description = "Queued again."),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: DeliveryPath,
) -> Result<StatusCode, Problem> {
    state
        .tenancy
        .redeliver_webhook(&ctx, &path.org, path.webhook, path.delivery)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Delivers again every event of `[since, until)` the endpoint receives,
/// whether or not it was delivered before (while disabled, say).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks/{webhook}/recover",
    operation_id = "recoverWebhook",
    tag = "events",
    params(WebhookPath),
    request_body = RecoverBody,
    responses(
        (status = 202, description = "Queued again.", body = RecoveredView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn recover(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
    Body(body): Body<RecoverBody>,
) -> Result<(StatusCode, Json<RecoveredView>), Problem> {
    let queued = state
        .tenancy
        .recover_webhook(&ctx, &path.org, path.id, body.since, body.until)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(RecoveredView { queued })))
}
