//! Settings (docs/api.md, settings): a tenant's `general`, `branding` and
//! `security` groups under `/v1/orgs/{org}/tenants/{tenant}/settings/...`, an
//! org's branding defaults under `/v1/orgs/{org}/settings/branding`, and a
//! namespace's branding override (with the branding in effect) under
//! `.../namespaces/{ns}/settings/branding`. Reads answer the document with an
//! `ETag`; changes are JSON merge-patches, refused with `412` when `If-Match`
//! names another version. For the platform admin and the org's keys.

mod views;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use domain::settings::{BrandingSettings, GeneralSettings, SecuritySettings, SettingsGroup};
use domain::{Context, NamespaceBranding, SettingsTarget, Tenancy};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{MergePatch, NamespacePath, OrgPath, TenantPath};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::problem::Problem;
pub(crate) use views::{BrandingSchema, GeneralSchema, NamespaceBrandingView, SecuritySchema};

pub(crate) type Document = ([(HeaderName, HeaderValue); 1], Json<Value>);

pub(crate) async fn read<G: SettingsGroup + Default>(
    tenancy: &Tenancy,
    ctx: &Context,
    target: SettingsTarget,
) -> Result<Document, Problem> {
    let found = tenancy.get_settings::<G>(ctx, &target).await?;
    Ok((views::etag(&found), Json(views::json_of(&found))))
}

pub(crate) async fn change<G: SettingsGroup + Default + Clone>(
    tenancy: &Tenancy,
    ctx: &Context,
    target: SettingsTarget,
    headers: &HeaderMap,
    patch: &Value,
) -> Result<Document, Problem> {
    let expected = views::if_match(headers)?;
    let changed = tenancy
        .patch_settings::<G>(ctx, &target, patch, expected)
        .await?;
    Ok((views::etag(&changed), Json(views::json_of(&changed))))
}

fn tenant(path: TenantPath) -> SettingsTarget {
    SettingsTarget::Tenant(path.org, path.tenant)
}

/// The `GET` and `PATCH` handlers of one of a tenant's settings groups, for
/// the org (`$path`) and for the tenant's own namespace keys (`$own_path`):
/// the same steps for each group, each with its own paths and schema.
macro_rules! tenant_group {
    ($group:ty, $schema:ty, $path:literal, $get:ident, $get_id:literal, $read_doc:literal,
     $update:ident, $update_id:literal, $change_doc:literal,
     $own_path:literal, $own_get:ident, $own_get_id:literal,
     $own_update:ident, $own_update_id:literal) => {
        #[doc = $read_doc]
        #[utoipa::path(get, path = $path, operation_id = $get_id, tag = "settings",
            params(TenantPath),
            responses(
                (status = 200, description = "The group; `ETag` is its version.", body = $schema,
                    headers(("ETag" = String, description = "The version, for If-Match."))),
                (status = 404, response = NotFound),
                (status = 409, response = Conflict),
            ))]
        pub(crate) async fn $get(
            State(state): State<AppState>,
            Caller(ctx): Caller,
            path: TenantPath,
        ) -> Result<Document, Problem> {
            read::<$group>(&state.tenancy, &ctx, tenant(path)).await
        }

        #[doc = $change_doc]
        #[utoipa::path(patch, path = $path, operation_id = $update_id, tag = "settings",
            params(TenantPath),
            request_body(content(
                ($schema = "application/merge-patch+json"),
                ($schema = "application/json"),
            )),
            responses(
                (status = 200, description = "The group after the change.", body = $schema,
                    headers(("ETag" = String, description = "The new version."))),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
                (status = 409, response = Conflict),
                (status = 412, description = "`If-Match` names another version (`precondition_failed`)."),
            ))]
        pub(crate) async fn $update(
            State(state): State<AppState>,
            Caller(ctx): Caller,
            path: TenantPath,
            headers: HeaderMap,
            MergePatch(patch): MergePatch<Value>,
        ) -> Result<Document, Problem> {
            change::<$group>(&state.tenancy, &ctx, tenant(path), &headers, &patch).await
        }

        #[doc = $read_doc]
        ///
        /// The calling namespace key's tenant; needs `settings:read`.
        #[utoipa::path(get, path = $own_path, operation_id = $own_get_id, tag = "namespace-key",
            responses(
                (status = 200, description = "The group; `ETag` is its version.", body = $schema,
                    headers(("ETag" = String, description = "The version, for If-Match."))),
            ))]
        pub(crate) async fn $own_get(
            State(state): State<AppState>,
            Caller(ctx): Caller,
        ) -> Result<Document, Problem> {
            read::<$group>(&state.tenancy, &ctx, SettingsTarget::CallerTenant).await
        }

        #[doc = $change_doc]
        ///
        /// The calling namespace key's tenant; needs `settings:write`.
        #[utoipa::path(patch, path = $own_path, operation_id = $own_update_id,
            tag = "namespace-key",
            request_body(content(
                ($schema = "application/merge-patch+json"),
                ($schema = "application/json"),
            )),
            responses(
                (status = 200, description = "The group after the change.", body = $schema,
                    headers(("ETag" = String, description = "The new version."))),
                (status = 400, response = BadRequest),
                (status = 412, description = "`If-Match` names another version (`precondition_failed`)."),
            ))]
        pub(crate) async fn $own_update(
            State(state): State<AppState>,
            Caller(ctx): Caller,
            headers: HeaderMap,
            MergePatch(patch): MergePatch<Value>,
        ) -> Result<Document, Problem> {
            let target = SettingsTarget::CallerTenant;
            change::<$group>(&state.tenancy, &ctx, target, &headers, &patch).await
        }
    };
}

