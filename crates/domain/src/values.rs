//! Small validated values shared by the entities: names, plans, emails, owners,
//! reasons, metadata and namespace modes.

use std::collections::BTreeMap;
use std::fmt;

/// A value that failed validation, with a message meant for the API caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub(crate) String);

impl InvalidValue {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Rust's whitespace (`char::is_whitespace`, Unicode's `White_Space`) but for
/// the control characters free text refuses ([`is_refused_in_text`]), as the
/// body of a regular expression's character class: what may surround a name.
/// With the two below, for the `pattern`s that state the rules here.
macro_rules! edge_whitespace {
    () => {
        r"\t\n\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// Rust's control characters (`char::is_control`, Unicode's `Cc`), likewise.
macro_rules! control {
    () => {
        r"\x00-\x1F\x7F-\x9F"
    };
}

/// Whitespace and control characters together, likewise.
macro_rules! blank {
    () => {
        r"\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// Whether `c` is refused in free text (reasons, metadata values, searches):
/// every control character but the line breaks and tabs that multi-line text
/// legitimately holds. A NUL above all: PostgreSQL cannot store one in text,
/// so letting it through turns a caller's typo into a server error.
pub fn is_refused_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Refuses free text holding a character [`is_refused_in_text`] refuses.
pub fn check_text(raw: &str) -> Result<(), InvalidValue> {
    match raw.chars().find(|c| is_refused_in_text(*c)) {
        Some(c) => Err(InvalidValue::new(format!(
            "must not contain control characters (found U+{:04X})",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Refuses a list longer than `max`. Lists in requests are bounded so that one
/// request cannot make the server do unbounded work (a row per namespace, a
/// comparison per resource at every authorization).
pub fn check_list_len(len: usize, max: usize) -> Result<(), InvalidValue> {
    if len > max {
        return Err(InvalidValue::new(format!(
            "may hold at most {max} items (got {len})"
        )));
    }
    Ok(())
}

/// A display name: 1–200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Longest name allowed, in characters.
    pub const MAX_LEN: usize = 200;

    /// [`Name::parse`]'s rule as a regular expression (the API's `pattern`):
    /// whitespace around (tabs and line breaks the only control characters
    /// there), then 1 to 200 characters without control characters, neither
    /// the first nor the last of them whitespace.
    pub const PATTERN: &'static str = concat!(
        "^[",
        edge_whitespace!(),
        "]*(?:[^",
        blank!(),
        "]|[^",
        blank!(),
        "][^",
        control!(),
        "]{0,198}[^",
        blank!(),
        "])[",
        edge_whitespace!(),
        "]*$",
    );

    /// Trims whitespace off both ends and keeps the rest: 1 to 200
    /// characters, none a control character. Around them, tabs and line
    /// breaks are the only control characters taken (as in any free text).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if raw.chars().any(is_refused_in_text) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        let len = trimmed.chars().count();
        if len == 0 {
            return Err(InvalidValue::new("must not be empty"));
        }
        if len > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long (got {len})",
                Self::MAX_LEN
            )));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subscription plan code such as `free`, `pro` or `enterprise-2026`:
/// 1–63 characters of `[a-z0-9-_]`. Quotas per plan arrive with the quota issue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Plan(String);

impl Plan {
    /// The plan a tenant gets when provisioning names none.
    pub fn free() -> Self {
        Self("free".to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > 63 {
            return Err(InvalidValue::new("must be 1 to 63 characters long"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(InvalidValue::new(
                "may contain only lowercase letters, digits, '-' and '_'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, checked for shape only (`local@domain.tld`, ≤ 254 chars);
/// deliverability is the identity provider's concern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address, in characters.
    pub const MAX_LEN: usize = 254;

    /// [`Email::parse`]'s rule as a regular expression (with at most
    /// [`Email::MAX_LEN`] characters in all): 1 to 64 characters before the
    /// one `@`, then dot-separated labels, at least two, none empty; no
    /// whitespace or control characters anywhere.
    pub const PATTERN: &'static str = concat!(
        "^[^@",
        blank!(),
        "]{1,64}@[^@.",
        blank!(),
        "]+(?:\\.[^@.",
        blank!(),
        "]+)+$",
    );

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let bad = || InvalidValue::new("must be an email address like name@example.com");
        if raw.chars().count() > Self::MAX_LEN
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = raw.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.chars().count() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The tenant's owner: a reference into the SaaS builder's identity system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub user_id: UserId,
    pub email: Email,
}

/// An identity reference owned by the SaaS builder (1–200 printable characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// [`UserId::parse`]'s rule as a regular expression.
    pub const PATTERN: &'static str = concat!("^[^", control!(), "]{1,200}$");

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let len = raw.chars().count();
        if len == 0 || len > 200 || raw.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "must be 1 to 200 characters without control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a lifecycle transition happened: required, 1–500 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    pub const MAX_LEN: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long",
                Self::MAX_LEN
            )));
        }
        check_text(trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    /// A reason written by the platform itself (background jobs).
    pub(crate) fn system(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a namespace serves real traffic or tests (docs/api.md §1). Fixed at creation:
/// API keys carry the mode in their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    pub const ALL: [Self; 2] = [Self::Live, Self::Test];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

/// Free key-value strings on a tenant: at most [`Metadata::MAX_KEYS`] keys and
/// [`Metadata::MAX_BYTES`] bytes of keys and values together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    pub const MAX_KEYS: usize = 64;
    pub const MAX_BYTES: usize = 4096;
    const MAX_KEY_LEN: usize = 64;

    /// Validates a whole map.
    pub fn new(entries: BTreeMap<String, String>) -> Result<Self, InvalidValue> {
        let metadata = Self(entries);
        metadata.check()?;
        Ok(metadata)
    }

    fn check(&self) -> Result<(), InvalidValue> {
        if self.0.len() > Self::MAX_KEYS {
            return Err(InvalidValue::new(format!(
                "may hold at most {} keys (got {})",
                Self::MAX_KEYS,
                self.0.len()
            )));
        }
        for key in self.0.keys() {
            let ok = !key.is_empty()
                && key.len() <= Self::MAX_KEY_LEN
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
            if !ok {
                return Err(InvalidValue::new(format!(
                    "key {key:?} must be 1 to {} characters of letters, digits, '-', '_', '.' or ':'",
                    Self::MAX_KEY_LEN
                )));
            }
        }
        for (key, value) in &self.0 {
            check_text(value).map_err(|e| InvalidValue::new(format!("value of {key:?} {e}")))?;
        }
        let bytes = self.byte_size();
        if bytes > Self::MAX_BYTES {
            return Err(InvalidValue::new(format!(
                "may hold at most {} bytes of keys and values (got {bytes})",
                Self::MAX_BYTES
            )));
        }
        Ok(())
    }

    fn byte_size(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Applies a JSON merge-patch: `Some(v)` sets a key, `None` removes it.
    /// The result is validated as a whole; on error `self` is unchanged.
    pub fn merge(&self, patch: &BTreeMap<String, Option<String>>) -> Result<Self, InvalidValue> {
        let mut next = self.0.clone();
        for (key, value) in patch {
            match value {
                Some(value) => next.insert(key.clone(), value.clone()),
                None => next.remove(key),
            };
        }
        Self::new(next)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_limits_hold_after_a_merge() {
        let base = Metadata::new(BTreeMap::from([("tier".into(), "gold".into())])).unwrap();
        let too_many: BTreeMap<_, _> = (0..64)
            .map(|i| (format!("k{i}"), Some("v".into())))
            .collect();
        assert!(base.merge(&too_many).is_err(), "65 keys");
        let big = BTreeMap::from([("blob".to_owned(), Some("x".repeat(4096)))]);
        assert!(base.merge(&big).is_err(), "over 4 KiB");
        let removed = base
            .merge(&BTreeMap::from([("tier".to_owned(), None)]))
            .unwrap();
        assert!(removed.is_empty());
    }

    #[test]
    fn free_text_refuses_control_characters_but_line_breaks_and_tabs() {
        assert!(check_text("two\nlines\tand\r\n").is_ok());
        for bad in ["a\u{0}b", "\u{1b}[31m", "del\u{7f}", "c1\u{85}x"] {
            assert!(check_text(bad).is_err(), "{bad:?}");
            assert!(Reason::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Reason::parse("first line\nsecond line").is_ok());
        let nul = BTreeMap::from([("tier".to_owned(), "go\u{0}ld".to_owned())]);
        let message = Metadata::new(nul).unwrap_err().to_string();
        assert!(message.contains("\"tier\""), "{message}");
    }

    #[test]
    fn an_inventory_filter_names_the_parameter_holding_a_control_character() {
        use crate::query::TenantFilter;
        let mut filter = TenantFilter {
            text: Some("acme".into()),
            metadata: vec![("tier".into(), "gold".into())],
            ..TenantFilter::default()
        };
        assert_eq!(filter.control_character(), None);
        filter.metadata.push(("region".into(), "eu\u{0}".into()));
        assert_eq!(filter.control_character().unwrap().0, "metadata.region");
        filter.text = Some("ac\u{0}me".into());
        assert_eq!(filter.control_character().unwrap().0, "q");
    }

    #[test]
    fn emails_and_names_are_checked() {
        assert!(Email::parse("ops@acme.io").is_ok());
        for bad in ["", "acme.io", "a@b", "a@.b.c", "a b@c.d", "@c.d"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Name::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }
}
