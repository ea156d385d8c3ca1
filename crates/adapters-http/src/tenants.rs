//! Tenants: provisioning, the inventory (`/v1/tenants` and per org), reading and
//! patching, owner reassignment and the lifecycle (suspend, reactivate, deactivate,
//! restore, delete).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::{
    Email, LifecycleAction, Metadata, Name, OrgRef, Owner, Plan, ProvisionTenant, Provisioned,
    Reason, RegionCode, StoredResponse, Tenant, TenantFilter, TenantKey, TenantPatch, TenantSort,
    TenantStatus, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};
use uuid::Uuid;

use crate::AppState;
use crate::api_keys::{ApiKeyView, Secret};
use crate::audit::ActorView;
use crate::auth::Caller;
use crate::extract::{
    Body, IdempotencyHeader, JsonBytes, MergePatch, OrgPath, QueryParams, TenantPath, parse_json,
};
use crate::idempotency::{self, RequestParts};
use crate::namespaces::{NamespaceView, NewNamespaceBody};
use crate::openapi::responses::{
    BadRequest, Conflict, Forbidden, IdempotencyKeyReused, NotFound, SearchTooBroad,
    TooManyRequests,
};
use crate::page::{ListBody, PageRequest, page_parameters, query_parameter};
use crate::problem::Problem;
use crate::validate::{Validator, present};

/// Where a tenant is in its lifecycle.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = TenantStatus)]
pub(crate) enum StatusView {
    Active,
    Suspended,
    Deactivated,
    Deleted,
}

impl From<TenantStatus> for StatusView {
    fn from(status: TenantStatus) -> Self {
        match status {
            TenantStatus::Active => Self::Active,
            TenantStatus::Suspended => Self::Suspended,
            TenantStatus::Deactivated => Self::Deactivated,
            TenantStatus::Deleted => Self::Deleted,
        }
    }
}

/// A tenant's owner: a reference into the SaaS builder's identity system.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with userId and email"
)]
#[schema(as = Owner)]
pub(crate) struct OwnerBody {
    #[schema(example = "user_123")]
    user_id: String,
    #[schema(example = "ops@acme.example")]
    email: String,
}

impl OwnerBody {
    fn validate(&self, v: &mut Validator, prefix: &str) -> Option<Owner> {
        let user_id = v.check(format!("{prefix}userId"), UserId::parse(&self.user_id));
        let email = v.check(format!("{prefix}email"), Email::parse(&self.email));
        Some(Owner {
            user_id: user_id?,
            email: email?,
        })
    }
}

impl From<&Owner> for OwnerBody {
    fn from(owner: &Owner) -> Self {
        Self {
            user_id: owner.user_id.as_str().to_owned(),
            email: owner.email.as_str().to_owned(),
        }
    }
}

/// A tenant that exists (any status but `deleted`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Tenant)]
pub(crate) struct TenantView {
    id: Uuid,
    org_id: Uuid,
    /// Unique on the platform; also the tenant's subdomain.
    #[schema(example = "acme")]
    key: String,
    #[schema(example = "Acme Corp")]
    name: String,
    #[schema(example = "free")]
    plan: String,
    /// Fixed at provisioning.
    #[schema(example = "global")]
    region: String,
    status: StatusView,
    #[schema(required = true)]
    owner: Option<OwnerBody>,
    metadata: BTreeMap<String, String>,
    /// `{key}.{base domain}` when the deployment has a base domain.
    #[schema(example = "acme.tenancy.example", required = true)]
    subdomain: Option<String>,
    status_changed_at: DateTime<Utc>,
    status_changed_by: ActorView,
    /// Why the last transition happened; `null` right after provisioning.
    #[schema(required = true)]
    status_reason: Option<String>,
    /// When a deactivated tenant will be deleted unless restored.
    #[schema(required = true)]
    retention_ends_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What remains of a deleted tenant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TenantTombstone)]
pub(crate) struct TombstoneView {
    id: Uuid,
    org_id: Uuid,
    key: String,
    /// Always `deleted`.
    status: StatusView,
    deleted_at: DateTime<Utc>,
    deleted_by: ActorView,
}

/// A tenant, or its tombstone once deleted.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = TenantOrTombstone)]
pub(crate) enum AnyTenantView {
    // Boxed: tombstones are much smaller than live tenants.
    Tenant(Box<TenantView>),
    Tombstone(TombstoneView),
}

