//! The tenant inventory: the platform's (`/v1/tenants`) and an org's, with their
//! filters, sort orders and documented query strings.

use axum::Json;
use axum::extract::State;
use domain::{OrgRef, Plan, RegionCode, TenantFilter, TenantSort, TenantStatus};
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, NotFound, SearchTooBroad, TooManyRequests};
use crate::page::{ListBody, PageRequest, page_parameters, query_parameter};
use crate::problem::Problem;

use super::AnyTenantView;

/// The inventory filters, as taken from a query string.
struct Inventory {
    filter: TenantFilter,
    sort: TenantSort,
    page: PageRequest,
}

const STATUS_VALUES: &str = "must be one of active, suspended, deactivated, deleted";
const SORT_VALUES: &str = "must be one of createdAt, -createdAt, name, -name";

impl Inventory {
    fn take(query: &mut QueryParams) -> Self {
        let text = query.take("q");
        let status = query.parse("status", |raw| {
            TenantStatus::parse(raw).ok_or(STATUS_VALUES)
        });
        let region = query.parse("region", RegionCode::parse);
        let plan = query.parse("plan", Plan::parse);
        let sort = query
            .parse("sort", |raw| TenantSort::parse(raw).ok_or(SORT_VALUES))
            .unwrap_or_default();
        let mut metadata = Vec::new();
        for (key, value) in query.take_prefixed("metadata.") {
            if key.is_empty() {
                query.add_error("metadata.", "needs a key, as in metadata.tier=gold");
            } else {
                metadata.push((key, value));
            }
        }
        let page = PageRequest::take(query);
        let filter = TenantFilter {
            org: None,
            text,
            status,
            region,
            plan,
            metadata,
        };
        Self { filter, sort, page }
    }
}

fn inventory_parameters() -> Vec<Parameter> {
    let mut params = vec![
        query_parameter(
            "q",
            "Search: an exact tenant id, or a case-insensitive part of the name or key, \
             3 to 200 characters.",
        ),
        query_parameter(
            "status",
            "`active`, `suspended`, `deactivated` or `deleted`. Without it, every \
             status but `deleted` (tombstones show only when asked for).",
        ),
        query_parameter("region", "Only tenants in this region."),
        query_parameter("plan", "Only tenants on this plan."),
        query_parameter(
            "sort",
            "`createdAt` (the default), `-createdAt`, `name` or `-name`.",
        ),
    ];
    params.extend(page_parameters());
    params
}

/// Documents an org's inventory query string.
#[derive(Debug)]
pub(crate) enum InventoryParams {}

impl utoipa::IntoParams for InventoryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        inventory_parameters()
    }
}

/// Documents the platform inventory's query string.
#[derive(Debug)]
pub(crate) enum PlatformInventoryParams {}

impl utoipa::IntoParams for PlatformInventoryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = vec![query_parameter(
            "org",
            "Only this org's tenants (key or id); an unknown org gives an empty page.",
        )];
        params.extend(inventory_parameters());
        params
    }
}

/// The platform's tenant inventory.
///
/// Also filters on metadata with `metadata.<key>=<value>` (repeatable; every pair
/// must match). Pages are keyset-paginated: tenants added while paging never make
/// a page skip or repeat one.
#[utoipa::path(
    get,
    path = "/v1/tenants",
    operation_id = "listTenants",
    tag = "tenants",
    params(PlatformInventoryParams),
    responses(
        (status = 200, description = "A page of tenants and tombstones.", body = ListBody<AnyTenantView>),
        (status = 400, response = BadRequest),
        (status = 422, response = SearchTooBroad),
        (status = 429, response = TooManyRequests),
    )
)]
pub(crate) async fn inventory(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    mut query: QueryParams,
) -> Result<Json<ListBody<AnyTenantView>>, Problem> {
    let org = query.take("org");
    let mut inventory = Inventory::take(&mut query);
    query.finish()?;
    if let Some(raw) = org {
        // A filter, not a resource in the path: an org that does not exist has no
        // tenants, and that is an empty page rather than a 404.
        let Ok(org) = OrgRef::parse(&raw) else {
            return Ok(Json(ListBody::empty()));
        };
        match state.tenancy.get_org(&ctx, &org).await {
            Ok(org) => inventory.filter.org = Some(org.id),
            Err(domain::OrgError::NotFound) => return Ok(Json(ListBody::empty())),
            Err(e) => return Err(e.into()),
        }
    }
    list(&state, &ctx, None, inventory).await
}

/// An org's tenants, with the inventory's filters.
///
/// Also filters on metadata with `metadata.<key>=<value>` (repeatable).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants",
    operation_id = "listOrgTenants",
    tag = "tenants",
    params(OrgPath, InventoryParams),
    responses(
        (status = 200, description = "A page of tenants and tombstones.", body = ListBody<AnyTenantView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = SearchTooBroad),
        (status = 429, response = TooManyRequests),
    )
)]
pub(crate) async fn org_inventory(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<ListBody<AnyTenantView>>, Problem> {
    let inventory = Inventory::take(&mut query);
    query.finish()?;
    list(&state, &ctx, Some(&path.org), inventory).await
}

async fn list(
    state: &AppState,
    ctx: &domain::Context,
    org: Option<&OrgRef>,
    inventory: Inventory,
) -> Result<Json<ListBody<AnyTenantView>>, Problem> {
    let page = state
        .tenancy
        .list_tenants(
            ctx,
            org,
            inventory.filter,
            inventory.sort,
            inventory.page.cursor.as_ref(),
            inventory.page.limit,
        )
        .await?;
    Ok(Json(ListBody::from_page(page, |t| state.tenant_view(t))))
}
