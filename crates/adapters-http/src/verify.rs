//! `POST /v1/keys/verify`: judges a presented API key (docs/api.md §3).
//!
//! This is the hot path: every request of every tenant goes through the same
//! verification. The handler does one domain call and serializes the answer
//! straight from what the verification returned: the key is borrowed from the
//! request body, the tenant and namespace keys from the (possibly cached) lookup,
//! and the scopes are written from their bit set.
//!
//! Every verdict, `malformed` included, is a `200` with `valid` and `code`: the
//! caller asked a question and this is the answer. Only a body that is not
//! `{"key": "<string>"}` is a `400`. The answer never holds the secret or its hash.
//!
//! A valid key's answer carries everything that limits it — scopes, resource
//! restriction and expiry — so a downstream service cannot mistake a key
//! restricted to some resources for one that reaches them all.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::{KeyLookup, Scopes, VerifyCode};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::api_keys::{ScopeList, ScopeName};
use crate::client::ClientAddress;
use crate::extract::{JsonBytes, parse_json};
use crate::problem::Problem;

/// A key to verify.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, expecting = "an object with a key")]
#[schema(as = VerifyKey)]
pub(crate) struct VerifyBody<'a> {
    /// The whole key, as presented to you.
    // Borrowed from the body unless the JSON string has escapes.
    #[serde(borrow)]
    #[schema(value_type = String)]
    key: Cow<'a, str>,
    /// The address the key was presented from, when you verify it for a
    /// client of yours: a tenant with an `ipAllowlist` refuses its keys from
    /// anywhere else (`ip_not_allowed`). Omitted: the address this request
    /// comes from (as `TENANCY_TRUSTED_PROXIES` forwards it).
    #[serde(default, rename = "clientAddress")]
    #[schema(schema_with = ip_address_schema, nullable = false)]
    client_address: Option<IpAddr>,
}

/// An IPv4 or IPv6 address, as `IpAddr` reads it.
fn ip_address_schema() -> Schema {
    let family = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    OneOfBuilder::new()
        .item(family(KnownFormat::Ipv4))
        .item(family(KnownFormat::Ipv6))
        .description(Some(
            "The address the key was presented from, when you verify it for a client of \
             yours: a tenant with an `ipAllowlist` refuses its keys from anywhere else \
             (`ip_not_allowed`). Omitted: the address this request comes from.",
        ))
        .examples([serde_json::json!("203.0.113.7")])
        .into()
}

impl fmt::Debug for VerifyBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyBody")
            .field("key", &"<redacted>")
            .field("client_address", &self.client_address)
            .finish()
    }
}

/// A verdict on a presented key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Verification)]
pub(crate) struct VerificationView<'a> {
    /// Whether the key may be used now (`code` is `valid`).
    valid: bool,
    code: CodeName,
    /// The key's tenant, when the key exists and belongs to a namespace.
    #[schema(required = true)]
    tenant: Option<ReferenceView<'a>>,
    /// The key's namespace, when the key exists and belongs to one.
    #[schema(required = true)]
    namespace: Option<ReferenceView<'a>>,
    /// What the key grants now: empty unless it is valid.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: ScopeList,
    /// The only resources of its namespace the key reaches: `null` when it
    /// reaches every one of them, and empty unless the key is valid. A service
    /// acting on the key must hold it to this list as well as to `scopes`.
    #[schema(required = true, value_type = Option<Vec<String>>, example = json!(["standard_nda"]))]
    resources: Option<&'a [String]>,
    /// When the key stops working, if ever; `null` also when no key matched.
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
}

/// A verdict's code on the wire. Its schema lists the domain's codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeName(VerifyCode);

impl Serialize for CodeName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl PartialSchema for CodeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Why a key is or is not valid. Only `valid` means it may be used.",
            ))
            .enum_values(Some(VerifyCode::ALL.map(VerifyCode::as_str)))
            .into()
    }
}

impl ToSchema for CodeName {
    fn name() -> Cow<'static, str> {
        "VerifyCode".into()
    }
}

/// An object's id and key.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Reference)]
pub(crate) struct ReferenceView<'a> {
    id: Uuid,
    #[schema(value_type = String, example = "acme")]
    key: &'a str,
}

impl<'a> VerificationView<'a> {
    fn new(code: VerifyCode, lookup: Option<&'a KeyLookup>) -> Self {
        let valid = code == VerifyCode::Valid;
        Self {
            valid,
            code: CodeName(code),
            tenant: lookup
                .and_then(|l| l.tenant.as_ref())
                .map(|t| ReferenceView {
                    id: t.id.as_uuid(),
                    key: t.key.as_str(),
                }),
            namespace: lookup
                .and_then(|l| l.namespace.as_ref())
                .map(|n| ReferenceView {
                    id: n.id.as_uuid(),
                    key: n.key.as_str(),
                }),
            scopes: ScopeList(match lookup {
                Some(l) if valid => l.key.access.scopes,
                _ => Scopes::NONE,
            }),
            // `null` means every resource: a key that is not valid reaches none.
            resources: match lookup {
                Some(l) if valid => l.key.access.resources.as_deref(),
                _ => Some(&[]),
            },
            expires_at: lookup.and_then(|l| l.key.expires_at),
        }
    }
}

/// Verifies an API key.
///
/// Needs no token: the key is the credential. Every verdict answers `200`; check
/// `valid`.
#[utoipa::path(
    post,
    path = "/v1/keys/verify",
    operation_id = "verifyApiKey",
    tag = "api-keys",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "The verdict.", body = VerificationView),
        (status = 503, response = crate::openapi::responses::Unavailable),
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    ClientAddress(caller): ClientAddress,
    JsonBytes(bytes): JsonBytes,
) -> Result<Response, Problem> {
    let body: VerifyBody<'_> = parse_json(&bytes)?;
    let client = body.client_address.or(caller);
    let verification = state.tenancy.verify(&body.key, client).await?;
    let view = VerificationView::new(verification.code, verification.lookup.as_deref());
    // Serialized here, while the view still borrows from the lookup.
    Ok(Json(view).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_without_a_key_is_all_nulls_and_no_scopes_or_resources() {
        let view = VerificationView::new(VerifyCode::Malformed, None);
        assert_eq!(
            serde_json::to_value(view).unwrap(),
            serde_json::json!({
                "valid": false, "code": "malformed", "tenant": null,
                "namespace": null, "scopes": [], "resources": [], "expiresAt": null
            })
        );
    }

    #[test]
    fn the_body_borrows_the_key_unless_it_has_escapes() {
        let body: VerifyBody<'_> = parse_json(br#"{"key": "tny_live_abc"}"#).unwrap();
        assert!(matches!(body.key, Cow::Borrowed("tny_live_abc")));
        let escaped: VerifyBody<'_> = parse_json(br#"{"key": "tny\u005flive"}"#).unwrap();
        assert_eq!(escaped.key, "tny_live");
        assert!(parse_json::<VerifyBody<'_>>(br#"{"key": 5}"#).is_err());
        assert!(parse_json::<VerifyBody<'_>>(br#"{"key": "a", "x": 1}"#).is_err());
        assert!(parse_json::<VerifyBody<'_>>(br"{}").is_err());
    }
}
