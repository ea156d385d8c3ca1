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

use crate::problem::{Code, FieldError, Problem};

/// The `general` group; every field optional (`null` in a patch removes it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GeneralSettings)]
pub(crate) struct GeneralSchema {
    #[schema(min_length = 1, max_length = 200, example = "Acme Corp")]
    name: Option<String>,
    /// A BCP 47 language tag.
    #[schema(max_length = 64, example = "en-US")]
    default_language: Option<String>,
    /// An IANA time zone name.
    #[schema(example = "Europe/Berlin")]
    timezone: Option<String>,
    #[schema(example = "YYYY-MM-DD")]
    date_format: Option<DateFormatSchema>,
    /// An ISO 4217 currency code.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
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
#[serde(rename_all = "camelCase")]
#[schema(as = BrandingSettings)]
pub(crate) struct BrandingSchema {
    #[schema(min_length = 1, max_length = 200, example = "Acme Corp")]
    company_name: Option<String>,
    #[schema(min_length = 1, max_length = 200, example = "Acme Support")]
    sender_name: Option<String>,
    #[schema(max_length = 254, example = "support@acme.example")]
    sender_email: Option<String>,
    #[schema(max_length = 254, example = "hello@acme.example")]
    contact_email: Option<String>,
    #[schema(
        pattern = "^https://",
        max_length = 2048,
        example = "https://acme.example/logo.png"
    )]
    logo_url: Option<String>,
    #[schema(
        pattern = "^https://",
        max_length = 2048,
        example = "https://acme.example/favicon.ico"
    )]
    favicon_url: Option<String>,
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$", example = "#1A2B3C")]
    primary_color: Option<String>,
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$", example = "#FFCC00")]
    accent_color: Option<String>,
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$", example = "#FFFFFF")]
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
#[serde(rename_all = "camelCase")]
#[schema(as = SecuritySettings)]
pub(crate) struct SecuritySchema {
    require_mfa: Option<bool>,
    #[schema(min_items = 1, max_items = 4)]
    allowed_auth_methods: Option<Vec<AuthMethodSchema>>,
    /// CIDRs (`203.0.113.0/24`, `2001:db8::/32`; a bare address is one
    /// host). Empty or absent: every address. The tenant's API keys are
    /// refused from outside it.
    #[schema(max_items = 100, example = json!(["203.0.113.0/24"]))]
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
