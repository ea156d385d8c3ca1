//! `GET /v1/regions`: where tenants can live. Public, so sign-up forms can offer it.

use axum::Json;
use axum::extract::State;
use domain::Region;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// A region of this deployment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Region)]
pub(crate) struct RegionView {
    #[schema(example = "eu-west-1")]
    code: String,
    #[schema(example = "Europe (Ireland)")]
    name: String,
    /// Whether new tenants may be placed there.
    available: bool,
}

impl From<&Region> for RegionView {
    fn from(region: &Region) -> Self {
        Self {
            code: region.code.to_string(),
            name: region.name.to_string(),
            available: region.available,
        }
    }
}

/// Every configured region.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RegionList)]
pub(crate) struct RegionsView {
    items: Vec<RegionView>,
}

/// Lists the regions, in configuration order.
#[utoipa::path(
    get,
    path = "/v1/regions",
    operation_id = "listRegions",
    tag = "regions",
    responses((status = 200, description = "Every region.", body = RegionsView))
)]
pub(crate) async fn list(State(state): State<AppState>) -> Json<RegionsView> {
    let items = state
        .tenancy
        .settings()
        .regions
        .all()
        .iter()
        .map(RegionView::from)
        .collect();
    Json(RegionsView { items })
}
