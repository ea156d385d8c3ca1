//! Provisioning: the request body, its validation into the domain's request, and
//! the response that is sent (and stored for idempotent replays).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use domain::{
    Metadata, Name, Plan, ProvisionTenant, Provisioned, RegionCode, StoredResponse, TenantKey,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api_keys::{ApiKeyView, Secret};
use crate::auth::Caller;
use crate::extract::{IdempotencyHeader, JsonBytes, OrgPath, parse_json};
use crate::idempotency::{self, RequestParts};
use crate::namespaces::{NamespaceView, NewNamespaceBody};
use crate::openapi::responses::{BadRequest, Conflict, IdempotencyKeyReused, NotFound};
use crate::problem::Problem;
use crate::validate::Validator;

use super::{AnyTenantView, OwnerBody};

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
pub(crate) fn provisioned_response(
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
