//! The route table: every endpoint, registered once through utoipa-axum, so the
//! axum route and its OpenAPI operation come from the same `#[utoipa::path]`.
//!
//! Each authenticated route is registered with its [`Access`] — platform admin,
//! org (admin token or org key), or namespace key with the one scope it needs —
//! in [`authenticated_routes`], and nowhere else. [`guarded`] turns that one value
//! into both the route's guard (`auth::authorize`) and the operation's security
//! requirement, so what is enforced and what is documented cannot diverge. The
//! router puts authentication in front of the whole group; `public_routes` need
//! no token.

use axum::extract::Request;
use axum::middleware::{self, Next};
use domain::Scope;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::auth::Access;
use crate::openapi::{
    __path_docs, __path_openapi_json, ADMIN_TOKEN, NAMESPACE_KEY, ORG_KEY, add_response, docs,
    openapi_json, operations,
};
use crate::{
    AppState, api_keys, audit, audit_chain, domains, events, export, health, library, members,
    namespaces, orgs, public, regions, registrations, secrets, settings, tenants, verify, webhooks,
};

/// Every authenticated route with who may call it. A namespace route's scope is
/// written here once: the guard enforces it and the document shows it.
pub(crate) fn authenticated_routes() -> OpenApiRouter<AppState> {
    use Access::{Namespace, Org, Platform};
    OpenApiRouter::new()
        .routes(guarded(Platform, routes!(orgs::create, orgs::list)))
        .routes(guarded(Org, routes!(orgs::get, orgs::update)))
        .routes(guarded(Platform, routes!(tenants::inventory)))
        .routes(guarded(
            Org,
            routes!(tenants::provision, tenants::org_inventory),
        ))
        .routes(guarded(
            Org,
            routes!(tenants::get, tenants::update, tenants::delete),
        ))
        .routes(guarded(Org, routes!(tenants::set_owner)))
        .routes(guarded(Org, routes!(members::list, members::add)))
        .routes(guarded(
            Org,
            routes!(settings::get_general, settings::update_general),
        ))
        .routes(guarded(
            Org,
            routes!(settings::get_branding, settings::update_branding),
        ))
        .routes(guarded(
            Org,
            routes!(settings::get_security, settings::update_security),
        ))
        .routes(guarded(
            Org,
            routes!(settings::get_org_branding, settings::update_org_branding),
        ))
        .routes(guarded(
            Org,
            routes!(registrations::get_settings, registrations::update_settings),
        ))
        .routes(guarded(
            Org,
            routes!(
                settings::get_namespace_branding,
                settings::update_namespace_branding
            ),
        ))
        .routes(guarded(
            Org,
            routes!(members::get, members::update, members::remove),
        ))
        .routes(guarded(
            Org,
            routes!(domains::put, domains::get, domains::delete),
        ))
        .routes(guarded(Org, routes!(domains::verify)))
        .routes(guarded(Org, routes!(export::export)))
        .routes(guarded(Org, routes!(tenants::suspend)))
        .routes(guarded(Org, routes!(tenants::reactivate)))
        .routes(guarded(Org, routes!(tenants::deactivate)))
        .routes(guarded(Platform, routes!(tenants::restore)))
        .routes(guarded(Org, routes!(namespaces::create, namespaces::list)))
        .routes(guarded(Org, routes!(namespaces::get, namespaces::update)))
        .routes(guarded(Org, routes!(audit::list)))
        .routes(guarded(Org, routes!(audit_chain::verify)))
        .routes(guarded(Org, routes!(audit_chain::checkpoint)))
        .routes(guarded(Org, routes!(audit_chain::signing_key)))
        .routes(guarded(Org, routes!(events::list)))
        .routes(guarded(Org, routes!(webhooks::create, webhooks::list)))
        .routes(guarded(
            Org,
            routes!(webhooks::get, webhooks::update, webhooks::delete),
        ))
        .routes(guarded(Org, routes!(webhooks::rotate_secret)))
        .routes(guarded(Org, routes!(webhooks::deliveries::list)))
        .routes(guarded(Org, routes!(webhooks::deliveries::redeliver)))
        .routes(guarded(Org, routes!(webhooks::deliveries::recover)))
        .routes(guarded(
            Org,
            routes!(api_keys::create_org_key, api_keys::list_org_keys),
        ))
        .routes(guarded(Org, routes!(api_keys::revoke_org_key)))
        .routes(guarded(Org, routes!(api_keys::rotate_org_key)))
        .routes(guarded(
            Org,
            routes!(
                api_keys::create_namespace_key,
                api_keys::list_namespace_keys
            ),
        ))
        .routes(guarded(Org, routes!(api_keys::revoke_namespace_key)))
        .routes(guarded(Org, routes!(api_keys::rotate_namespace_key)))
        .routes(guarded(
            Org,
            routes!(library::publish, library::list_listings),
        ))
        .routes(guarded(Org, routes!(library::get_listing)))
        .routes(guarded(Org, routes!(library::get_listing_version)))
        .routes(guarded(Org, routes!(library::set_grants)))
        .routes(guarded(
            Namespace(Scope::ResourcesRead),
            routes!(library::list_resources),
        ))
        .routes(guarded(
            Namespace(Scope::ResourcesWrite),
            routes!(library::create_resource),
        ))
        .routes(guarded(
            Namespace(Scope::ResourcesRead),
            routes!(library::get_resource),
        ))
        .routes(guarded(
            Namespace(Scope::ResourcesRead),
            routes!(library::get_resource_version),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryRead),
            routes!(library::library),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryRead),
            routes!(library::library_listing),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryWrite),
            routes!(library::try_listing),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryWrite),
            routes!(library::upgrade),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryWrite),
            routes!(library::customize),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryRead),
            routes!(library::list_installs),
        ))
        .routes(guarded(
            Namespace(Scope::LibraryRead),
            routes!(library::install_content),
        ))
        .routes(guarded(
            Org,
            routes!(
                secrets::put_tenant,
                secrets::get_tenant,
                secrets::delete_tenant
            ),
        ))
        .routes(guarded(Org, routes!(secrets::list_tenant)))
        // Reading needs `secrets:read`, writing and deleting `secrets:reveal`;
        // `?reveal=true` needs both; and every use of `secrets:reveal` a live
        // key restricted to no resources. The guards check the scope each
        // route always needs; the domain checks the rest.
        .routes(guarded(
            Namespace(Scope::SecretsReveal),
            routes!(secrets::put_own, secrets::delete_own),
        ))
        .routes(guarded(
            Namespace(Scope::SecretsRead),
            routes!(secrets::get_own),
        ))
        .routes(guarded(Namespace(Scope::TenantRead), routes!(tenants::own)))
        .routes(guarded(
            Namespace(Scope::SettingsRead),
            routes!(settings::get_own_general),
        ))
        .routes(guarded(
            Namespace(Scope::SettingsWrite),
            routes!(settings::update_own_general),
        ))
        .routes(guarded(
            Namespace(Scope::SettingsRead),
            routes!(settings::get_own_branding),
        ))
        .routes(guarded(
            Namespace(Scope::SettingsWrite),
            routes!(settings::update_own_branding),
        ))
        .routes(guarded(
            Namespace(Scope::SettingsRead),
            routes!(settings::get_own_security),
        ))
        .routes(guarded(
            Namespace(Scope::SettingsWrite),
            routes!(settings::update_own_security),
        ))
        .routes(guarded(
            Namespace(Scope::TenantRead),
            routes!(namespaces::own),
        ))
        .routes(guarded(
            Namespace(Scope::KeysRead),
            routes!(api_keys::list_own_keys),
        ))
        .routes(guarded(
            Namespace(Scope::KeysWrite),
            routes!(api_keys::create_own_key),
        ))
        .routes(guarded(
            Namespace(Scope::KeysWrite),
            routes!(api_keys::revoke_own_key),
        ))
        .routes(guarded(
            Namespace(Scope::KeysWrite),
            routes!(api_keys::rotate_own_key),
        ))
}