impl AnyTenantView {
    fn new(tenant: Tenant, base_domain: Option<&str>) -> Self {
        let status = tenant.lifecycle.status;
        if status == TenantStatus::Deleted {
            return Self::Tombstone(TombstoneView {
                id: tenant.id.as_uuid(),
                org_id: tenant.org_id.as_uuid(),
                key: tenant.key.to_string(),
                status: status.into(),
                deleted_at: tenant.lifecycle.changed_at,
                deleted_by: ActorView::from(&tenant.lifecycle.changed_by),
            });
        }
        Self::Tenant(Box::new(TenantView {
            id: tenant.id.as_uuid(),
            org_id: tenant.org_id.as_uuid(),
            subdomain: base_domain.map(|domain| format!("{}.{domain}", tenant.key)),
            key: tenant.key.to_string(),
            name: tenant.name.to_string(),
            plan: tenant.plan.to_string(),
            region: tenant.region.to_string(),
            status: status.into(),
            owner: tenant.owner.as_ref().map(OwnerBody::from),
            metadata: tenant
                .metadata
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            status_changed_at: tenant.lifecycle.changed_at,
            status_changed_by: ActorView::from(&tenant.lifecycle.changed_by),
            status_reason: tenant.lifecycle.reason.map(|r| r.as_str().to_owned()),
            retention_ends_at: tenant.lifecycle.retention_ends_at,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }))
    }
}

impl AppState {
    fn tenant_view(&self, tenant: Tenant) -> AnyTenantView {
        AnyTenantView::new(tenant, self.base_domain.as_deref())
    }
}

/// A tenant to provision, with its first namespaces.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = ProvisionTenant)]
pub(crate) struct ProvisionBody {
    /// 3–63 characters of `a-z`, `0-9` and `-`, unique on the platform, not reserved
    /// (`www`, `admin`, ...). Provisioning is idempotent on it.
    #[schema(example = "acme")]
    key: String,
    #[schema(example = "Acme Corp")]
    name: String,
    /// `free` unless given.
    plan: Option<String>,
    /// The first available region unless given (see `GET /v1/regions`).
    region: Option<String>,
    owner: Option<OwnerBody>,
    /// Free key-value strings (at most 64 keys, 4 KiB).
    metadata: Option<BTreeMap<String, String>>,
    /// One live namespace `{key}-live` unless given; at most 50.
    #[schema(max_items = 50)]
    namespaces: Option<Vec<NewNamespaceBody>>,
}

impl ProvisionBody {
    fn validate(self) -> Result<ProvisionTenant, Problem> {
        let mut v = Validator::body();
        let key = v.check("key", TenantKey::parse(&self.key));
        let name = v.check("name", Name::parse(&self.name));
        let plan = v.check("plan", self.plan.as_deref().map(Plan::parse).transpose());
        let region = v.check(
            "region",
            self.region.as_deref().map(RegionCode::parse).transpose(),
        );
        let owner = match &self.owner {
            Some(owner) => owner.validate(&mut v, "owner.").map(Some),
            None => Some(None),
        };
        let metadata = v.check("metadata", Metadata::new(self.metadata.unwrap_or_default()));
        let namespaces = self.namespaces.unwrap_or_default();
        let within_bound = v.check(
            "namespaces",
            domain::check_list_len(namespaces.len(), ProvisionTenant::MAX_NAMESPACES),
        );
        // Past the bound, the namespaces themselves are not even looked at.
        let namespaces: Option<Vec<_>> = within_bound.and_then(|()| {
            namespaces
                .into_iter()
                .enumerate()
                // Collect first: every namespace is checked, not just up to the first error.
                .map(|(i, ns)| ns.validate(&mut v, &format!("namespaces[{i}].")))
                .collect::<Vec<_>>()
                .into_iter()
                .collect()
        });
        let (
            Some(key),
            Some(name),
            Some(plan),
            Some(region),
            Some(owner),
            Some(metadata),
            Some(namespaces),
        ) = (key, name, plan, region, owner, metadata, namespaces)
        else {
            return Err(v.into_problem());
        };
        Ok(ProvisionTenant {
            key,
            name,
            plan,
            region,
            owner,
            metadata,
            namespaces,
        })
    }
}

/// A provisioned tenant and its namespaces; when just created, also the first
/// namespace's admin key and its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Provisioned)]
pub(crate) struct ProvisionedView {
    tenant: AnyTenantView,
    namespaces: Vec<NamespaceView>,
    /// The first namespace's first key (role `admin`). Only in the response that
    /// created the tenant: a replay mints no key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    api_key: Option<ApiKeyView>,
    /// The first key's secret, shown in this response only; absent on a replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false)]
    secret: Option<Secret>,
}

