//! API keys: issuing, listing, revoking and rotating them at the three places
//! keys live (SPEC §3) — an org's own keys (`/v1/orgs/{org}/api-keys`), a
//! namespace's keys reached from the org side
//! (`/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys`) and the calling
//! namespace key's own namespace (`/v1/namespace/api-keys`).
//!
//! The secret is in the one response that creates it (issue or rotate) and in no
//! other: views carry the display prefix, never the secret or its hash.

use std::fmt;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use domain::{
    ApiKey, ApiKeyId, IssuedKey, KeyLocation, KeyMode, KeyOwner, Name, NewApiKey, PlaintextKey,
    ResourceKey, Role, Scope, Scopes,
};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::audit::ActorView;
use crate::auth::Caller;
use crate::extract::{Body, KeyIdPath, NamespacePath, OptionalBody, OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::validate::Validator;

/// Names the `Scope` schema (`keys:read`, ...) in the document; never built.
/// Its values are the domain's scopes, so the document needs no list of its own.
#[derive(Debug)]
pub(crate) enum ScopeName {}

impl PartialSchema for ScopeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A permission of a namespace key."))
            .enum_values(Some(Scope::ALL.map(Scope::as_str)))
            .into()
    }
}

impl ToSchema for ScopeName {
    fn name() -> std::borrow::Cow<'static, str> {
        "Scope".into()
    }
}

/// A set of scopes on the wire: a JSON array of names, serialized straight from
/// the bit set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScopeList(pub Scopes);

impl Serialize for ScopeList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Scope::as_str))
    }
}

/// A namespace key's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Role)]
pub(crate) enum RoleBody {
    /// Every scope.
    Admin,
    /// Every read scope, plus `resources:write`.
    Member,
}

impl From<RoleBody> for Role {
    fn from(role: RoleBody) -> Self {
        match role {
            RoleBody::Admin => Self::Admin,
            RoleBody::Member => Self::Member,
        }
    }
}

impl From<Role> for RoleBody {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

/// The middle part of a key: its namespace's mode, or `org`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = KeyMode)]
pub(crate) enum KeyModeView {
    Live,
    Test,
    Org,
}

impl From<KeyMode> for KeyModeView {
    fn from(mode: KeyMode) -> Self {
        match mode {
            KeyMode::Live => Self::Live,
            KeyMode::Test => Self::Test,
            KeyMode::Org => Self::Org,
        }
    }
}

/// Whom a key belongs to.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = KeyKind)]
pub(crate) enum KeyKindView {
    /// Manages its org.
    Org,
    /// Acts inside one namespace.
    Namespace,
}

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApiKey)]
pub(crate) struct ApiKeyView {
    id: Uuid,
    name: String,
    /// The key's first characters, to recognise it in listings; never enough to use it.
    prefix: String,
    mode: KeyModeView,
    kind: KeyKindView,
    /// Namespace keys only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    tenant_id: Option<Uuid>,
    /// Namespace keys only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    namespace_id: Option<Uuid>,
    /// The role the scopes come from; `null` for a listed scope set and for org keys.
    #[schema(required = true)]
    role: Option<RoleBody>,
    /// What a namespace key may do; empty for org keys.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: ScopeList,
    /// The only resources the key reaches; `null`: all of its namespace's.
    #[schema(required = true)]
    resources: Option<Vec<String>>,
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
    /// Coarse: recorded in batches, off the request path.
    #[schema(required = true)]
    last_used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    revoked_at: Option<DateTime<Utc>>,
    /// The key this one replaced, when it was minted by a rotation.
    #[schema(required = true)]
    rotated_from: Option<Uuid>,
    created_at: DateTime<Utc>,
    created_by: ActorView,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        let (kind, tenant_id, namespace_id) = match key.owner {
            KeyOwner::Org => (KeyKindView::Org, None, None),
            KeyOwner::Namespace {
                tenant_id,
                namespace_id,
            } => (
                KeyKindView::Namespace,
                Some(tenant_id.as_uuid()),
                Some(namespace_id.as_uuid()),
            ),
        };
        Self {
            id: key.id.as_uuid(),
            name: key.name.to_string(),
            prefix: key.display,
            mode: key.mode.into(),
            kind,
            tenant_id,
            namespace_id,
            role: key.access.role.map(RoleBody::from),
            scopes: ScopeList(key.access.scopes),
            resources: key.access.resources,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            rotated_from: key.rotated_from.map(|id| id.as_uuid()),
            created_at: key.created_at,
            created_by: ActorView::from(&key.created_by),
        }
    }
}

