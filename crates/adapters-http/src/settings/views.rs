//! What the settings endpoints read and write: the documents' schemas (one per
//! group, with every field's constraints), the `ETag`/`If-Match` versions, the
//! namespace branding view and the mapping of `SettingsUseError` to problems.

use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use domain::settings::SettingsGroup;
use domain::{NamespaceBranding, Versioned};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::fields;
use crate::problem::{Code, FieldError, Problem};

/// The `general` group; every field optional (`null` in a patch removes it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = GeneralSettings)]
pub(crate) struct GeneralSchema {
    #[schema(schema_with = fields::nullable_name)]
    name: Option<String>,
    /// A language tag: a language, then optionally a script and a region
    /// (`en`, `en-US`, `zh-Hant-TW`, `es-419`).
    #[schema(schema_with = fields::nullable_language)]
    default_language: Option<String>,
    /// An IANA time zone name.
    #[schema(schema_with = fields::nullable_timezone)]
    timezone: Option<String>,
    #[schema(example = "YYYY-MM-DD")]
    date_format: Option<DateFormatSchema>,
    /// An active ISO 4217 currency code.
    #[schema(schema_with = fields::nullable_currency)]
    currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DateFormat)]
#[allow(
    dead_code,
    reason = "the OpenAPI schema only: documents travel as JSON, checked by the domain"
)]
pub(crate) enum DateFormatSchema {
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    #[serde(rename = "DD/MM/YYYY")]
    DayFirst,
    #[serde(rename = "MM/DD/YYYY")]
    MonthFirst,
    #[serde(rename = "DD.MM.YYYY")]
    Dotted,
    #[serde(rename = "D MMM YYYY")]
    Written,
}

/// The `branding` group (a tenant's, an org's defaults, or a namespace's
/// override); every field optional.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = BrandingSettings)]
pub(crate) struct BrandingSchema {
    #[schema(schema_with = fields::nullable_name)]
    company_name: Option<String>,
    #[schema(schema_with = fields::nullable_sender_name)]
    sender_name: Option<String>,
    #[schema(schema_with = fields::nullable_email)]
    sender_email: Option<String>,
    #[schema(schema_with = fields::nullable_email)]
    contact_email: Option<String>,
    #[schema(schema_with = fields::nullable_logo_url)]
    logo_url: Option<String>,
    #[schema(schema_with = fields::nullable_favicon_url)]
    favicon_url: Option<String>,
    #[schema(schema_with = fields::nullable_primary_color)]
    primary_color: Option<String>,
    #[schema(schema_with = fields::nullable_accent_color)]
    accent_color: Option<String>,
    #[schema(schema_with = fields::nullable_background_color)]
    background_color: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuthMethod)]
#[allow(
    dead_code,
    reason = "the OpenAPI schema only: documents travel as JSON, checked by the domain"
)]
pub(crate) enum AuthMethodSchema {
    Password,
    Sso,
    Passkey,
    MagicLink,
}

/// The `security` group; every field optional.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SecuritySettings)]
pub(crate) struct SecuritySchema {
    require_mfa: Option<bool>,
    #[schema(min_items = 1, max_items = 4)]
    allowed_auth_methods: Option<Vec<AuthMethodSchema>>,
    #[schema(schema_with = fields::nullable_networks)]
    ip_allowlist: Option<Vec<String>>,
    #[schema(minimum = 5, maximum = 43200, example = 60)]
    session_timeout_minutes: Option<u32>,
}

/// A namespace's branding: its override, and what is in effect (the override
/// over its tenant's branding over its org's defaults).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NamespaceBranding)]
pub(crate) struct NamespaceBrandingView {
    #[serde(rename = "override")]
    #[schema(value_type = BrandingSchema)]
    overrides: Value,
    #[schema(value_type = BrandingSchema)]
    effective: Value,
}

impl From<NamespaceBranding> for NamespaceBrandingView {
    fn from(b: NamespaceBranding) -> Self {
        Self {
            overrides: b.override_.document.to_json(),
            effective: b.effective.to_json(),
        }
    }
}

/// A document's `ETag`: its version, quoted.
pub(crate) fn etag<G>(versioned: &Versioned<G>) -> [(HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("\"{}\"", versioned.version))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    [(ETAG, value)]
}

/// The version `If-Match` names (`"3"`, as an `ETag` of ours reads), if the
/// header is there; `*` matches whatever is stored, like no header.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(raw) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let text = raw.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Problem::fields(
                Code::InvalidHeader,
                vec![FieldError {
                    field: "If-Match".into(),
                    message: "must be an ETag this API sent, like \"3\", or *".into(),
                }],
            )
        })
}

/// A group as JSON.
pub(crate) fn json_of<G: SettingsGroup>(versioned: &Versioned<G>) -> Value {
    versioned.document.to_json()
}
