//! `GET /v1/orgs/{org}/events`: the pull feed. Each item is exactly the body a
//! webhook delivers (`domain::Event::payload`, one serializer for both).

use axum::Json;
use axum::extract::State;
use domain::{Cursor, EventFilter, EventType};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, NotFound};
use crate::page::{ListBody, PageRequest, page_parameters, query_parameter};
use crate::problem::Problem;

/// One event as `domain::Event::payload` writes it (so no derive: the
/// schema below documents that JSON).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct EventView(pub Value);

impl utoipa::ToSchema for EventView {
    fn name() -> std::borrow::Cow<'static, str> {
        "Event".into()
    }
}

impl utoipa::PartialSchema for EventView {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let pair = |first: &str, first_doc: &str| {
            ObjectBuilder::new()
                .property(first, text(first_doc))
                .property("id", text("Its id."))
                .required(first)
                .required("id")
        };
        let data = ObjectBuilder::new()
            .property("orgId", text("The org's id."))
            .property("tenantId", text("The tenant's id; absent for org-level events."))
            .property("target", pair("type", "What the event is about: `tenant`, `namespace`, `api_key`, `listing`, `webhook_endpoint`."))
            .property("actor", pair("kind", "`platform_admin`, `org_key`, `namespace_key` or `system`."))
            .property("requestId", text("The `x-request-id` of the request that made the change; null for background jobs.").schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])))
            .required("orgId")
            .required("target")
            .required("actor")
            .required("requestId");
        ObjectBuilder::new()
            .description(Some(
                "One event, Standard Webhooks style. Ids only: never a name, a reason or a \
                 secret. The same JSON is the body of every webhook delivery.",
            ))
            .property(
                "id",
                text("The event's id (the id of its audit event); receivers deduplicate by it."),
            )
            .property("type", text("What happened, e.g. `tenant.suspended`."))
            .property(
                "timestamp",
                text("When it happened: RFC 3339, milliseconds, UTC."),
            )
            .property("data", data)
            .required("id")
            .required("type")
            .required("timestamp")
            .required("data")
            .into()
    }
}

/// Parses a comma-separated list of event types; empty: every type.
pub(crate) fn parse_types(raw: &str) -> Result<Vec<EventType>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            EventType::parse(t).ok_or_else(|| {
                format!(
                    "`{t}` is not an event type; known: {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                )
            })
        })
        .collect()
}

/// Documents the feed's query string.
#[derive(Debug)]
pub(crate) enum EventParams {}

impl utoipa::IntoParams for EventParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![
            query_parameter(
                "after",
                "The `nextCursor` of the previous page (same as `cursor`).",
            ),
            query_parameter(
                "type",
                "Only these event types, comma-separated (e.g. `tenant.suspended,api_key.revoked`).",
            ),
        ];
        params.extend(page_parameters());
        params
    }
}

/// The org's events of the last 30 days in the order they happened.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/events",
    operation_id = "listEvents",
    tag = "events",
    params(OrgPath, EventParams),
    responses(
        (status = 200, description = "A page of events, oldest first.", body = ListBody<EventView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<EventView>>, Problem> {
    let after = query.take("after").map(Cursor::from_raw);
    let types = query.parse("type", parse_types).unwrap_or_default();
    let mut page = PageRequest::take(&mut query);
    if after.is_some() && page.cursor.is_some() {
        query.add_error("after", "give `after` or `cursor`, not both");
    }
    query.finish()?;
    let cursor = after.or(page.cursor.take());
    let events = state
        .tenancy
        .list_events(
            &ctx,
            &path.org,
            &EventFilter::of(types),
            cursor.as_ref(),
            page.limit,
        )
        .await?;
    Ok(Json(ListBody::from_page(events, |e| {
        EventView(e.payload())
    })))
}