/// A key's secret on its way into the one response that shows it: serialized as
/// the plain string, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn of(key: &PlaintextKey) -> Self {
        Self(key.expose().to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A key just issued, with its secret: shown in this response and never again.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IssuedApiKey)]
pub(crate) struct IssuedView {
    api_key: ApiKeyView,
    /// The whole key, for `Authorization: Bearer`. Only its hash is stored: keep
    /// it now, it cannot be shown again.
    #[schema(value_type = String)]
    secret: Secret,
}

impl From<IssuedKey> for IssuedView {
    fn from(issued: IssuedKey) -> Self {
        Self {
            secret: Secret::of(&issued.secret),
            api_key: issued.key.into(),
        }
    }
}

/// A new org key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewOrgApiKey)]
pub(crate) struct NewOrgKeyBody {
    #[schema(example = "CI deploys")]
    name: String,
    /// RFC 3339; in the future. Absent: never expires, unless the calling key
    /// does: a key never outlives the key that creates it, so an expiry left out
    /// or later than the calling key's becomes the calling key's.
    #[schema(value_type = Option<DateTime<Utc>>)]
    expires_at: Option<String>,
}

impl NewOrgKeyBody {
    fn validate(self) -> Result<NewApiKey, Problem> {
        let mut v = Validator::body();
        let name = v.check("name", Name::parse(&self.name));
        let expires_at = expiry(&mut v, self.expires_at.as_deref());
        let (Some(name), Some(expires_at)) = (name, expires_at) else {
            return Err(v.into_problem());
        };
        Ok(NewApiKey {
            name,
            role: None,
            scopes: None,
            resources: None,
            expires_at,
        })
    }
}

/// A new namespace key: a role or a scope list (not both; `member` when neither).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewNamespaceApiKey)]
pub(crate) struct NewNamespaceKeyBody {
    #[schema(example = "checkout service")]
    name: String,
    role: Option<RoleBody>,
    /// Instead of a role: exactly these scopes.
    #[schema(value_type = Option<Vec<ScopeName>>, example = json!(["tenant:read", "keys:read"]))]
    scopes: Option<Vec<String>>,
    /// Only these resource keys of the namespace, at most 100; all when absent.
    #[schema(example = json!(["standard_nda"]), max_items = 100)]
    resources: Option<Vec<String>>,
    /// RFC 3339; in the future. Absent: never expires, unless the calling key
    /// does: a key never outlives the key that creates it, so an expiry left out
    /// or later than the calling key's becomes the calling key's.
    #[schema(value_type = Option<DateTime<Utc>>)]
    expires_at: Option<String>,
}

impl NewNamespaceKeyBody {
    fn validate(self) -> Result<NewApiKey, Problem> {
        let mut v = Validator::body();
        let name = v.check("name", Name::parse(&self.name));
        let scopes = match (&self.role, self.scopes) {
            (Some(_), Some(_)) => {
                v.add("scopes", "cannot be given with role; give one or the other");
                None
            }
            (_, None) => Some(None),
            (None, Some(names)) => scopes(&mut v, &names).map(Some),
        };
        let resources = match self.resources {
            None => Some(None),
            // Past the bound, the resources themselves are not even looked at.
            Some(raw) if raw.len() > domain::Access::MAX_RESOURCES => {
                v.check(
                    "resources",
                    domain::check_list_len(raw.len(), domain::Access::MAX_RESOURCES),
                );
                None
            }
            Some(raw) => raw
                .iter()
                .enumerate()
                .map(|(i, r)| v.check(format!("resources[{i}]"), ResourceKey::parse(r)))
                // Collect first: every resource is checked, not just up to the first error.
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Some),
        };
        let expires_at = expiry(&mut v, self.expires_at.as_deref());
        let (Some(name), Some(scopes), Some(resources), Some(expires_at)) =
            (name, scopes, resources, expires_at)
        else {
            return Err(v.into_problem());
        };
        Ok(NewApiKey {
            name,
            role: self.role.map(Role::from),
            scopes,
            resources,
            expires_at,
        })
    }
}

