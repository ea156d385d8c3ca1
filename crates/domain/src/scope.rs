//! What a key may do: the scopes of SPEC §3 and the roles that bundle them.

use std::fmt;

/// One permission a namespace key can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    TenantRead,
    SettingsRead,
    SettingsWrite,
    KeysRead,
    KeysWrite,
    ResourcesRead,
    ResourcesWrite,
    LibraryRead,
    LibraryWrite,
    UsageRead,
    UsageWrite,
    AuditRead,
    DomainsWrite,
}

impl Scope {
    pub const ALL: [Self; 13] = [
        Self::TenantRead,
        Self::SettingsRead,
        Self::SettingsWrite,
        Self::KeysRead,
        Self::KeysWrite,
        Self::ResourcesRead,
        Self::ResourcesWrite,
        Self::LibraryRead,
        Self::LibraryWrite,
        Self::UsageRead,
        Self::UsageWrite,
        Self::AuditRead,
        Self::DomainsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantRead => "tenant:read",
            Self::SettingsRead => "settings:read",
            Self::SettingsWrite => "settings:write",
            Self::KeysRead => "keys:read",
            Self::KeysWrite => "keys:write",
            Self::ResourcesRead => "resources:read",
            Self::ResourcesWrite => "resources:write",
            Self::LibraryRead => "library:read",
            Self::LibraryWrite => "library:write",
            Self::UsageRead => "usage:read",
            Self::UsageWrite => "usage:write",
            Self::AuditRead => "audit:read",
            Self::DomainsWrite => "domains:write",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    fn is_read(self) -> bool {
        self.as_str().ends_with(":read")
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u16);

impl Scopes {
    pub const NONE: Self = Self(0);

    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether every scope of `other` is in `self`.
    pub fn covers(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Stable bit representation, for storage adapters.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Reads bits written by [`Self::bits`]; unknown bits are dropped.
    pub fn from_bits(bits: u16) -> Self {
        Self(bits & Self::all().0)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

/// A named bundle of scopes for namespace keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Every scope of the namespace.
    Admin,
    /// Every read scope, plus `resources:write`.
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Admin, Self::Member]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }

    pub fn scopes(self) -> Scopes {
        match self {
            Self::Admin => Scopes::all(),
            Self::Member => Scope::ALL
                .into_iter()
                .filter(|s| s.is_read() || *s == Scope::ResourcesWrite)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_expand_to_their_scopes() {
        assert_eq!(Role::Admin.scopes().iter().count(), Scope::ALL.len());
        let member: Vec<_> = Role::Member.scopes().iter().map(Scope::as_str).collect();
        assert!(member.contains(&"resources:write"));
        assert!(!member.contains(&"keys:write"));
        assert!(member.contains(&"audit:read"));
    }

    #[test]
    fn scope_names_and_bits_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        let set: Scopes = [Scope::KeysRead, Scope::UsageWrite].into_iter().collect();
        assert_eq!(Scopes::from_bits(set.bits()), set);
        assert!(Scopes::all().covers(set));
        assert!(!set.covers(Scopes::all()));
    }
}