/// Provisions a tenant, idempotently on its key.
///
/// A new tenant comes with an admin key for its first namespace, whose secret is
/// in this response and nowhere else. The same key with the same specification
/// answers `200` with the existing tenant and no key; with another
/// specification, `409 conflict`. Concurrent identical requests create exactly
/// one tenant. With an `Idempotency-Key`, a retry gets the first response
/// again, byte for byte, secret included, for 24 hours, unless the tenant is
/// deleted meanwhile: its deletion deletes the stored response, and a retry
/// then runs as a new request.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants",
    operation_id = "provisionTenant",
    tag = "tenants",
    params(OrgPath, IdempotencyHeader),
    request_body = ProvisionBody,
    responses(
        (status = 201, description = "Provisioned, with the first key's secret shown this once \
            (and again, byte for byte, to a retry with the same `Idempotency-Key`).",
            body = ProvisionedView,
            headers(
                ("Location" = String, description = "The tenant's URL."),
                ("Idempotent-Replayed" = String, description = "`true` on a replay of a stored response."),
            )),
        (status = 200, description = "Already provisioned with this specification.", body = ProvisionedView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = IdempotencyKeyReused),
    )
)]
pub(crate) async fn provision(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    IdempotencyHeader(key): IdempotencyHeader,
    uri: Uri,
    JsonBytes(bytes): JsonBytes,
) -> Result<Response, Problem> {
    let body: ProvisionBody = parse_json(&bytes)?;
    let request = body.validate()?;
    let parts = RequestParts::json("POST", uri.path(), &bytes)?;
    idempotency::run(&state, &ctx, &path.org, key, parts, || async {
        let provisioned = state.tenancy.provision(&ctx, &path.org, request).await?;
        let about = Some(provisioned.tenant.id);
        let response = provisioned_response(&state, provisioned)?;
        Ok(idempotency::Answer { response, about })
    })
    .await
}

/// The response to a provisioning, as the bytes that go out (and are stored
/// for replays).
fn provisioned_response(
    state: &AppState,
    provisioned: Provisioned,
) -> Result<StoredResponse, Problem> {
    let tenant = &provisioned.tenant;
    let location = format!("/v1/orgs/{}/tenants/{}", tenant.org_id, tenant.id);
    let status = if provisioned.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let (api_key, secret) = match provisioned.api_key {
        Some(issued) => (
            Some(ApiKeyView::from(issued.key)),
            Some(Secret::of(&issued.secret)),
        ),
        None => (None, None),
    };
    let view = ProvisionedView {
        tenant: state.tenant_view(provisioned.tenant),
        namespaces: provisioned
            .namespaces
            .into_iter()
            .map(NamespaceView::from)
            .collect(),
        api_key,
        secret,
    };
    idempotency::json(status, &[(LOCATION, location)], &view)
}

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

/// Reads a tenant (a tombstone once deleted).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "getTenant",
    tag = "tenants",
    params(TenantPath),
    responses(
        (status = 200, description = "The tenant.", body = AnyTenantView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
) -> Result<Json<AnyTenantView>, Problem> {
    let tenant = state
        .tenancy
        .get_tenant(&ctx, &path.org, &path.tenant)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Changes to a tenant (JSON merge-patch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = TenantPatch)]
pub(crate) struct TenantPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    plan: Option<Option<String>>,
    /// Keys to set; a `null` value removes the key.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    metadata: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// Changes a tenant's name, plan or metadata.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "updateTenant",
    tag = "tenants",
    params(TenantPath),
    request_body(content(
        (TenantPatchBody = "application/merge-patch+json"),
        (TenantPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The tenant after the change.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    MergePatch(body): MergePatch<TenantPatchBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let name = v.patch("name", body.name, Name::parse);
    let plan = v.patch("plan", body.plan, Plan::parse);
    let metadata = match body.metadata {
        None => Some(BTreeMap::new()),
        Some(None) => {
            v.add(
                "metadata",
                "cannot be null; set a key to null to remove that key",
            );
            None
        }
        Some(Some(patch)) => Some(patch),
    };
    let (Some(name), Some(plan), Some(metadata)) = (name, plan, metadata) else {
        return Err(v.into_problem());
    };
    let patch = TenantPatch {
        name,
        plan,
        metadata,
    };
    let tenant = state
        .tenancy
        .update_tenant(&ctx, &path.org, &path.tenant, patch)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Assigns the tenant's owner.
#[utoipa::path(
    put,
    path = "/v1/orgs/{org}/tenants/{tenant}/owner",
    operation_id = "setTenantOwner",
    tag = "tenants",
    params(TenantPath),
    request_body = OwnerBody,
    responses(
        (status = 200, description = "The tenant with its new owner.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn set_owner(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<OwnerBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let Some(owner) = body.validate(&mut v, "") else {
        return Err(v.into_problem());
    };
    let tenant = state
        .tenancy
        .set_owner(&ctx, &path.org, &path.tenant, owner)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// The calling namespace key's tenant.
#[utoipa::path(
    get,
    path = "/v1/tenant",
    operation_id = "getOwnTenant",
    tag = "namespace-key",
    responses(
        (status = 200, description = "The tenant the key belongs to.", body = AnyTenantView),
    )
)]
pub(crate) async fn own(
    State(state): State<AppState>,
    Caller(ctx): Caller,
) -> Result<Json<AnyTenantView>, Problem> {
    let tenant = state.tenancy.own_tenant(&ctx).await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Why a lifecycle transition happens.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = Transition)]
pub(crate) struct TransitionBody {
    /// 1–500 characters; kept in the tenant's status and the audit trail.
    #[schema(example = "billing failure")]
    reason: String,
}

async fn transition(
    state: AppState,
    ctx: domain::Context,
    path: TenantPath,
    action: LifecycleAction,
    body: TransitionBody,
) -> Result<Json<AnyTenantView>, Problem> {
    let mut v = Validator::body();
    let Some(reason) = v.check("reason", Reason::parse(&body.reason)) else {
        return Err(v.into_problem());
    };
    let tenant = state
        .tenancy
        .transition(&ctx, &path.org, &path.tenant, action, reason)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

/// Suspends an active tenant: its keys are refused until it is reactivated.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/suspend",
    operation_id = "suspendTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The suspended tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn suspend(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Suspend, body).await
}

/// Reactivates a suspended tenant.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/reactivate",
    operation_id = "reactivateTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The active tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Reactivate, body).await
}

/// Deactivates (offboards) a tenant: its keys are revoked for good and the
/// retention period starts (`retentionEndsAt`).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/deactivate",
    operation_id = "deactivateTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The deactivated tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Deactivate, body).await
}