/// Parses scope names, recording each unknown one against its index.
fn scopes(v: &mut Validator, names: &[String]) -> Option<Scopes> {
    let mut scopes = Vec::with_capacity(names.len());
    let mut valid = true;
    for (i, name) in names.iter().enumerate() {
        match Scope::parse(name) {
            Some(scope) => scopes.push(scope),
            None => {
                valid = false;
                v.add(
                    format!("scopes[{i}]"),
                    format!("\"{name}\" is not a scope; see the Scope schema for the names"),
                );
            }
        }
    }
    valid.then(|| scopes.into_iter().collect())
}

/// Parses an optional RFC 3339 expiry. The domain checks that it is in the future.
fn expiry(v: &mut Validator, raw: Option<&str>) -> Option<Option<DateTime<Utc>>> {
    match raw {
        None => Some(None),
        Some(raw) => v
            .check(
                "expiresAt",
                DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| "must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z"),
            )
            .map(Some),
    }
}

/// How a rotation treats the old secret. The body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = RotateApiKey)]
pub(crate) struct RotateBody {
    /// How long the old secret keeps working, 0 to 2592000 (30 days); 0 (the
    /// default) revokes it at once.
    #[schema(minimum = 0, maximum = 2_592_000, example = 3600)]
    grace_period_seconds: Option<i64>,
}

impl RotateBody {
    fn grace(&self) -> Duration {
        // The domain owns the range. A number of seconds no duration can hold is
        // as far out of it as any, so it goes in as the longest duration there is.
        self.grace_period_seconds.map_or(Duration::zero(), |s| {
            Duration::try_seconds(s).unwrap_or(Duration::MAX)
        })
    }
}

type Created = (StatusCode, Json<IssuedView>);

async fn issue(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    new: NewApiKey,
) -> Result<Created, Problem> {
    let issued = state.tenancy.issue_key(ctx, &location, new).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

async fn list(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    mut query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let keys = state
        .tenancy
        .list_keys(ctx, &location, page.cursor.as_ref(), page.limit)
        .await?;
    Ok(Json(ListBody::from_page(keys, ApiKeyView::from)))
}

async fn revoke(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    id: ApiKeyId,
) -> Result<Json<ApiKeyView>, Problem> {
    let key = state.tenancy.revoke_key(ctx, &location, id).await?;
    Ok(Json(key.into()))
}

async fn rotate(
    state: &AppState,
    ctx: &domain::Context,
    location: KeyLocation,
    id: ApiKeyId,
    body: &RotateBody,
) -> Result<Created, Problem> {
    let grace = body.grace();
    let issued = state.tenancy.rotate_key(ctx, &location, id, grace).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

fn namespace_location(path: NamespacePath) -> KeyLocation {
    KeyLocation::Namespace {
        org: path.org,
        tenant: path.tenant,
        namespace: path.ns,
    }
}

// Org keys.

/// Issues an org key; its secret is in this response only.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/api-keys",
    operation_id = "createOrgApiKey",
    tag = "api-keys",
    params(OrgPath),
    request_body = NewOrgKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn create_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    Body(body): Body<NewOrgKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, KeyLocation::Org(path.org), new).await
}

/// Lists an org's keys, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/api-keys",
    operation_id = "listOrgApiKeys",
    tag = "api-keys",
    params(OrgPath, PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_org_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, KeyLocation::Org(path.org), query).await
}

/// Revokes an org key for good; revoking it again changes nothing.
///
/// The caller must cover the key: an org key may revoke its own key, or a key of
/// its org that expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/api-keys/{id}",
    operation_id = "revokeOrgApiKey",
    tag = "api-keys",
    params(OrgPath, KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, KeyLocation::Org(path.org), id).await
}

/// Replaces an org key's secret; the old one works on for the grace period.
///
/// The caller must cover the key: an org key may rotate its own key, or a key
/// of its org that expires no later than itself; the new key keeps the old key's
/// name, access and expiry, and never outlives the calling key. Otherwise
/// `403 scope_escalation`, and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/api-keys/{id}/rotate",
    operation_id = "rotateOrgApiKey",
    tag = "api-keys",
    params(OrgPath, KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_org_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, KeyLocation::Org(path.org), id, &body).await
}

// A namespace's keys, from the org side.

/// Issues a namespace key; its secret is in this response only.
///
/// Needs an active tenant.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    operation_id = "createNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath),
    request_body = NewNamespaceKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    Body(body): Body<NewNamespaceKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, namespace_location(path), new).await
}