tenant_group!(
    GeneralSettings,
    GeneralSchema,
    "/v1/orgs/{org}/tenants/{tenant}/settings/general",
    get_general,
    "getGeneralSettings",
    "Reads the tenant's `general` settings.",
    update_general,
    "updateGeneralSettings",
    "Changes the tenant's `general` settings (JSON merge-patch; `null` removes).",
    "/v1/tenant/settings/general",
    get_own_general,
    "getOwnGeneralSettings",
    update_own_general,
    "updateOwnGeneralSettings"
);
tenant_group!(
    BrandingSettings,
    BrandingSchema,
    "/v1/orgs/{org}/tenants/{tenant}/settings/branding",
    get_branding,
    "getBrandingSettings",
    "Reads the tenant's `branding` (its own fields, not its org's defaults).",
    update_branding,
    "updateBrandingSettings",
    "Changes the tenant's `branding` (JSON merge-patch; `null` removes).",
    "/v1/tenant/settings/branding",
    get_own_branding,
    "getOwnBrandingSettings",
    update_own_branding,
    "updateOwnBrandingSettings"
);
tenant_group!(
    SecuritySettings,
    SecuritySchema,
    "/v1/orgs/{org}/tenants/{tenant}/settings/security",
    get_security,
    "getSecuritySettings",
    "Reads the tenant's `security` settings.",
    update_security,
    "updateSecuritySettings",
    "Changes the tenant's `security` settings (JSON merge-patch; `null` removes).",
    "/v1/tenant/settings/security",
    get_own_security,
    "getOwnSecuritySettings",
    update_own_security,
    "updateOwnSecuritySettings"
);

/// Reads the org's branding defaults, which its tenants' branding falls back to.
#[utoipa::path(get, path = "/v1/orgs/{org}/settings/branding",
    operation_id = "getOrgBranding", tag = "settings", params(OrgPath),
    responses(
        (status = 200, description = "The defaults; `ETag` is their version.", body = BrandingSchema,
            headers(("ETag" = String, description = "The version, for If-Match."))),
        (status = 404, response = NotFound),
    ))]
pub(crate) async fn get_org_branding(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
) -> Result<Document, Problem> {
    read::<BrandingSettings>(&state.tenancy, &ctx, SettingsTarget::Org(path.org)).await
}

/// Changes the org's branding defaults (JSON merge-patch; `null` removes).
#[utoipa::path(patch, path = "/v1/orgs/{org}/settings/branding",
    operation_id = "updateOrgBranding", tag = "settings", params(OrgPath),
    request_body(content(
        (BrandingSchema = "application/merge-patch+json"),
        (BrandingSchema = "application/json"),
    )),
    responses(
        (status = 200, description = "The defaults after the change.", body = BrandingSchema,
            headers(("ETag" = String, description = "The new version."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 412, description = "`If-Match` names another version (`precondition_failed`)."),
    ))]
pub(crate) async fn update_org_branding(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    headers: HeaderMap,
    MergePatch(patch): MergePatch<Value>,
) -> Result<Document, Problem> {
    let target = SettingsTarget::Org(path.org);
    change::<BrandingSettings>(&state.tenancy, &ctx, target, &headers, &patch).await
}

type NamespaceDocument = ([(HeaderName, HeaderValue); 1], Json<NamespaceBrandingView>);

fn with_etag(branding: NamespaceBranding) -> NamespaceDocument {
    (views::etag(&branding.override_), Json(branding.into()))
}

/// Reads a namespace's branding override and the branding in effect for it.
#[utoipa::path(get, path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/settings/branding",
    operation_id = "getNamespaceBranding", tag = "settings", params(NamespacePath),
    responses(
        (status = 200, description = "The override and the effective branding; `ETag` is the \
            override's version.", body = NamespaceBrandingView,
            headers(("ETag" = String, description = "The override's version, for If-Match."))),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
pub(crate) async fn get_namespace_branding(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
) -> Result<NamespaceDocument, Problem> {
    let branding = state
        .tenancy
        .namespace_branding(&ctx, &path.org, &path.tenant, &path.ns)
        .await?;
    Ok(with_etag(branding))
}

/// Changes a namespace's branding override (JSON merge-patch; `null` removes
/// a field, which then falls back to the tenant's).
#[utoipa::path(patch, path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/settings/branding",
    operation_id = "updateNamespaceBranding", tag = "settings", params(NamespacePath),
    request_body(content(
        (BrandingSchema = "application/merge-patch+json"),
        (BrandingSchema = "application/json"),
    )),
    responses(
        (status = 200, description = "The override and the effective branding after the change.",
            body = NamespaceBrandingView,
            headers(("ETag" = String, description = "The override's new version."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, description = "`If-Match` names another version (`precondition_failed`)."),
    ))]
pub(crate) async fn update_namespace_branding(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    headers: HeaderMap,
    MergePatch(patch): MergePatch<Value>,
) -> Result<NamespaceDocument, Problem> {
    let expected = views::if_match(&headers)?;
    let target = SettingsTarget::Namespace(path.org.clone(), path.tenant.clone(), path.ns.clone());
    state
        .tenancy
        .patch_settings::<BrandingSettings>(&ctx, &target, &patch, expected)
        .await?;
    let branding = state
        .tenancy
        .namespace_branding(&ctx, &path.org, &path.tenant, &path.ns)
        .await?;
    Ok(with_etag(branding))
}
