//! `GET /v1/orgs/{org}/tenants/{tenant}/export`: all of a tenant's data as
//! NDJSON (docs/api.md, export), one typed record a line, streamed.
//!
//! The domain walks the tenant a batch at a time ([`domain::TenantExport`]);
//! this module only turns each batch into lines and hands them to the
//! response body as they come, so neither side ever holds the whole export.
//! The body is pulled: a slow reader slows the walk, and no store connection
//! is held between batches. Each line reuses the API's own view of its
//! object (the same fields as the matching `GET`), with `type` added; key
//! views have no hash and no secret, and secret lines have no value.
//!
//! Errors before the first byte (unknown org or tenant, a deleted tenant,
//! a caller who may not export) are problems like anywhere else. An error
//! after it can no longer change the status: it is logged and the body is
//! cut, so the export lacks its final `end` line, which is how a reader
//! tells a cut export from a complete one.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::{ExportCounts, ExportRecord, ExportedSecret, Resource, TenantExport};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::AppState;
use crate::api_keys::ApiKeyView;
use crate::audit::{ActorView, AuditEventView};
use crate::auth::Caller;
use crate::domains::DomainLine;
use crate::extract::TenantPath;
use crate::library::{InstallView, ProvenanceView, raw_json};
use crate::members::MemberView;
use crate::namespaces::NamespaceView;
use crate::openapi::responses::NotFound;
use crate::problem::Problem;
use crate::tenants::AnyTenantView;

/// The media type of an export: one JSON document a line.
pub(crate) const NDJSON: &str = "application/x-ndjson";

/// Streams a tenant's data as NDJSON.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/export",
    operation_id = "exportTenant",
    tag = "tenants",
    params(TenantPath),
    responses(
        (status = 200, description = "The tenant's data, streamed: one JSON object a line, \
            each with a `type`: `tenant` first, then `namespace`, `api_key` (no secret, no \
            hash), `resource` (every version, with content), `install`, `secret` (name and \
            dates, never the value), `member`, `custom_domain` (the tenant's, if any, with its \
            token and status), `audit_event`, and last \
            `{\"type\":\"end\",\"counts\":{...}}`. An export without its `end` line was cut \
            and is incomplete. Works for active, suspended and deactivated tenants; a \
            deleted tenant is not found. Recorded as a `tenant.exported` audit event.",
            content_type = "application/x-ndjson", body = String),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn export(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<Response, Problem> {
    let export = state
        .tenancy
        .export_tenant(&ctx, &path.org, &path.tenant)
        .await?;
    let body = Body::from_stream(lines(export, state));
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    Ok(response)
}

/// The export as a stream of byte chunks, one a batch; an error ends it
/// with an error, which cuts the response.
fn lines(
    export: TenantExport,
    state: AppState,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some((export, state)), |running| async move {
        let (mut export, state) = running?;
        match export.next_batch().await {
            Ok(Some(batch)) => match write_batch(&state, batch) {
                Ok(chunk) => Some((Ok(chunk), Some((export, state)))),
                Err(e) => Some((Err(cut(export.tenant().id, &e)), None)),
            },
            Ok(None) => None,
            Err(e) => Some((Err(cut(export.tenant().id, &e)), None)),
        }
    })
}

/// Logs why an export stopped early (once: the stream ends with it) and
/// makes the error that cuts the body.
fn cut(tenant: domain::TenantId, e: &dyn std::fmt::Display) -> std::io::Error {
    tracing::error!(tenant = %tenant, error = %e, "tenant export cut before its end");
    std::io::Error::other("tenant export cut before its end")
}

/// One line per record, each ending in `\n`.
fn write_batch(state: &AppState, batch: Vec<ExportRecord>) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256 * batch.len());
    for record in batch {
        serde_json::to_writer(&mut out, &Line::new(state, record))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// One line of an export: the record's type, then its fields.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Tenant(AnyTenantView),
    Namespace(NamespaceView),
    ApiKey(ApiKeyView),
    Resource(ResourceLine),
    Install(InNamespace<InstallView>),
    Secret(SecretLine),
    Member(MemberView),
    CustomDomain(DomainLine),
    /// As the audit listing shows it, with its `seq` and `hash` in the org's
    /// tamper-evident chain.
    AuditEvent(AuditEventView),
    End {
        counts: CountsView,
    },
}

impl Line {
    fn new(state: &AppState, record: ExportRecord) -> Self {
        match record {
            ExportRecord::Tenant(t) => {
                Self::Tenant(AnyTenantView::new(t, state.base_domain.as_deref()))
            }
            ExportRecord::Namespace(ns) => Self::Namespace(ns.into()),
            ExportRecord::ApiKey(key) => Self::ApiKey(key.into()),
            ExportRecord::Resource(r) => Self::Resource(r.into()),
            ExportRecord::Install(i) => Self::Install(InNamespace {
                namespace_id: i.namespace_id.as_uuid(),
                view: i.into(),
            }),
            ExportRecord::Secret(s) => Self::Secret(s.into()),
            ExportRecord::Member(m) => Self::Member(m.into()),
            ExportRecord::CustomDomain(d) => Self::CustomDomain(d.into()),
            ExportRecord::AuditEvent(r) => Self::AuditEvent(r.into()),
            ExportRecord::End(counts) => Self::End {
                counts: counts.into(),
            },
        }
    }
}

/// A view of an object of a namespace, with the namespace's id, which the
/// API's own view leaves to the path.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InNamespace<V> {
    namespace_id: Uuid,
    #[serde(flatten)]
    view: V,
}

/// One version of a resource: the API's resource view, with its namespace
/// and author, and `resourceType` for the view's `type`, which names the line
/// here.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceLine {
    id: Uuid,
    namespace_id: Uuid,
    key: String,
    resource_type: String,
    version: String,
    content: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<ProvenanceView>,
    created_at: DateTime<Utc>,
    created_by: ActorView,
}

impl From<Resource> for ResourceLine {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id.as_uuid(),
            namespace_id: r.namespace_id.as_uuid(),
            key: r.key.to_string(),
            resource_type: r.resource_type.to_string(),
            version: r.version.to_string(),
            content: raw_json(&r.content),
            provenance: r.provenance.map(ProvenanceView::from),
            created_at: r.created_at,
            created_by: ActorView::from(&r.created_by),
        }
    }
}

/// A secret's name and dates: there is no field for its value.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretLine {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    updated_by: ActorView,
    version: u64,
}

impl From<ExportedSecret> for SecretLine {
    fn from(s: ExportedSecret) -> Self {
        Self {
            id: s.id,
            name: s.name.as_str().to_owned(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            updated_by: ActorView::from(&s.updated_by),
            version: s.version,
        }
    }
}

/// How many records of each type came before the `end` line, keyed by the
/// records' `type`.
#[derive(Serialize)]
struct CountsView {
    tenant: u64,
    namespace: u64,
    api_key: u64,
    resource: u64,
    install: u64,
    secret: u64,
    member: u64,
    custom_domain: u64,
    audit_event: u64,
}

impl From<ExportCounts> for CountsView {
    fn from(c: ExportCounts) -> Self {
        Self {
            tenant: c.tenants,
            namespace: c.namespaces,
            api_key: c.api_keys,
            resource: c.resources,
            install: c.installs,
            secret: c.secrets,
            member: c.members,
            custom_domain: c.custom_domains,
            audit_event: c.audit_events,
        }
    }
}