/// Lists a namespace's keys, oldest first (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys",
    operation_id = "listNamespaceApiKeys",
    tag = "api-keys",
    params(NamespacePath, PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn list_namespace_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, namespace_location(path), query).await
}

/// Revokes a namespace key for good.
///
/// The caller must cover the key: an org key may revoke its own key, or a key of
/// its org that expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}",
    operation_id = "revokeNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath, KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, namespace_location(path), id).await
}

/// Replaces a namespace key's secret; the old one works on for the grace period.
///
/// The caller must cover the key: an org key may rotate its own key, or a key
/// of its org that expires no later than itself; the new key keeps the old key's
/// name, access and expiry, and never outlives the calling key. Otherwise
/// `403 scope_escalation`, and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}/api-keys/{id}/rotate",
    operation_id = "rotateNamespaceApiKey",
    tag = "api-keys",
    params(NamespacePath, KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_namespace_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: NamespacePath,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, namespace_location(path), id, &body).await
}

// The calling namespace key's own namespace.

/// Issues a key in the calling key's namespace, with no more scopes or
/// resources than the calling key holds.
///
/// Asking for more is `403 scope_escalation`.
///
/// The key never outlives the key that creates it: when the calling key expires,
/// an `expiresAt` left out or later than the calling key's expiry becomes the
/// calling key's expiry (the admin token and keys that never expire set no bound).
#[utoipa::path(
    post,
    path = "/v1/namespace/api-keys",
    operation_id = "createOwnApiKey",
    tag = "namespace-key",
    request_body = NewNamespaceKeyBody,
    responses(
        (status = 201, description = "Issued; `secret` is shown this once.", body = IssuedView),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn create_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Body(body): Body<NewNamespaceKeyBody>,
) -> Result<Created, Problem> {
    let new = body.validate()?;
    issue(&state, &ctx, KeyLocation::OwnNamespace, new).await
}

/// Lists the keys of the calling key's namespace, oldest first.
#[utoipa::path(
    get,
    path = "/v1/namespace/api-keys",
    operation_id = "listOwnApiKeys",
    tag = "namespace-key",
    params(PageParams),
    responses(
        (status = 200, description = "A page of keys.", body = ListBody<ApiKeyView>),
        (status = 400, response = BadRequest),
    )
)]
pub(crate) async fn list_own_keys(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    query: QueryParams,
) -> Result<Json<ListBody<ApiKeyView>>, Problem> {
    list(&state, &ctx, KeyLocation::OwnNamespace, query).await
}

/// Revokes a key of the calling key's namespace (possibly the calling key).
///
/// The caller must cover the key: a namespace key may revoke its own key, or a
/// key whose scopes it holds, whose resources lie within its own and which
/// expires no later than itself; otherwise `403 scope_escalation`.
#[utoipa::path(
    delete,
    path = "/v1/namespace/api-keys/{id}",
    operation_id = "revokeOwnApiKey",
    tag = "namespace-key",
    params(KeyIdPath),
    responses(
        (status = 200, description = "The revoked key.", body = ApiKeyView),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn revoke_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    KeyIdPath(id): KeyIdPath,
) -> Result<Json<ApiKeyView>, Problem> {
    revoke(&state, &ctx, KeyLocation::OwnNamespace, id).await
}

