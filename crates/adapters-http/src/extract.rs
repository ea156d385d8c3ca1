//! Extractors whose rejections are problems: JSON bodies ([`Body`], [`MergePatch`],
//! [`OptionalBody`], [`JsonBytes`]), the `{org}`/`{tenant}`/`{ns}`/`{id}` path segments ([`OrgPath`],
//! [`TenantPath`], [`NamespacePath`], [`KeyIdPath`]) and query strings
//! ([`QueryParams`]).
//!
//! Axum's own extractors answer in plain text; every handler uses these instead,
//! so a caller's mistake is always a `4xx` problem.

use std::fmt;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use domain::{ApiKeyId, IdempotencyKey, NamespaceRef, OrgRef, TenantRef};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use uuid::Uuid;

use crate::problem::{Code, Problem};
use crate::validate::Validator;

const JSON: &str = "application/json";
const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

/// A JSON request body (`Content-Type: application/json`).
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

/// A JSON merge-patch body (RFC 7396): `application/merge-patch+json`, or plain
/// `application/json` for clients that cannot set the former.
#[derive(Debug)]
pub(crate) struct MergePatch<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state, &[JSON]).await.map(Self)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MergePatch<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state, &[MERGE_PATCH_JSON, JSON])
            .await
            .map(Self)
    }
}

/// A JSON body that may be left out: no body at all (and no `Content-Type`), or
/// JSON `null`, reads as `T::default()`; anything else must be JSON, as for [`Body`].
#[derive(Debug)]
pub(crate) struct OptionalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.headers().get(CONTENT_TYPE).is_none() {
            let bytes = Bytes::from_request(request, state)
                .await
                .map_err(body_rejection)?;
            if bytes.is_empty() {
                return Ok(Self(T::default()));
            }
            return Err(not_json(&[JSON]));
        }
        // `null` is as good as no body.
        let body: Option<T> = read_json(request, state, &[JSON]).await?;
        Ok(Self(body.unwrap_or_default()))
    }
}

/// A JSON body (`Content-Type: application/json`), read whole but not parsed:
/// for handlers that parse it into types borrowing from it, sparing a copy.
#[derive(Debug)]
pub(crate) struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_bytes(request, state, &[JSON]).await.map(Self)
    }
}

async fn read_json<S: Send + Sync, T: DeserializeOwned>(
    request: Request,
    state: &S,
    accepted: &[&str],
) -> Result<T, Problem> {
    parse_json(&read_bytes(request, state, accepted).await?)
}

async fn read_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
    accepted: &[&str],
) -> Result<Bytes, Problem> {
    if !has_content_type(request.headers(), accepted) {
        return Err(not_json(accepted));
    }
    // `Bytes` honours the router's `DefaultBodyLimit`.
    Bytes::from_request(request, state)
        .await
        .map_err(body_rejection)
}

fn not_json(accepted: &[&str]) -> Problem {
    Problem::new(
        Code::UnsupportedMediaType,
        format!(
            "This endpoint reads JSON; send the body with `Content-Type: {}`.",
            accepted.join("` or `")
        ),
    )
}

/// Whether the media type (parameters such as `charset` aside) is one of `accepted`.
fn has_content_type(headers: &HeaderMap, accepted: &[&str]) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    accepted.iter().any(|a| essence.eq_ignore_ascii_case(a))
}

fn body_rejection(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        crate::problem::payload_too_large()
    } else {
        Problem::new(
            Code::MalformedJson,
            "The request body could not be read completely.",
        )
    }
}

/// Deserializes a whole body. The detail quotes serde's description of what is
/// wrong and where (`namespaces[1].mode: unknown variant ...`); the body types
/// set `expecting` so no Rust type name appears in it.
pub(crate) fn parse_json<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, Problem> {
    crate::validate::refuse_escaped_control_characters(bytes)?;
    // Every body of this API is an object, but serde's derived structs also
    // accept their fields as an array (`["acme"]` for `{"key": "acme"}`).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Problem::new(
            Code::MalformedJson,
            "The body: invalid type: array, expected a JSON object.",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_problem(&inner, (path != ".").then_some(path))
    })?;
    // Trailing data after the value is a syntax error, not something to ignore.
    deserializer.end().map_err(|e| json_problem(&e, None))?;
    Ok(value)
}

