//! The `general` settings group (SPEC §5): what the tenant is called and how
//! its product speaks to its users (language, time zone, dates, currency).

use super::SettingsGroup;
use super::patch::{FieldVisitor, Fields};
use super::values::{Currency, DateFormat, LanguageTag, TimeZone};
use crate::values::Name;

/// The `general` settings of a tenant. Every field is optional: `None` is
/// "not set", and the product's default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneralSettings {
    /// `name`: the name shown to the tenant's users.
    pub name: Option<Name>,
    /// `defaultLanguage`: the language the product speaks until a user picks one.
    pub default_language: Option<LanguageTag>,
    /// `timezone`: where the tenant's dates and times are local to.
    pub timezone: Option<TimeZone>,
    /// `dateFormat`: how dates are written.
    pub date_format: Option<DateFormat>,
    /// `currency`: what amounts are in.
    pub currency: Option<Currency>,
}

impl Fields for GeneralSettings {
    fn visit<V: FieldVisitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        visitor.field("name", &mut self.name)?;
        visitor.field("defaultLanguage", &mut self.default_language)?;
        visitor.field("timezone", &mut self.timezone)?;
        visitor.field("dateFormat", &mut self.date_format)?;
        visitor.field("currency", &mut self.currency)
    }
}

impl SettingsGroup for GeneralSettings {
    const NAME: &'static str = "general";
}
