//! Stable identifiers (UUIDv7, time-ordered) and references that accept an id or a key.

use std::fmt;

use uuid::Uuid;

use crate::slug::{KeyError, NamespaceKey, OrgKey, ResourceKey, TenantKey};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID minted by the `IdGenerator` port (or read back from storage).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies an org for ever.
    OrgId
);
id_type!(
    /// Identifies a tenant for ever, through renames and after deletion.
    TenantId
);
id_type!(
    /// Identifies a namespace for ever.
    NamespaceId
);
id_type!(
    /// Identifies one audit record.
    AuditId
);
id_type!(
    /// Identifies an API key (never the secret itself).
    ApiKeyId
);

id_type!(
    /// Identifies one version of a namespace resource.
    ResourceId
);
id_type!(
    /// Identifies a library listing for ever, across its versions.
    ListingId
);
id_type!(
    /// Identifies a namespace's install (pin) of a listing.
    InstallId
);

id_type!(
    /// Identifies one membership of a tenant (a user with a role in it).
    MemberId
);
id_type!(
    /// Identifies one pending self-service registration.
    RegistrationId
);

macro_rules! ref_type {
    ($(#[$doc:meta])* $name:ident, $id:ident, $key:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            Id($id),
            Key($key),
        }

        impl $name {
            /// Reads a path segment: a UUID is an id, anything else must be a valid key.
            pub fn parse(raw: &str) -> Result<Self, KeyError> {
                match Uuid::try_parse(raw) {
                    Ok(id) => Ok(Self::Id($id::from_uuid(id))),
                    Err(_) => $key::parse(raw).map(Self::Key),
                }
            }
        }

        impl From<$id> for $name {
            fn from(id: $id) -> Self {
                Self::Id(id)
            }
        }

        impl From<$key> for $name {
            fn from(key: $key) -> Self {
                Self::Key(key)
            }
        }
    };
}

ref_type!(
    /// An org named by id or by key, as the API's `{org}` path segment allows.
    OrgRef,
    OrgId,
    OrgKey
);
ref_type!(
    /// A tenant named by id or by key.
    TenantRef,
    TenantId,
    TenantKey
);
ref_type!(
    /// A namespace named by id or by key (within a tenant).
    NamespaceRef,
    NamespaceId,
    NamespaceKey
);
ref_type!(
    /// A library listing named by id or by key (within its publishing org).
    ListingRef,
    ListingId,
    ResourceKey
);