pub(crate) fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify::verify))
        .routes(routes!(regions::list))
        .routes(routes!(public::tenant))
        .routes(routes!(registrations::request))
        .routes(routes!(registrations::confirm))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(docs))
}

/// Puts `access` on the route twice from the same value: as its guard, and as
/// the security requirement (and the refusals that come with it) of each of its
/// operations.
fn guarded(
    access: Access,
    (schemas, mut paths, method_router): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    for operation in paths.paths.values_mut().flat_map(operations) {
        operation.security = Some(security(access));
        add_response(operation, "401", "Unauthorized");
        add_response(operation, "403", "Forbidden");
        // Every authenticated route reaches the store, if only to verify the key.
        add_response(operation, "503", "Unavailable");
    }
    // A route layer: a method the route does not have stays a 405, not a 403.
    let method_router =
        method_router.route_layer(middleware::from_fn(move |request: Request, next: Next| {
            crate::auth::authorize(access, request, next)
        }));
    (schemas, paths, method_router)
}

/// The document's form of an [`Access`]: any one of the listed schemes will do.
fn security(access: Access) -> Vec<SecurityRequirement> {
    let none = Vec::<String>::new;
    match access {
        Access::Platform => vec![SecurityRequirement::new(ADMIN_TOKEN, none())],
        Access::Org => vec![
            SecurityRequirement::new(ADMIN_TOKEN, none()),
            SecurityRequirement::new(ORG_KEY, none()),
        ],
        Access::Namespace(scope) => {
            vec![SecurityRequirement::new(NAMESPACE_KEY, [scope.as_str()])]
        }
    }
}
