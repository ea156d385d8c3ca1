//! The outbox: every audit record's event, appended by [`super::State::append`]
//! under the same lock as the record, and read as the pull feed.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, EventLog, StoreError};
use domain::{Event, EventFilter, OrgId};
use uuid::Uuid;

use super::MemoryStore;

/// The events in the order written, with each one's position by id.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) events: Vec<Event>,
    positions: HashMap<Uuid, usize>,
}

impl Outbox {
    pub(crate) fn push(&mut self, event: Event) {
        self.positions.insert(event.id, self.events.len());
        self.events.push(event);
    }

    /// Removes the events `ids` names (the retention job's purge).
    pub(crate) fn remove(&mut self, ids: &HashSet<Uuid>) {
        if ids.is_empty() {
            return;
        }
        self.events.retain(|e| !ids.contains(&e.id));
        self.positions = self
            .events
            .iter()
            .enumerate()
            .map(|(position, e)| (e.id, position))
            .collect();
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn events(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<Uuid>,
        since: DateTime<Utc>,
        types: &EventFilter,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let s = self.read();
        let start = match after {
            None => 0,
            Some(id) => match s.outbox.positions.get(&id) {
                Some(&position) if scope.sees(org, s.outbox.events[position].tenant_id) => {
                    position + 1
                }
                _ => return Ok(Vec::new()),
            },
        };
        Ok(s.outbox.events[start..]
            .iter()
            .filter(|e| {
                e.org_id == org
                    && e.at >= since
                    && types.matches(e.event_type)
                    && scope.sees(e.org_id, e.tenant_id)
            })
            .take(limit)
            .cloned()
            .collect())
    }
}
