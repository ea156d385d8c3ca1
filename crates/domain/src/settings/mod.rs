//! A tenant's settings (SPEC §5): three groups, `general`, `branding` and
//! `security` (and an org's `registration`), each a document of optional fields that a caller reads as JSON
//! and changes with a JSON merge-patch (RFC 7396).
//!
//! Every field has a validated type ([`LanguageTag`], [`TimeZone`],
//! [`Currency`], [`HexColor`], [`HttpsUrl`], [`Cidr`], ...), so a settings value
//! that exists is valid, and a patch is applied here, in the domain, rather
//! than by each store or handler: [`SettingsGroup::patched`] refuses the first
//! bad field by its camelCase name and otherwise answers the new document and
//! the names of the fields that changed (for the audit record, which never
//! holds values: emails are personal data). A namespace may override its
//! tenant's branding; [`effective_branding`] lays the levels over each other.
//!
//! No storage and no HTTP here: stores keep [`SettingsGroup::to_json`] and read
//! it back with [`SettingsGroup::from_json`].
//!
//! ```
//! use domain::settings::{BrandingSettings, SettingsError, SettingsGroup, effective_branding};
//! use serde_json::json;
//!
//! let tenant = BrandingSettings::default()
//!     .patched(&json!({ "companyName": "Acme", "primaryColor": "#1a2b3c" }))?
//!     .document;
//! assert_eq!(tenant.to_json(), json!({ "companyName": "Acme", "primaryColor": "#1A2B3C" }));
//!
//! // `null` removes a field; the answer names what changed, never the values.
//! let patched = tenant.patched(&json!({ "primaryColor": null, "senderName": "Acme Support" }))?;
//! assert_eq!(patched.changed, ["senderName", "primaryColor"]);
//!
//! // A bad field is refused by name, and nothing changes.
//! let refused = tenant.patched(&json!({ "logoUrl": "http://acme.example/logo.png" }));
//! assert!(matches!(refused, Err(SettingsError::Invalid { field: "logoUrl", .. })));
//!
//! // A namespace's override wins field by field; the rest is the tenant's.
//! let staging = BrandingSettings::from_json(&json!({ "companyName": "Acme (staging)" }))?;
//! let seen = effective_branding(&BrandingSettings::default(), &tenant, Some(&staging));
//! assert_eq!(seen.to_json(), json!({ "companyName": "Acme (staging)", "primaryColor": "#1A2B3C" }));
//! # Ok::<(), SettingsError>(())
//! ```

mod branding;
mod general;
mod patch;
mod registration;
mod security;
mod values;

use std::fmt;

use serde_json::Value;

use crate::region::Regions;
use crate::values::InvalidValue;

pub use branding::{BrandingSettings, effective_branding};
pub use general::GeneralSettings;
pub use registration::{EmailDomains, RegistrationSettings};
pub use security::{AuthMethod, AuthMethods, Cidr, IpAllowlist, SecuritySettings, SessionTimeout};
pub use values::{Currency, DateFormat, HexColor, HttpsUrl, LanguageTag, TimeZone};

/// Why a settings document or patch was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The document or patch is not a JSON object.
    #[error("{group} settings must be a JSON object")]
    NotAnObject {
        /// The group's name, as in [`SettingsGroup::NAME`].
        group: &'static str,
    },
    /// A member names no field of the group (`field` is the caller's text).
    #[error("{field:?} is not a {group} setting")]
    UnknownField {
        /// The group's name, as in [`SettingsGroup::NAME`].
        group: &'static str,
        /// The member's name as the caller wrote it.
        field: String,
    },
    /// A field's value is not one its type accepts; `field` is its camelCase
    /// name, `reason` what is wrong and what is expected.
    #[error("{field} {reason}")]
    Invalid {
        /// The field's camelCase name, as in [`SettingsGroup::field_names`].
        field: &'static str,
        /// What is wrong with the value and what is expected.
        reason: InvalidValue,
    },
}

/// A settings document after a patch: the new document, and the fields whose
/// value it changed (set, replaced or removed), in the group's order. Fields
/// the patch named with the value they already had are not in `changed`; an
/// empty `changed` means the patch changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patched<G> {
    /// The document with the patch applied.
    pub document: G,
    /// The camelCase names of the fields whose value changed.
    pub changed: Vec<&'static str>,
}

/// One settings group: its JSON document and its merge-patch. Implemented by
/// [`GeneralSettings`], [`BrandingSettings`], [`SecuritySettings`] and an
/// org's [`RegistrationSettings`] only (the
/// field list it builds on is private to this module).
pub trait SettingsGroup: patch::Fields + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The group's name in the API and the audit: `general`, `branding`,
    /// `security`, `registration`.
    const NAME: &'static str;

    /// Checks what a document's values cannot tell alone: that what it names
    /// exists in this deployment (the `registration` group's default region
    /// is one of `regions`, available). Run when a patch is written, never
    /// when a stored document is read (a region may be retired later).
    fn check_against(&self, regions: &Regions) -> Result<(), SettingsError> {
        let _ = regions;
        Ok(())
    }

    /// The camelCase names of the group's fields, in its documented order.
    fn field_names() -> Vec<&'static str> {
        patch::names::<Self>()
    }

    /// The document as JSON: an object with a camelCase member per field that
    /// is set (unset fields are omitted, never `null`).
    fn to_json(&self) -> Value {
        patch::document(self)
    }

    /// Reads a document written by [`SettingsGroup::to_json`] (a store reading
    /// back what it kept), validating every field as a patch would. A `null`
    /// member reads as an unset field.
    fn from_json(document: &Value) -> Result<Self, SettingsError> {
        Self::default().patched(document).map(|p| p.document)
    }

    /// This document with the JSON merge-patch `patch` applied (RFC 7396): a
    /// member set to `null` removes that field, an absent member leaves it,
    /// any other value replaces it once its type accepts it. Refuses a patch
    /// that is not an object ([`SettingsError::NotAnObject`]), a member that
    /// names no field ([`SettingsError::UnknownField`], checked first), and
    /// then the first field, in the group's order, whose value is refused
    /// ([`SettingsError::Invalid`]). `self` is never changed: the result is a
    /// new document.
    fn patched(&self, patch: &Value) -> Result<Patched<Self>, SettingsError> {
        let (document, changed) = patch::merge(Self::NAME, self, patch)?;
        Ok(Patched { document, changed })
    }
}