fn json_problem(e: &serde_json::Error, path: Option<String>) -> Problem {
    use serde_json::error::Category;
    match (e.classify(), path) {
        (Category::Data, Some(path)) => {
            Problem::new(Code::MalformedJson, format!("{path}: {e}.")).with_field(path)
        }
        (Category::Data, None) => Problem::new(Code::MalformedJson, format!("The body: {e}.")),
        (Category::Syntax | Category::Eof, _) => Problem::new(
            Code::MalformedJson,
            format!("The body is not valid JSON: {e}."),
        ),
        (Category::Io, _) => Problem::new(
            Code::MalformedJson,
            "The request body could not be read completely.",
        ),
    }
}

/// The path segments of a request, percent-decoded.
pub(crate) struct Segments(Vec<(String, String)>);

impl Segments {
    pub(crate) async fn read<S: Send + Sync>(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Self, Problem> {
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => {
                crate::validate::refuse_control_characters(Code::ValidationFailed, params.iter())?;
                Ok(Self(
                    params
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                ))
            }
            // A segment that is not UTF-8 once decoded cannot name anything.
            Err(RawPathParamsRejection::InvalidUtf8InPathParam(_)) => {
                Err(Problem::new(Code::NotFound, "No resource has this path."))
            }
            Err(_) => {
                tracing::error!("a path extractor is used on a route without parameters");
                Err(Problem::internal())
            }
        }
    }

    /// Parses the segment `name` with `parse`; a segment that is neither a UUID
    /// nor a valid key names nothing that can exist, hence 404.
    pub(crate) fn get<T, E>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Problem> {
        let raw = self
            .0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                tracing::error!(segment = name, "a path extractor misses its segment");
                Problem::internal()
            })?;
        parse(raw).map_err(|_| Problem::not_found(noun(name)))
    }
}

fn noun(segment: &str) -> &str {
    match segment {
        "ns" => "namespace",
        "id" => "API key",
        other => other,
    }
}

/// `/.../api-keys/{id}`: an API key's id (keys have no human key).
#[derive(Debug)]
pub(crate) struct KeyIdPath(pub ApiKeyId);

/// `/v1/orgs/{org}/...`
#[derive(Debug)]
pub(crate) struct OrgPath {
    pub org: OrgRef,
}

/// `/v1/orgs/{org}/tenants/{tenant}/...`
#[derive(Debug)]
pub(crate) struct TenantPath {
    pub org: OrgRef,
    pub tenant: TenantRef,
}

/// `/v1/orgs/{org}/tenants/{tenant}/namespaces/{ns}`
#[derive(Debug)]
pub(crate) struct NamespacePath {
    pub org: OrgRef,
    pub tenant: TenantRef,
    pub ns: NamespaceRef,
}

impl<S: Send + Sync> FromRequestParts<S> for KeyIdPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        let id = segments.get("id", |raw| Uuid::parse_str(raw).map(ApiKeyId::from_uuid))?;
        Ok(Self(id))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OrgPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
            tenant: segments.get("tenant", TenantRef::parse)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for NamespacePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
            tenant: segments.get("tenant", TenantRef::parse)?,
            ns: segments.get("ns", NamespaceRef::parse)?,
        })
    }
}

pub(crate) fn path_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

pub(crate) const ORG_PARAM: &str = "The org's key or id.";
pub(crate) const TENANT_PARAM: &str = "The tenant's key or id.";
const NS_PARAM: &str = "The namespace's key or id.";

impl utoipa::IntoParams for KeyIdPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut id = path_parameter("id", "The API key's id.");
        id.schema = Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into(),
        );
        vec![id]
    }
}

impl utoipa::IntoParams for OrgPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path_parameter("org", ORG_PARAM)]
    }
}

impl utoipa::IntoParams for TenantPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", ORG_PARAM),
            path_parameter("tenant", TENANT_PARAM),
        ]
    }
}

impl utoipa::IntoParams for NamespacePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", ORG_PARAM),
            path_parameter("tenant", TENANT_PARAM),
            path_parameter("ns", NS_PARAM),
        ]
    }
}

/// A query string as `name=value` pairs, taken one name at a time.
///
/// Each endpoint takes the parameters it knows; [`QueryParams::finish`] then
/// refuses whatever is left, and every invalid value, in one `invalid_query`.
#[derive(Debug)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
    errors: Validator,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| {
                Problem::new(
                    Code::InvalidQuery,
                    "The query string is not valid `name=value` pairs.",
                )
            })?
            .0;
        crate::validate::refuse_control_characters(
            Code::InvalidQuery,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        Ok(Self {
            pairs,
            errors: Validator::query(),
        })
    }
}

