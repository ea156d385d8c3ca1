//! What a key may do: the scopes of docs/api.md §3 and the roles that bundle them.

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
    // Appended last: a scope's bit is its position here, and stored keys keep
    // their bits.
    /// A tenant's secrets: names, dates and versions, never a character of a value.
    SecretsRead,
    /// A tenant's secret values: revealing them, and writing or deleting them.
    SecretsReveal,
}

impl Scope {
    pub const ALL: [Self; 15] = [
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
        Self::SecretsRead,
        Self::SecretsReveal,
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
            Self::SecretsRead => "secrets:read",
            Self::SecretsReveal => "secrets:reveal",
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

    /// A stored key's scopes: a key minted with a role holds its role's
    /// scopes as the role is defined now (so an `admin` key minted before a
    /// scope was added holds that scope too), a key minted with a scope list
    /// exactly the stored `bits`. Stores read keys through this.
    pub fn of_stored(role: Option<Role>, bits: u16) -> Self {
        role.map_or_else(|| Self::from_bits(bits), Role::scopes)
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
    /// Every read scope but `secrets:read`, plus `resources:write`.
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
            // Secrets are for admins only: a member sees not even their names.
            Self::Member => Scope::ALL
                .into_iter()
                .filter(|s| {
                    (s.is_read() && *s != Scope::SecretsRead) || *s == Scope::ResourcesWrite
                })
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
        assert!(!member.contains(&"secrets:read"));
        assert!(!member.contains(&"secrets:reveal"));
        let admin = Role::Admin.scopes();
        assert!(admin.contains(Scope::SecretsRead) && admin.contains(Scope::SecretsReveal));
    }

    #[test]
    fn every_scope_has_its_own_bit_within_sixteen() {
        let bits: Vec<u16> = Scope::ALL.iter().map(|s| s.bit()).collect();
        assert_eq!(Scopes::all().0.count_ones() as usize, Scope::ALL.len());
        assert!(bits.iter().all(|b| b.is_power_of_two()));
        // Stored keys keep the bits they were written with.
        assert_eq!(Scope::TenantRead.bit(), 1);
        assert_eq!(Scope::DomainsWrite.bit(), 1 << 12);
        assert_eq!(Scope::SecretsReveal.bit(), 1 << 14);
    }

    #[test]
    fn a_stored_admin_key_from_before_the_secret_scopes_holds_them() {
        // Every scope that existed before secrets had their own.
        let before: u16 = (1 << 13) - 1;
        let admin = Scopes::of_stored(Some(Role::Admin), before);
        assert!(admin.contains(Scope::SecretsReveal));
        assert_eq!(admin, Scopes::all());
        let member = Scopes::of_stored(Some(Role::Member), before);
        assert!(!member.contains(Scope::SecretsRead));
        assert!(!member.contains(Scope::KeysWrite));
        let listed = Scopes::of_stored(None, Scope::KeysRead.bit());
        assert_eq!(listed.iter().collect::<Vec<_>>(), [Scope::KeysRead]);
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
