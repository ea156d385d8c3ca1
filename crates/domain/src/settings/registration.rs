//! The `registration` settings group of an org (SPEC §5, self-service
//! registration): whether anyone may register a tenant of the org through the
//! public endpoint, the plan and region such a tenant gets, and which email
//! domains its admin may have.

use serde_json::Value;

use super::patch::{FieldVisitor, Fields, SettingValue, string, strings};
use super::{SettingsError, SettingsGroup};
use crate::custom_domain::DomainName;
use crate::region::{RegionCode, Regions};
use crate::values::{Email, InvalidValue, Plan};

/// An org's `registration` settings. Every field is optional: an unset
/// `enabled` is `false` (an org opts in), an unset `defaultPlan` is the free
/// plan, an unset `defaultRegion` the deployment's default region, and an
/// unset or empty `allowedEmailDomains` allows every domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// `enabled`: whether the public registration endpoint serves the org.
    pub enabled: Option<bool>,
    /// `defaultPlan`: the plan a registered tenant gets.
    pub default_plan: Option<Plan>,
    /// `defaultRegion`: where a registration that names no region goes. The
    /// deployment must have it, available: checked against its regions when
    /// the setting is written ([`SettingsGroup::check_against`]).
    pub default_region: Option<RegionCode>,
    /// `allowedEmailDomains`: the domains an admin email may be at.
    pub allowed_email_domains: Option<EmailDomains>,
}

impl RegistrationSettings {
    /// Whether the org opted in.
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }

    /// Whether `email` may register: its domain is one of the allowed ones
    /// (exactly: a subdomain is another domain), or no list is set.
    pub fn allows(&self, email: &Email) -> bool {
        match &self.allowed_email_domains {
            None => true,
            Some(domains) if domains.0.is_empty() => true,
            Some(domains) => {
                let at = email.as_str().rsplit_once('@').map_or("", |(_, d)| d);
                DomainName::parse(at).is_ok_and(|d| domains.0.contains(&d))
            }
        }
    }
}

/// The email domains registration allows: domain names, at most
/// [`EmailDomains::MAX_ITEMS`] as sent, each kept once (a repeat, case aside,
/// is dropped, the first spelling's position kept), as an IP allowlist does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDomains(Vec<DomainName>);

impl EmailDomains {
    /// Most domains one org may list.
    pub const MAX_ITEMS: usize = 100;

    /// The list, repeats dropped; refused when it is too long.
    pub fn new(domains: Vec<DomainName>) -> Result<Self, InvalidValue> {
        crate::values::check_list_len(domains.len(), Self::MAX_ITEMS)?;
        let mut kept: Vec<DomainName> = Vec::with_capacity(domains.len());
        for domain in domains {
            if !kept.contains(&domain) {
                kept.push(domain);
            }
        }
        Ok(Self(kept))
    }

    /// The domains, in the order given.
    pub fn domains(&self) -> &[DomainName] {
        &self.0
    }
}

impl SettingValue for EmailDomains {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        let domains = strings(value, Self::MAX_ITEMS)?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                DomainName::parse(raw)
                    .map_err(|e| InvalidValue::new(format!("item at index {i} {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(domains)
    }

    fn to_json(&self) -> Value {
        Value::from(self.0.iter().map(DomainName::as_str).collect::<Vec<_>>())
    }
}

impl SettingValue for Plan {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        Plan::parse(string(value)?)
    }

    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl SettingValue for RegionCode {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        RegionCode::parse(string(value)?)
    }

    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl Fields for RegistrationSettings {
    fn visit<V: FieldVisitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        visitor.field("enabled", &mut self.enabled)?;
        visitor.field("defaultPlan", &mut self.default_plan)?;
        visitor.field("defaultRegion", &mut self.default_region)?;
        visitor.field("allowedEmailDomains", &mut self.allowed_email_domains)
    }
}

impl SettingsGroup for RegistrationSettings {
    const NAME: &'static str = "registration";

    fn check_against(&self, regions: &Regions) -> Result<(), SettingsError> {
        match &self.default_region {
            Some(code) if !regions.get(code).is_some_and(|r| r.available) => {
                Err(SettingsError::Invalid {
                    field: "defaultRegion",
                    reason: InvalidValue::new(format!(
                        "must be an available region of this deployment ({code} is not)"
                    )),
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn email(raw: &str) -> Email {
        Email::parse(raw).unwrap()
    }

    #[test]
    fn a_document_reads_back_as_written_with_domains_in_lower_case() {
        let patched = RegistrationSettings::default()
            .patched(&json!({
                "enabled": true,
                "defaultPlan": "starter",
                "defaultRegion": "eu-west",
                "allowedEmailDomains": ["Acme.io", "example.com."],
            }))
            .unwrap();
        let json = patched.document.to_json();
        assert_eq!(
            json,
            json!({
                "enabled": true,
                "defaultPlan": "starter",
                "defaultRegion": "eu-west",
                "allowedEmailDomains": ["acme.io", "example.com"],
            })
        );
        assert_eq!(RegistrationSettings::from_json(&json), Ok(patched.document));
    }

    #[test]
    fn every_field_refuses_its_bad_values_by_name() {
        for (field, bad) in [
            ("enabled", json!("yes")),
            ("defaultPlan", json!("Gold Plan")),
            ("defaultPlan", json!(7)),
            ("defaultRegion", json!("EU_WEST")),
            ("allowedEmailDomains", json!("acme.io")),
            ("allowedEmailDomains", json!(["acme"])),
            ("allowedEmailDomains", json!([1])),
        ] {
            let refused = RegistrationSettings::default().patched(&json!({ field: bad }));
            assert!(
                matches!(refused, Err(SettingsError::Invalid { field: f, .. }) if f == field),
                "{field}: {bad} gave {refused:?}"
            );
        }
        let too_many: Vec<String> = (0..=EmailDomains::MAX_ITEMS)
            .map(|i| format!("d{i}.example"))
            .collect();
        assert!(
            RegistrationSettings::default()
                .patched(&json!({ "allowedEmailDomains": too_many }))
                .is_err()
        );
    }

    #[test]
    fn a_repeated_domain_is_kept_once() {
        let patched = RegistrationSettings::default()
            .patched(&json!({ "allowedEmailDomains": ["acme.io", "ACME.io", "b.example"] }))
            .unwrap();
        assert_eq!(
            patched.document.to_json()["allowedEmailDomains"],
            json!(["acme.io", "b.example"])
        );
    }

    #[test]
    fn registration_is_off_until_enabled_and_domains_match_exactly() {
        let unset = RegistrationSettings::default();
        assert!(!unset.is_enabled());
        assert!(unset.allows(&email("ada@anything.example")));
        let settings = RegistrationSettings::from_json(&json!({
            "enabled": true,
            "allowedEmailDomains": ["acme.io"],
        }))
        .unwrap();
        assert!(settings.is_enabled());
        assert!(settings.allows(&email("ada@acme.io")));
        assert!(settings.allows(&email("ada@ACME.io")));
        assert!(!settings.allows(&email("ada@eu.acme.io")));
        assert!(!settings.allows(&email("ada@acme.io.evil.example")));
        let empty = RegistrationSettings::from_json(&json!({ "allowedEmailDomains": [] })).unwrap();
        assert!(empty.allows(&email("ada@anything.example")));
    }
}
