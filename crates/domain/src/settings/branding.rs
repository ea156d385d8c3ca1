//! The `branding` settings group (SPEC §5): the names, addresses, images and
//! colors a tenant's users see, and the effective branding of a namespace
//! (seed 000: a namespace may override any branding field of its tenant, and
//! a tenant falls back to its org's defaults).

use super::SettingsGroup;
use super::patch::{FieldVisitor, Fields};
use super::values::{HexColor, HttpsUrl};
use crate::values::{Email, Name};

/// The `branding` settings of an org (its defaults), a tenant or a namespace
/// (an override). Every field is optional: `None` is "not set here", and the
/// level below applies (see [`effective_branding`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandingSettings {
    /// `companyName`: the company named in pages and emails.
    pub company_name: Option<Name>,
    /// `senderName`: the display name emails are sent from.
    pub sender_name: Option<Name>,
    /// `senderEmail`: the address emails are sent from.
    pub sender_email: Option<Email>,
    /// `contactEmail`: where users write for help.
    pub contact_email: Option<Email>,
    /// `logoUrl`: the logo on pages and in emails.
    pub logo_url: Option<HttpsUrl>,
    /// `faviconUrl`: the browser tab's icon.
    pub favicon_url: Option<HttpsUrl>,
    /// `primaryColor`.
    pub primary_color: Option<HexColor>,
    /// `accentColor`.
    pub accent_color: Option<HexColor>,
    /// `backgroundColor`.
    pub background_color: Option<HexColor>,
}

impl BrandingSettings {
    /// This branding laid over `below`: each field from `self` where it is
    /// set, else from `below`. Fields are taken one by one, so an override of
    /// the logo alone keeps every other field of the level below.
    pub fn over(&self, below: &Self) -> Self {
        fn pick<T: Clone>(top: &Option<T>, below: &Option<T>) -> Option<T> {
            top.as_ref().or(below.as_ref()).cloned()
        }
        Self {
            company_name: pick(&self.company_name, &below.company_name),
            sender_name: pick(&self.sender_name, &below.sender_name),
            sender_email: pick(&self.sender_email, &below.sender_email),
            contact_email: pick(&self.contact_email, &below.contact_email),
            logo_url: pick(&self.logo_url, &below.logo_url),
            favicon_url: pick(&self.favicon_url, &below.favicon_url),
            primary_color: pick(&self.primary_color, &below.primary_color),
            accent_color: pick(&self.accent_color, &below.accent_color),
            background_color: pick(&self.background_color, &below.background_color),
        }
    }
}

/// The branding a namespace's users see: the namespace's override (if any)
/// over its tenant's branding over its org's defaults, field by field. For a
/// tenant's own pages (no namespace), pass `None`.
pub fn effective_branding(
    org: &BrandingSettings,
    tenant: &BrandingSettings,
    namespace: Option<&BrandingSettings>,
) -> BrandingSettings {
    let tenant = tenant.over(org);
    match namespace {
        Some(namespace) => namespace.over(&tenant),
        None => tenant,
    }
}

impl Fields for BrandingSettings {
    fn visit<V: FieldVisitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        visitor.field("companyName", &mut self.company_name)?;
        visitor.field("senderName", &mut self.sender_name)?;
        visitor.field("senderEmail", &mut self.sender_email)?;
        visitor.field("contactEmail", &mut self.contact_email)?;
        visitor.field("logoUrl", &mut self.logo_url)?;
        visitor.field("faviconUrl", &mut self.favicon_url)?;
        visitor.field("primaryColor", &mut self.primary_color)?;
        visitor.field("accentColor", &mut self.accent_color)?;
        visitor.field("backgroundColor", &mut self.background_color)
    }
}

impl SettingsGroup for BrandingSettings {
    const NAME: &'static str = "branding";
}
