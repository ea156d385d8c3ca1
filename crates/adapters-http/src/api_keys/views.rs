//! How keys look on the wire: views of keys (never their secret or hash), the
//! one response that carries a secret, scopes, roles and modes.

use std::fmt;

use chrono::{DateTime, Utc};
use domain::{ApiKey, IssuedKey, KeyMode, KeyOwner, PlaintextKey, Role, Scope, Scopes};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::audit::ActorView;

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

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{ApiKeyId, KeyHash, Name};

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
}
