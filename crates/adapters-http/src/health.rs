//! Probes for orchestrators: `/healthz` (the process answers) and `/readyz` (it
//! can serve traffic). Neither needs a token.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::{Code, Problem};

/// What `/readyz` asks before answering: whether the dependencies the server
/// needs (its database) can be reached right now. It is called on every probe,
/// so it should answer quickly and bound its own wait.
#[async_trait::async_trait]
pub trait Readiness: Send + Sync + 'static {
    async fn ready(&self) -> bool;
}

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

/// Readiness: the server can serve traffic. With a readiness probe configured
/// (the server's database), `not_ready` while the probe fails; without one, ready
/// as soon as the router runs.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "checkReadiness",
    tag = "health",
    responses(
        (status = 200, description = "Ready.", body = HealthView,
            example = json!({"status": "ready"})),
        (status = 503, response = crate::openapi::responses::NotReady),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if let Some(readiness) = &state.readiness {
        if !readiness.ready().await {
            return Problem::new(
                Code::NotReady,
                "A dependency of the server (its database) cannot be reached; retry shortly.",
            )
            .into_response();
        }
    }
    Json(HealthView { status: "ready" }).into_response()
}
