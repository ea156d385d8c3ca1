//! The tenant lifecycle of docs/api.md §2 as a state machine.
//!
//! ```text
//!   active ──suspend──▶ suspended ──deactivate──▶ deactivated ──delete──▶ deleted
//!     ▲ ◀──reactivate──┘                              │
//!     ├──────────────── deactivate (from active) ────▶│
//!     └──────────────── restore (platform admin) ◀────┘
//! ```
//!
//! [`TenantStatus::transition`] is the only place that decides which moves are legal;
//! the use cases add the side conditions (who may restore, the delete confirmation).

use std::fmt;

/// Where a tenant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantStatus {
    /// Keys valid, writes allowed.
    Active,
    /// Keys refused with `tenant_suspended` and restored as-is on reactivation.
    Suspended,
    /// Offboarded: keys revoked for good, data kept until the retention period ends.
    Deactivated,
    /// A tombstone: id, key, org, when and by whom. Everything else is purged.
    Deleted,
}

impl TenantStatus {
    pub const ALL: [Self; 4] = [
        Self::Active,
        Self::Suspended,
        Self::Deactivated,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deactivated => "deactivated",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The state `action` leads to from `self`, or why it is not allowed.
    pub fn transition(self, action: LifecycleAction) -> Result<Self, InvalidTransition> {
        use LifecycleAction as A;
        use TenantStatus as S;
        // Every pair is written out, refusals too: a new state or action does not
        // compile until this table says where it leads from everywhere.
        match (self, action) {
            (S::Active, A::Suspend) => Ok(S::Suspended),
            (S::Suspended, A::Reactivate) => Ok(S::Active),
            (S::Active | S::Suspended, A::Deactivate) => Ok(S::Deactivated),
            (S::Deactivated, A::Restore) => Ok(S::Active),
            (S::Deactivated, A::Delete) => Ok(S::Deleted),
            (S::Active, A::Reactivate | A::Restore | A::Delete)
            | (S::Suspended, A::Suspend | A::Restore | A::Delete)
            | (S::Deactivated, A::Suspend | A::Reactivate | A::Deactivate)
            | (S::Deleted, A::Suspend | A::Reactivate | A::Deactivate | A::Restore | A::Delete) => {
                Err(InvalidTransition { from: self, action })
            }
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator can do to a tenant's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleAction {
    Suspend,
    Reactivate,
    Deactivate,
    Restore,
    Delete,
}

impl LifecycleAction {
    pub const ALL: [Self; 5] = [
        Self::Suspend,
        Self::Reactivate,
        Self::Deactivate,
        Self::Restore,
        Self::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deactivate => "deactivate",
            Self::Restore => "restore",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for LifecycleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the lifecycle does not allow from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a tenant that is {from}")]
pub struct InvalidTransition {
    pub from: TenantStatus,
    pub action: LifecycleAction,
}

#[cfg(test)]
mod tests {
    use super::{LifecycleAction as A, TenantStatus as S, *};

    /// Every (state, action) pair, written out: a new state or action fails to
    /// compile the exhaustive match above, and once it is in `ALL` this table no
    /// longer has the size of `ALL` and fails to compile until it is added.
    #[test]
    fn every_state_action_pair_follows_the_lifecycle_table() {
        let table: [(S, [Option<S>; A::ALL.len()]); S::ALL.len()] = [
            //              suspend            reactivate       deactivate            restore          delete
            (
                S::Active,
                [Some(S::Suspended), None, Some(S::Deactivated), None, None],
            ),
            (
                S::Suspended,
                [None, Some(S::Active), Some(S::Deactivated), None, None],
            ),
            (
                S::Deactivated,
                [None, None, None, Some(S::Active), Some(S::Deleted)],
            ),
            (S::Deleted, [None, None, None, None, None]),
        ];
        assert_eq!(
            table.map(|(from, _)| from),
            S::ALL,
            "one row per state, in order"
        );
        for (from, outcomes) in table {
            for (i, action) in A::ALL.into_iter().enumerate() {
                let expected = outcomes[i];
                let got = from.transition(action);
                match expected {
                    Some(to) => assert_eq!(got, Ok(to), "{from} --{action}-->"),
                    None => assert_eq!(
                        got,
                        Err(InvalidTransition { from, action }),
                        "{from} --{action}--> must be refused"
                    ),
                }
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("archived"), None);
    }
}