/// Replaces the secret of a key of the calling key's namespace.
///
/// The caller must cover the key: a namespace key may rotate its own key, or a
/// key whose scopes it holds, whose resources lie within its own and which
/// expires no later than itself; the new key keeps the old key's name, access and
/// expiry, and never outlives the calling key. Otherwise `403 scope_escalation`,
/// and nothing changes.
#[utoipa::path(
    post,
    path = "/v1/namespace/api-keys/{id}/rotate",
    operation_id = "rotateOwnApiKey",
    tag = "namespace-key",
    params(KeyIdPath),
    request_body(content = Option<RotateBody>, description = "May be left out: no grace period."),
    responses(
        (status = 201, description = "The new key; `secret` is shown this once.", body = IssuedView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn rotate_own_key(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    KeyIdPath(id): KeyIdPath,
    OptionalBody(body): OptionalBody<RotateBody>,
) -> Result<Created, Problem> {
    rotate(&state, &ctx, KeyLocation::OwnNamespace, id, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Code;
    use domain::KeyHash;

    fn namespace_body(json: &str) -> Result<NewApiKey, Problem> {
        crate::extract::parse_json::<NewNamespaceKeyBody>(json.as_bytes())
            .expect("valid JSON")
            .validate()
    }

    fn fields(problem: &Problem) -> String {
        format!("{problem:?}")
    }

    #[test]
    fn a_role_and_a_scope_list_are_mutually_exclusive() {
        let problem = namespace_body(r#"{"name": "k", "role": "admin", "scopes": ["keys:read"]}"#)
            .unwrap_err();
        assert_eq!(problem.code(), Code::ValidationFailed);
        assert!(fields(&problem).contains("\"scopes\""), "{problem:?}");
    }

    #[test]
    fn every_unknown_scope_and_bad_resource_is_named() {
        let problem = namespace_body(
            r#"{"name": " ", "scopes": ["keys:read", "keys:destroy", "root"],
                "resources": ["standard_nda", "Bad Key"], "expiresAt": "tomorrow"}"#,
        )
        .unwrap_err();
        let text = fields(&problem);
        for expected in [
            "\"name\"",
            "scopes[1]",
            "keys:destroy",
            "scopes[2]",
            "root",
            "resources[1]",
            "\"expiresAt\"",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("scopes[0]") && !text.contains("resources[0]"));
    }

    #[test]
    fn a_valid_namespace_body_becomes_the_domain_request() {
        let new = namespace_body(
            r#"{"name": "reader", "scopes": ["tenant:read", "keys:read"],
                "resources": ["standard_nda"], "expiresAt": "2030-01-01T00:00:00+02:00"}"#,
        )
        .unwrap();
        assert_eq!(new.role, None);
        assert_eq!(
            new.scopes,
            Some([Scope::TenantRead, Scope::KeysRead].into_iter().collect())
        );
        assert_eq!(new.resources.unwrap()[0].as_str(), "standard_nda");
        assert_eq!(
            new.expires_at.unwrap().to_rfc3339(),
            "2029-12-31T22:00:00+00:00"
        );
        let member = namespace_body(r#"{"name": "m", "role": "member"}"#).unwrap();
        assert_eq!(member.role, Some(Role::Member));
        assert_eq!(member.scopes, None);
    }

    #[test]
    fn secrets_serialize_as_themselves_but_never_debug_print() {
        let issued = IssuedView {
            api_key: ApiKeyView::from(sample_key()),
            secret: Secret("tny_live_the-secret".to_owned()),
        };
        assert!(!format!("{issued:?}").contains("the-secret"));
        let json = serde_json::to_value(&issued).unwrap();
        assert_eq!(json["secret"], "tny_live_the-secret");
    }

    fn sample_key() -> ApiKey {
        use domain::{Access, Actor, KeyHash, OrgId};
        ApiKey {
            id: ApiKeyId::from_uuid(Uuid::nil()),
            org_id: OrgId::from_uuid(Uuid::nil()),
            owner: KeyOwner::Org,
            mode: KeyMode::Org,
            name: Name::parse("sample").unwrap(),
            display: "tny_org_abcd".to_owned(),
            hash: KeyHash::of("tny_live_the-secret"),
            access: Access {
                role: None,
                scopes: Scopes::NONE,
                resources: None,
            },
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            rotated_from: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            created_by: Actor::platform_admin(),
            version: 1,
        }
    }

    #[test]
    fn views_list_scopes_by_name_and_never_carry_the_hash() {
        let view = serde_json::to_value(ApiKeyView::from(sample_key())).unwrap();
        let hex: String = KeyHash::of("tny_live_the-secret")
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!view.to_string().contains(&hex), "{view}");
        assert!(view.get("hash").is_none());
        let json = serde_json::to_value(ScopeList(
            [Scope::KeysWrite, Scope::TenantRead].into_iter().collect(),
        ))
        .unwrap();
        assert_eq!(json, serde_json::json!(["tenant:read", "keys:write"]));
    }

    #[test]
    fn grace_periods_no_duration_can_hold_go_to_the_domain_as_too_long() {
        for seconds in [i64::MAX, i64::MIN] {
            let body = RotateBody {
                grace_period_seconds: Some(seconds),
            };
            assert_eq!(body.grace(), Duration::MAX, "{seconds}");
        }
        assert_eq!(RotateBody::default().grace(), Duration::zero());
    }
}
