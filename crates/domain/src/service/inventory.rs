//! How many inventory queries one caller may have running at once.
//!
//! The inventory is the one listing whose cost a caller steers (search terms,
//! filters), and each query holds a store connection while it runs. Without a
//! bound, one org key issuing queries in parallel could take every connection
//! and fail every other org's requests. The rule lives here, with the use case,
//! and needs no async runtime: a caller over its limit is refused at once, not
//! queued, and a slot is given back when its query's future ends or is dropped.
//!
//! The state is bounded: a caller has an entry only while it has a query
//! running, so the map holds at most as many entries as queries in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::Principal;
use crate::ids::ApiKeyId;

/// Who a limit is counted for: one platform admin (the token), each key, each
/// background job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counted {
    PlatformAdmin,
    Key(ApiKeyId),
    System(&'static str),
}

impl Counted {
    fn of(principal: &Principal) -> Self {
        match principal {
            Principal::PlatformAdmin => Self::PlatformAdmin,
            Principal::Org { key_id, .. } => Self::Key(*key_id),
            Principal::Namespace(ns) => Self::Key(ns.key_id),
            Principal::System(job) => Self::System(job),
        }
    }
}

/// The inventory queries running, per caller.
#[derive(Debug)]
pub(crate) struct InventorySlots {
    per_caller: u32,
    running: Mutex<HashMap<Counted, u32>>,
}

impl InventorySlots {
    /// At most `per_caller` queries at once per caller (at least one).
    pub(crate) fn new(per_caller: u32) -> Arc<Self> {
        Arc::new(Self {
            per_caller: per_caller.max(1),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one query of `principal`, or `None` when it already has
    /// `per_caller` running. The slot is freed when dropped.
    pub(crate) fn take(self: &Arc<Self>, principal: &Principal) -> Option<InventorySlot> {
        let counted = Counted::of(principal);
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(counted.clone()).or_insert(0);
        if *count >= self.per_caller {
            return None;
        }
        *count += 1;
        Some(InventorySlot {
            slots: Arc::clone(self),
            counted,
        })
    }

    #[cfg(test)]
    fn callers(&self) -> usize {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One running inventory query's slot.
#[derive(Debug)]
pub(crate) struct InventorySlot {
    slots: Arc<InventorySlots>,
    counted: Counted,
}

impl Drop for InventorySlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.counted) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.counted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::ids::OrgId;

    fn org_key(n: u128) -> Principal {
        Principal::Org {
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            key_id: ApiKeyId::from_uuid(Uuid::from_u128(n)),
            expires_at: None,
        }
    }

    #[test]
    fn a_caller_gets_its_limit_of_slots_and_one_more_once_one_is_freed() {
        let slots = InventorySlots::new(2);
        let first = slots.take(&org_key(7)).expect("first");
        let _second = slots.take(&org_key(7)).expect("second");
        assert!(slots.take(&org_key(7)).is_none(), "a third at once");
        assert!(slots.take(&org_key(8)).is_some(), "another key has its own");
        assert!(slots.take(&Principal::PlatformAdmin).is_some());
        drop(first);
        assert!(slots.take(&org_key(7)).is_some(), "freed by the drop");
    }

    #[test]
    fn callers_without_a_running_query_hold_no_state() {
        let slots = InventorySlots::new(2);
        for n in 0..1000 {
            drop(slots.take(&org_key(n)));
        }
        assert_eq!(slots.callers(), 0);
        let held = slots.take(&org_key(1));
        assert_eq!(slots.callers(), 1);
        drop(held);
        assert_eq!(slots.callers(), 0);
    }
}