impl QueryParams {
    /// The value of `name`, if given and not empty. Given twice is an error.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.take_given(name).filter(|v| !v.is_empty())
    }

    /// The parameter's one value as given, empty or not.
    fn take_given(&mut self, name: &str) -> Option<String> {
        let mut values = Vec::new();
        self.pairs.retain(|(k, v)| {
            let hit = k == name;
            if hit {
                values.push(v.clone());
            }
            !hit
        });
        if values.len() > 1 {
            self.errors.add(name, "must be given at most once");
            return None;
        }
        values.pop()
    }

    /// The value of `name` parsed with `parse`; an invalid value is recorded and
    /// reads as absent (the request fails at [`Self::finish`] anyway).
    pub(crate) fn parse<T, E: fmt::Display>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        // Given empty, a typed parameter is a mistake, not an absent one.
        let raw = self.take_given(name)?;
        self.errors.check(name, parse(&raw))
    }

    /// Every `{prefix}K=V` pair as `(K, V)`.
    pub(crate) fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        self.pairs.retain(|(k, v)| match k.strip_prefix(prefix) {
            Some(rest) => {
                taken.push((rest.to_owned(), v.clone()));
                false
            }
            None => true,
        });
        taken
    }

    pub(crate) fn add_error(&mut self, field: impl fmt::Display, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// Refuses unknown parameters, then reports every error recorded.
    pub(crate) fn finish(mut self) -> Result<(), Problem> {
        let mut unknown: Vec<String> = self.pairs.drain(..).map(|(k, _)| k).collect();
        unknown.dedup();
        for name in unknown {
            self.errors
                .add(&name, "is not a parameter of this endpoint");
        }
        self.errors.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_media_types_are_matched_without_parameters() {
        let mut headers = HeaderMap::new();
        assert!(!has_content_type(&headers, &[JSON]));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(has_content_type(&headers, &[JSON]));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!has_content_type(&headers, &[JSON]));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(MERGE_PATCH_JSON));
        assert!(!has_content_type(&headers, &[JSON]));
        assert!(has_content_type(&headers, &[MERGE_PATCH_JSON, JSON]));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, expecting = "a JSON object")]
    #[allow(dead_code, reason = "only deserialized")]
    struct Sample {
        name: String,
    }

    #[test]
    fn json_errors_name_the_field_but_no_rust_type() {
        let problem = parse_json::<Sample>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(problem.code(), Code::MalformedJson);
        let text = format!("{problem:?}");
        assert!(text.contains("name: invalid type"), "{text}");
        let problem = parse_json::<Sample>(b"[]").unwrap_err();
        let text = format!("{problem:?}");
        assert!(text.contains("expected a JSON object"), "{text}");
        assert!(!text.contains("Sample"), "{text}");
        assert!(parse_json::<Sample>(br#"{"name": "a"} x"#).is_err());
        assert!(
            parse_json::<Sample>(br#" ["a"]"#).is_err(),
            "fields as an array"
        );
        assert!(parse_json::<Sample>(br#"{"name": "a"}"#).is_ok());
    }
}

/// The `Idempotency-Key` request header (docs/api.md §2), when sent: 1–255 visible
/// ASCII characters, once. Anything else is a `400` before anything runs.
#[derive(Debug)]
pub(crate) struct IdempotencyHeader(pub Option<IdempotencyKey>);

pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let invalid = |message: &str| {
            Problem::fields(
                Code::ValidationFailed,
                vec![crate::problem::FieldError {
                    field: "Idempotency-Key".into(),
                    message: message.into(),
                }],
            )
        };
        if values.next().is_some() {
            return Err(invalid("must be sent once"));
        }
        let raw = value
            .to_str()
            .map_err(|_| invalid("must be visible ASCII characters, without spaces"))?;
        IdempotencyKey::parse(raw)
            .map(|key| Self(Some(key)))
            .map_err(|e| invalid(&e.to_string()))
    }
}

impl utoipa::IntoParams for IdempotencyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes the request safe to retry: the first response is stored (encrypted) \
                     and replayed byte for byte, with `Idempotent-Replayed: true`, to every \
                     request with this key and the same method, path and body for 24 hours. \
                     The same key with another request is `422 idempotency_key_reused`; \
                     while the first is still running, `409 idempotency_in_progress`. \
                     Only successful responses are stored. 1–255 visible ASCII characters, \
                     unique per org; a UUID is a good choice.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(IdempotencyKey::MAX_LEN)),
                ))
                .build(),
        ]
    }
}
