//! `/v1/orgs/{org}/webhooks`: an org's webhook endpoints, for the platform
//! admin and the org's keys. Secrets appear in the answers that create or
//! rotate them, and nowhere else.

pub(crate) mod deliveries;
mod views;

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderName, StatusCode};
use domain::{GracePeriod, NewWebhook, WebhookPatch, WebhookWithSecret};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{Body, MergePatch, OptionalBody, OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::Validator;
pub(crate) use views::{
    NewWebhookBody, RotateSecretBody, WebhookPatchBody, WebhookPath, WebhookView, WithSecretView,
};

fn with_secret(created: WebhookWithSecret) -> WithSecretView {
    WithSecretView {
        secret: created.secret.expose().to_owned(),
        webhook: WebhookView::from(created.endpoint),
    }
}

/// Registers a webhook endpoint. The answer holds its signing secret, once.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks",
    operation_id = "createWebhook",
    tag = "events",
    params(OrgPath),
    request_body = NewWebhookBody,
    responses(
        (status = 201, description = "Created; `secret` is shown this once.", body = WithSecretView,
            headers(("Location" = String, description = "The endpoint's URL."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    Body(body): Body<NewWebhookBody>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<WithSecretView>), Problem> {
    let mut v = Validator::body();
    let description = views::description(&mut v, body.description.as_deref());
    let event_types =
        views::event_filter(&mut v, "eventTypes", &body.event_types.unwrap_or_default());
    let (Some(description), Some(event_types)) = (description, event_types) else {
        return Err(v.into_problem());
    };
    let new = NewWebhook {
        url: body.url,
        description,
        event_types,
        enabled: body.enabled.unwrap_or(true),
    };
    let created = state.tenancy.create_webhook(&ctx, &path.org, new).await?;
    let location = format!(
        "/v1/orgs/{}/webhooks/{}",
        created.endpoint.org_id, created.endpoint.id
    );
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(with_secret(created)),
    ))
}

/// Lists the org's webhook endpoints, oldest first.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks",
    operation_id = "listWebhooks",
    tag = "events",
    params(OrgPath, PageParams),
    responses(
        (status = 200, description = "A page of endpoints.", body = ListBody<WebhookView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<WebhookView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let endpoints = state
        .tenancy
        .list_webhooks(&ctx, &path.org, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(endpoints, WebhookView::from)))
}

/// Reads a webhook endpoint (never its secret).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/webhooks/{webhook}",
    operation_id = "getWebhook",
    tag = "events",
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
) -> Result<Json<WebhookView>, Problem> {
    let endpoint = state.tenancy.get_webhook(&ctx, &path.org, path.id).await?;
    Ok(Json(WebhookView::from(endpoint)))
}

/// Changes an endpoint's URL, description, event types or whether it is enabled.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/webhooks/{webhook}",
    operation_id = "updateWebhook",
    tag = "events",
    params(WebhookPath),
    request_body(content(
        (WebhookPatchBody = "application/merge-patch+json"),
        (WebhookPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The endpoint after the change.", body = WebhookView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
    MergePatch(body): MergePatch<WebhookPatchBody>,
) -> Result<Json<WebhookView>, Problem> {
    let mut v = Validator::body();
    let url = v.patch("url", body.url, |u| Ok::<_, &str>(u.to_owned()));
    let enabled = v.not_null("enabled", body.enabled);
    let description = match body.description {
        None => Some(None),
        Some(raw) => views::description(&mut v, raw.as_deref()).map(Some),
    };
    let event_types = match body.event_types {
        None => Some(None),
        Some(names) => {
            views::event_filter(&mut v, "eventTypes", &names.unwrap_or_default()).map(Some)
        }
    };
    let (Some(url), Some(enabled), Some(description), Some(event_types)) =
        (url, enabled, description, event_types)
    else {
        return Err(v.into_problem());
    };
    let patch = WebhookPatch {
        url,
        description,
        event_types,
        enabled,
    };
    let endpoint = state
        .tenancy
        .update_webhook(&ctx, &path.org, path.id, patch)
        .await?;
    Ok(Json(WebhookView::from(endpoint)))
}

/// Deletes an endpoint; nothing more is delivered to it.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/webhooks/{webhook}",
    operation_id = "deleteWebhook",
    tag = "events",
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
) -> Result<StatusCode, Problem> {
    state
        .tenancy
        .delete_webhook(&ctx, &path.org, path.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the signing secret. The replaced one keeps signing (both
/// signatures are sent) for `graceSeconds`, 24 hours unless given.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/webhooks/{webhook}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "events",
    params(WebhookPath),
    request_body(content = Option<RotateSecretBody>, description = "May be left out: a 24-hour grace period."),
    responses(
        (status = 200, description = "The endpoint; `secret` is the new one, shown this once.", body = WithSecretView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: WebhookPath,
    OptionalBody(body): OptionalBody<RotateSecretBody>,
) -> Result<Json<WithSecretView>, Problem> {
    let grace = match body.grace_seconds {
        None => GracePeriod::default(),
        Some(seconds) => {
            GracePeriod::seconds(seconds).map_err(|e| Problem::field("graceSeconds", e))?
        }
    };
    let rotated = state
        .tenancy
        .rotate_webhook_secret(&ctx, &path.org, path.id, grace)
        .await?;
    Ok(Json(with_secret(rotated)))
}
