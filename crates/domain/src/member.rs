//! Members: the people of a tenant (seed 002's users and roles, seed 004's
//! admins, seed 001's owner assignment) as references into the SaaS builder's
//! identity system. Tenancy is not an identity provider: it stores who is in a
//! tenant and with which role, never a password.
//!
//! The tenant's owner is the tenant's own `owner` field (set at provisioning
//! or by `PUT .../owner`), not a member row: so there is never more than one,
//! and it cannot be removed, only moved. Every other member is a row with the
//! role `admin` or `member`. A user appears once: as the owner or as one row.
//! Moving ownership to a member is one atomic change: the member's row goes,
//! the tenant's owner becomes that user, and the former owner (if any) stays
//! on as an `admin` row.

use chrono::{DateTime, Utc};

use crate::ids::{MemberId, OrgId, TenantId};
use crate::values::{Email, InvalidValue, UserId};

/// The role of a member row (the owner is the tenant's `owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRole {
    Admin,
    Member,
}

impl MemberRole {
    pub const ALL: [Self; 2] = [Self::Admin, Self::Member];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                InvalidValue::new(
                    "must be `admin` or `member` (ownership moves with PUT .../owner)",
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// A member as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub email: Email,
    pub role: MemberRole,
    /// When the member was added.
    pub invited_at: DateTime<Utc>,
    /// When the member joined (the builder says so); `None`: invited only.
    pub joined_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every update; stores refuse a write based on a stale version.
    pub version: u64,
}

/// A request to add a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub user_id: UserId,
    pub email: Email,
    pub role: MemberRole,
    /// The user has joined already (not only been invited).
    pub joined: bool,
}

/// A change to a member: each field given replaces what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPatch {
    pub role: Option<MemberRole>,
    pub email: Option<Email>,
    /// `true` marks the member joined now (once; later `true`s keep the
    /// first time).
    pub joined: bool,
}

impl Member {
    /// This member with `patch` applied at `now` (version and time not yet
    /// moved: the use case does that when something changed), and the names
    /// of the fields that changed.
    pub fn patched(&self, patch: &MemberPatch, now: DateTime<Utc>) -> (Self, Vec<&'static str>) {
        let mut next = self.clone();
        let mut changed = Vec::new();
        if let Some(role) = patch.role
            && role != self.role
        {
            next.role = role;
            changed.push("role");
        }
        if let Some(email) = &patch.email
            && *email != self.email
        {
            next.email = email.clone();
            changed.push("email");
        }
        if patch.joined && self.joined_at.is_none() {
            next.joined_at = Some(now);
            changed.push("joinedAt");
        }
        (next, changed)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn member() -> Member {
        let at = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        Member {
            id: MemberId::from_uuid(uuid::Uuid::nil()),
            org_id: OrgId::from_uuid(uuid::Uuid::nil()),
            tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
            user_id: UserId::parse("u-1").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            role: MemberRole::Member,
            invited_at: at,
            joined_at: None,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn roles_parse_by_name_and_owner_is_not_a_row_role() {
        assert_eq!(MemberRole::parse("admin"), Ok(MemberRole::Admin));
        assert_eq!(MemberRole::parse("member"), Ok(MemberRole::Member));
        assert!(MemberRole::parse("owner").is_err());
        assert!(MemberRole::parse("Admin").is_err());
    }

    #[test]
    fn a_patch_names_what_changed_and_joining_happens_once() {
        let now = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap();
        let current = member();
        let (same, changed) = current.patched(
            &MemberPatch {
                role: Some(MemberRole::Member),
                ..MemberPatch::default()
            },
            now,
        );
        assert_eq!((same, changed), (current.clone(), vec![]));
        let (next, changed) = current.patched(
            &MemberPatch {
                role: Some(MemberRole::Admin),
                email: None,
                joined: true,
            },
            now,
        );
        assert_eq!(changed, ["role", "joinedAt"]);
        assert_eq!(next.role, MemberRole::Admin);
        assert_eq!(next.joined_at, Some(now));
        let later = now + chrono::Duration::days(1);
        let (again, changed) = next.patched(
            &MemberPatch {
                joined: true,
                ..MemberPatch::default()
            },
            later,
        );
        assert!(changed.is_empty());
        assert_eq!(again.joined_at, Some(now), "the first time is kept");
    }
}