/// Restores a deactivated tenant before its retention ends (platform admin only).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/restore",
    operation_id = "restoreTenant",
    tag = "lifecycle",
    params(TenantPath),
    request_body = TransitionBody,
    responses(
        (status = 200, description = "The active tenant.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn restore(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<TransitionBody>,
) -> Result<Json<AnyTenantView>, Problem> {
    transition(state, ctx, path, LifecycleAction::Restore, body).await
}

/// Documents the delete query string.
#[derive(Debug)]
pub(crate) enum DeleteParams {}

impl utoipa::IntoParams for DeleteParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut confirm = query_parameter("confirm", "The tenant's key, repeated.");
        confirm.required = utoipa::openapi::Required::True;
        vec![
            confirm,
            query_parameter("reason", "Why; kept in the tombstone's audit event."),
        ]
    }
}

/// Deletes a deactivated tenant for good; what remains is a tombstone.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}",
    operation_id = "deleteTenant",
    tag = "lifecycle",
    params(TenantPath, DeleteParams),
    responses(
        (status = 200, description = "The tombstone.", body = AnyTenantView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    mut query: QueryParams,
) -> Result<Json<AnyTenantView>, Problem> {
    // The domain checks the lifecycle before the confirmation, so deleting an
    // active tenant says why it cannot be deleted even without `confirm`.
    let confirm = query.take("confirm").unwrap_or_default();
    let reason = query.parse("reason", Reason::parse);
    query.finish()?;
    let tenant = state
        .tenancy
        .delete_tenant(&ctx, &path.org, &path.tenant, &confirm, reason)
        .await?;
    Ok(Json(state.tenant_view(tenant)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Code;

    fn body(json: &str) -> ProvisionBody {
        crate::extract::parse_json(json.as_bytes()).expect("valid JSON")
    }

    #[test]
    fn provisioning_reports_every_invalid_field_at_once() {
        let problem = body(
            r#"{"key": "ab", "name": " ", "plan": "Pro!", "region": "-x",
                "owner": {"userId": "", "email": "nope"},
                "metadata": {"": "x"},
                "namespaces": [{"key": "ok-one"}, {"key": "A"}]}"#,
        )
        .validate()
        .unwrap_err();
        assert_eq!(problem.code(), Code::ValidationFailed);
        let text = format!("{problem:?}");
        for field in [
            "\"key\"",
            "\"name\"",
            "\"plan\"",
            "\"region\"",
            "\"owner.userId\"",
            "\"owner.email\"",
            "\"metadata\"",
            "\"namespaces[1].key\"",
        ] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        assert!(!text.contains("namespaces[0]"), "{text}");
    }

    #[test]
    fn a_minimal_provisioning_body_leaves_defaults_to_the_domain() {
        let request = body(r#"{"key": "acme", "name": "Acme"}"#)
            .validate()
            .unwrap();
        assert_eq!(request.plan, None);
        assert_eq!(request.region, None);
        assert!(request.namespaces.is_empty());
    }
}
