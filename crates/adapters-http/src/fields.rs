//! Field schemas that state the domain's rules exactly, so that an API
//! fuzzer (schemathesis) generates only values the domain accepts from them,
//! and every value they exclude is one the domain refuses: each `pattern` is
//! the domain type's own `PATTERN` (held to its parser by the domain's tests),
//! each enum the domain's own list.
//!
//! Settings documents are JSON merge-patches, where `null` removes a field:
//! their fields take `null` too (the `nullable_*` forms).

use domain::settings::{Cidr, Currency, HexColor, HttpsUrl, IpAllowlist, LanguageTag, TimeZone};
use domain::{Email, Name, Regions, UserId};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// A string held to `pattern`, at most `max` characters long when given.
fn text(pattern: &str, max: Option<usize>, example: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(max)
        .examples([json!(example)])
}

/// One of `values`, or `null`.
fn one_of_or_null<'a>(values: impl IntoIterator<Item = &'a str>, example: &str) -> Schema {
    let values = values
        .into_iter()
        .map(Value::from)
        .chain([Value::Null])
        .collect::<Vec<_>>();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .examples([json!(example)])
        .into()
}

/// What [`AvailableRegion`] says it is, with or without the deployment's list.
const AVAILABLE_REGION: &str =
    "A region of this deployment that takes new tenants (`GET /v1/regions`).";

/// A region of the deployment that takes new tenants. The document every
/// deployment serves lists its own ([`with_regions`]); without one, any code
/// of a region's shape.
pub(crate) struct AvailableRegion;

impl utoipa::PartialSchema for AvailableRegion {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(AVAILABLE_REGION))
            .pattern(Some(domain::RegionCode::PATTERN))
            .examples([json!("eu-west")])
            .into()
    }
}

impl utoipa::ToSchema for AvailableRegion {}

/// `document` with [`AvailableRegion`] listing the available regions of
/// `regions`, so that a client (or a fuzzer) offers only those.
pub(crate) fn with_regions(mut document: OpenApi, regions: &Regions) -> OpenApi {
    let available: Vec<&str> = regions
        .all()
        .iter()
        .filter(|region| region.available)
        .map(|region| region.code.as_str())
        .collect();
    if let Some(components) = document.components.as_mut() {
        let example = available.first().copied().unwrap_or_default();
        let listed = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(AVAILABLE_REGION))
            .enum_values(Some(available.clone()))
            .examples([json!(example)]);
        components
            .schemas
            .insert("AvailableRegion".to_owned(), listed.into());
    }
    document
}

/// `builder`'s string, or `null`.
fn or_null(builder: ObjectBuilder) -> Schema {
    builder
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .into()
}

fn name(example: &str) -> ObjectBuilder {
    text(Name::PATTERN, None, example)
}

fn email(example: &str) -> ObjectBuilder {
    text(Email::PATTERN, Some(Email::MAX_LEN), example)
}

fn https_url(example: &str) -> ObjectBuilder {
    text(HttpsUrl::PATTERN, Some(HttpsUrl::MAX_LEN), example)
}

fn color(example: &str) -> ObjectBuilder {
    text(HexColor::PATTERN, None, example)
}

/// A display name ([`Name`]), or `null`.
pub(crate) fn nullable_name() -> Schema {
    or_null(name("Acme Corp"))
}

pub(crate) fn nullable_sender_name() -> Schema {
    or_null(name("Acme Support"))
}

/// An email address ([`Email`]).
pub(crate) fn email_address() -> Schema {
    email("ada@acme.example").into()
}

pub(crate) fn nullable_email() -> Schema {
    or_null(email("hello@acme.example"))
}

/// A user id of the identity provider ([`UserId`]).
pub(crate) fn user_id() -> Schema {
    text(UserId::PATTERN, None, "user_456").into()
}

pub(crate) fn nullable_language() -> Schema {
    or_null(text(
        LanguageTag::PATTERN,
        Some(LanguageTag::MAX_LEN),
        "en-US",
    ))
}

pub(crate) fn nullable_timezone() -> Schema {
    one_of_or_null(TimeZone::names(), "Europe/Berlin")
}

pub(crate) fn nullable_currency() -> Schema {
    one_of_or_null(Currency::codes().iter().copied(), "EUR")
}

pub(crate) fn nullable_logo_url() -> Schema {
    or_null(https_url("https://acme.example/logo.png"))
}

pub(crate) fn nullable_favicon_url() -> Schema {
    or_null(https_url("https://acme.example/favicon.ico"))
}

pub(crate) fn nullable_primary_color() -> Schema {
    or_null(color("#1A2B3C"))
}

pub(crate) fn nullable_accent_color() -> Schema {
    or_null(color("#FFCC00"))
}

pub(crate) fn nullable_background_color() -> Schema {
    or_null(color("#FFFFFF"))
}

/// The networks of an IP allowlist ([`Cidr`]), or `null`.
pub(crate) fn nullable_networks() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(text(Cidr::pattern(), None, "203.0.113.0/24"))
        .max_items(Some(IpAllowlist::MAX_ITEMS))
        .description(Some(
            "Networks in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`; a bare address \
             is one host; host bits after the prefix are cleared). Empty or absent: every \
             address. The tenant's API keys are refused from outside it.",
        ))
        .examples([json!(["203.0.113.0/24"])])
        .into()
}

/// `true`, the one value a flag that is only ever set takes.
pub(crate) fn only_true() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .into()
}
