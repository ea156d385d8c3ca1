//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (it
//! can serve traffic). Neither needs a token.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Health)]
pub(crate) struct HealthView {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "checkHealth",
    tag = "health",
    responses((status = 200, description = "Alive.", body = HealthView,
        example = json!({"status": "ok"})))
)]
pub(crate) async fn healthz() -> Json<HealthView> {
    Json(HealthView { status: "ok" })
}

/// Readiness: the server accepts requests. The domain has no storage probe yet,
/// so this answers as soon as the router runs.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "checkReadiness",
    tag = "health",
    responses((status = 200, description = "Ready.", body = HealthView,
        example = json!({"status": "ready"})))
)]
pub(crate) async fn readyz() -> Json<HealthView> {
    Json(HealthView { status: "ready" })
}
