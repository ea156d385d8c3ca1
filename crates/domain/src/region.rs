//! Regions come from configuration; a tenant's region is fixed at provisioning.

use std::fmt;

use crate::values::{InvalidValue, Name};

/// A region code such as `global` or `eu-west-1`: 2–32 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(String);

impl RegionCode {
    /// [`RegionCode::parse`]'s rule as a regular expression.
    pub const PATTERN: &'static str = "^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])$";

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = (2..=32).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !ok {
            return Err(InvalidValue(format!(
                "{raw:?} is not a region code (2 to 32 characters of a-z, 0-9 and '-')"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One region the deployment offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: RegionCode,
    pub name: Name,
    /// New tenants may be placed only in available regions; existing ones stay put.
    pub available: bool,
}

/// The configured regions, in configuration order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions(Vec<Region>);

/// Why a region list from configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionsError {
    #[error("at least one region must be configured")]
    Empty,
    #[error("region {0} is configured twice")]
    Duplicate(RegionCode),
    #[error("no region is available for new tenants")]
    NoneAvailable,
}

impl Regions {
    pub fn new(regions: Vec<Region>) -> Result<Self, RegionsError> {
        if regions.is_empty() {
            return Err(RegionsError::Empty);
        }
        for (i, region) in regions.iter().enumerate() {
            if regions[..i].iter().any(|r| r.code == region.code) {
                return Err(RegionsError::Duplicate(region.code.clone()));
            }
        }
        if !regions.iter().any(|r| r.available) {
            return Err(RegionsError::NoneAvailable);
        }
        Ok(Self(regions))
    }

    /// The single region `global`, the default when nothing is configured.
    pub fn single_global() -> Self {
        Self(vec![Region {
            code: RegionCode("global".to_owned()),
            name: Name::parse("Global").expect("a valid literal name"),
            available: true,
        }])
    }

    pub fn all(&self) -> &[Region] {
        &self.0
    }

    pub fn get(&self, code: &RegionCode) -> Option<&Region> {
        self.0.iter().find(|r| &r.code == code)
    }

    /// Where a tenant goes when provisioning names no region: the first available.
    pub fn default_region(&self) -> &Region {
        self.0
            .iter()
            .find(|r| r.available)
            .expect("Regions::new guarantees an available region")
    }
}
