//! `GET /v1/orgs/{org}/audit-events`: an org's audit trail, narrowed by tenant,
//! action, actor and time, each event with its link in the org's hash chain.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::{Actor, AuditAction, AuditDetails, AuditFilter, AuditLink, Change, TenantRef};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, NotFound};
use crate::page::{ListBody, PageRequest, page_parameters, query_parameter};
use crate::problem::Problem;

/// Who acted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Actor)]
pub(crate) struct ActorView {
    /// `platform_admin`, `org_key`, `namespace_key` or `system`.
    #[schema(example = "platform_admin")]
    pub kind: &'static str,
    /// The principal: `admin` for the platform token, a key id, or a job name.
    #[schema(example = "admin")]
    pub id: String,
}

impl From<&Actor> for ActorView {
    fn from(actor: &Actor) -> Self {
        Self {
            kind: actor.kind.as_str(),
            id: actor.id.clone(),
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditEvent)]
pub(crate) struct AuditEventView {
    id: Uuid,
    /// The event's number in its org's hash chain: 1, 2, 3… in the order
    /// written, with no gaps.
    #[schema(example = 42)]
    seq: u64,
    /// SHA-256 of the previous event's `hash` and this event's canonical form,
    /// lowercase hex (`GET .../audit-events/verify` recomputes it).
    hash: String,
    at: DateTime<Utc>,
    actor: ActorView,
    /// What happened, e.g. `tenant.suspended`.
    #[schema(example = "tenant.suspended")]
    action: &'static str,
    target: TargetView,
    org_id: Uuid,
    #[schema(required = true)]
    tenant_id: Option<Uuid>,
    /// The `x-request-id` of the request that made the change.
    #[schema(required = true)]
    request_id: Option<String>,
    /// The reason given for a lifecycle transition. `null` as well when
    /// `redacted`.
    #[schema(required = true)]
    reason: Option<String>,
    /// The fields changed; empty when `redacted`.
    changes: Vec<ChangeView>,
    /// `true` when `reason` and `changes` can no longer be read: they were
    /// sealed with the tenant's data key, destroyed when the tenant was
    /// deleted (crypto-shredding). The event itself (ids, action, actor, time)
    /// is kept.
    #[schema(example = false)]
    redacted: bool,
}

/// What an event is about.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditTarget)]
pub(crate) struct TargetView {
    /// `org`, `tenant`, `namespace` or `api_key`.
    #[serde(rename = "type")]
    #[schema(example = "tenant")]
    kind: &'static str,
    id: Uuid,
}

/// One field's change; `null` means absent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditChange)]
pub(crate) struct ChangeView {
    field: &'static str,
    #[schema(required = true)]
    from: Option<String>,
    #[schema(required = true)]
    to: Option<String>,
}

impl From<AuditLink> for AuditEventView {
    fn from(link: AuditLink) -> Self {
        let r = link.record;
        Self {
            id: r.id.as_uuid(),
            seq: link.seq,
            hash: link.hash.to_hex(),
            at: r.at,
            actor: ActorView::from(&r.actor),
            action: r.action.as_str(),
            target: TargetView {
                kind: r.target_kind.as_str(),
                id: r.target_id,
            },
            org_id: r.org_id.as_uuid(),
            tenant_id: r.tenant_id.map(|t| t.as_uuid()),
            request_id: r.request_id,
            reason: r.details.reason().map(|r| r.as_str().to_owned()),
            changes: r
                .details
                .changes()
                .iter()
                .cloned()
                .map(ChangeView::from)
                .collect(),
            redacted: matches!(r.details, AuditDetails::Shredded | AuditDetails::Sealed(_)),
        }
    }
}

impl From<Change> for ChangeView {
    fn from(c: Change) -> Self {
        Self {
            field: c.field,
            from: c.from,
            to: c.to,
        }
    }
}

/// Documents the audit listing's query string.
#[derive(Debug)]
pub(crate) enum AuditParams {}

impl utoipa::IntoParams for AuditParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![
            query_parameter("tenant", "Only this tenant's events (key or id)."),
            query_parameter(
                "action",
                "Only events of this action, e.g. `tenant.suspended`.",
            ),
            query_parameter(
                "actor",
                "Only events by this principal id (`admin`, a key id or a job name).",
            ),
            query_parameter("since", "Only events at or after this time (RFC 3339)."),
            query_parameter("until", "Only events strictly before this time (RFC 3339)."),
        ];
        params.extend(page_parameters());
        params
    }
}

/// The org's audit events in the order they were written, narrowed by the
/// filters given (all of them must match).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/audit-events",
    operation_id = "listAuditEvents",
    tag = "audit",
    params(OrgPath, AuditParams),
    responses(
        (status = 200, description = "A page of events, oldest first.", body = ListBody<AuditEventView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<AuditEventView>>, Problem> {
    let tenant = query.take("tenant");
    let filter = AuditFilter {
        tenant: None,
        action: query.parse("action", |raw| {
            AuditAction::parse(raw).ok_or("is not an audit action")
        }),
        actor: query.take("actor"),
        since: query.parse("since", time),
        until: query.parse("until", time),
    };
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let tenant = match tenant {
        Some(raw) => Some(TenantRef::parse(&raw).map_err(|_| Problem::not_found("tenant"))?),
        None => None,
    };
    let events = state
        .tenancy
        .list_audit_events(
            &ctx,
            &path.org,
            tenant.as_ref(),
            filter,
            page.cursor.as_ref(),
            page.limit,
        )
        .await?;
    Ok(Json(ListBody::from_page(events, AuditEventView::from)))
}

/// An RFC 3339 time with its offset, e.g. `2026-01-01T00:00:00Z`.
fn time(raw: &str) -> Result<DateTime<Utc>, &'static str> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z")
}
