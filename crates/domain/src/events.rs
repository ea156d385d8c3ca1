//! Events: what leaves Tenancy for the builder's systems (SPEC §7), through the
//! pull feed and the webhooks, in one JSON shape ([`Event::payload`]).
//!
//! An event is derived from the audit record of the change that caused it
//! ([`Event::of_audit`]), and the stores write it to the outbox inside the
//! same atomic `append` as that record: no event without its change, no
//! change without its event. Events are thin: ids, the action, the actor, the
//! target and the request id. Never the record's details (names, owners,
//! reasons: personal data, sealed for tenants), never a secret, so a deleted
//! tenant's events carry nothing that crypto-shredding should have destroyed.
//! A receiver that wants more reads the object by its id.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::audit::{Actor, AuditAction, AuditRecord, TargetKind};
use crate::ids::{OrgId, TenantId};

/// How long the pull feed serves an event after it happened.
pub const FEED_WINDOW_DAYS: i64 = 30;

/// What happened, as the stable dotted name receivers filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    TenantProvisioned,
    TenantUpdated,
    TenantSuspended,
    TenantReactivated,
    TenantDeactivated,
    TenantRestored,
    TenantDeleted,
    NamespaceCreated,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    /// A library listing published a version.
    LibraryVersionPublished,
    /// A webhook endpoint was disabled by the delivery worker (it answered
    /// `410 Gone`, or failed for too long).
    WebhookEndpointDisabled,
    MemberAdded,
    MemberUpdated,
    MemberRemoved,
    SettingsUpdated,
    /// A custom domain was added, pending verification.
    DomainAdded,
    DomainVerified,
    /// A custom domain was not verified within its 7-day window.
    DomainFailed,
    /// A custom domain is pending again (re-verification).
    DomainPending,
    DomainRemoved,
}

impl EventType {
    /// Every event type, in the order documented.
    pub const ALL: [Self; 22] = [
        Self::TenantProvisioned,
        Self::TenantUpdated,
        Self::TenantSuspended,
        Self::TenantReactivated,
        Self::TenantDeactivated,
        Self::TenantRestored,
        Self::TenantDeleted,
        Self::NamespaceCreated,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::ApiKeyRotated,
        Self::LibraryVersionPublished,
        Self::WebhookEndpointDisabled,
        Self::MemberAdded,
        Self::MemberUpdated,
        Self::MemberRemoved,
        Self::SettingsUpdated,
        Self::DomainAdded,
        Self::DomainVerified,
        Self::DomainFailed,
        Self::DomainPending,
        Self::DomainRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantProvisioned => "tenant.provisioned",
            Self::TenantUpdated => "tenant.updated",
            Self::TenantSuspended => "tenant.suspended",
            Self::TenantReactivated => "tenant.reactivated",
            Self::TenantDeactivated => "tenant.deactivated",
            Self::TenantRestored => "tenant.restored",
            Self::TenantDeleted => "tenant.deleted",
            Self::NamespaceCreated => "namespace.created",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyRotated => "api_key.rotated",
            Self::LibraryVersionPublished => "library.version_published",
            Self::WebhookEndpointDisabled => "webhook.endpoint_disabled",
            Self::MemberAdded => "member.added",
            Self::MemberUpdated => "member.updated",
            Self::MemberRemoved => "member.removed",
            Self::SettingsUpdated => "settings.updated",
            Self::DomainAdded => "domain.added",
            Self::DomainVerified => "domain.verified",
            Self::DomainFailed => "domain.failed",
            Self::DomainPending => "domain.pending",
            Self::DomainRemoved => "domain.removed",
        }
    }

    /// The type of this dotted name, `None` for a name that is none.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// The event an audit action emits, if any: org housekeeping, secrets and
    /// resources inside a tenant emit none.
    pub fn of_action(action: AuditAction) -> Option<Self> {
        use AuditAction as A;
        Some(match action {
            A::TenantProvisioned => Self::TenantProvisioned,
            // An owner change is an update of the tenant; the event says which
            // tenant, never who the owner is.
            A::TenantUpdated | A::TenantOwnerChanged => Self::TenantUpdated,
            A::TenantSuspended => Self::TenantSuspended,
            A::TenantReactivated => Self::TenantReactivated,
            A::TenantDeactivated => Self::TenantDeactivated,
            A::TenantRestored => Self::TenantRestored,
            A::TenantDeleted => Self::TenantDeleted,
            A::NamespaceCreated => Self::NamespaceCreated,
            A::ApiKeyCreated => Self::ApiKeyCreated,
            A::ApiKeyRevoked => Self::ApiKeyRevoked,
            A::ApiKeyRotated => Self::ApiKeyRotated,
            A::ListingPublished => Self::LibraryVersionPublished,
            A::WebhookEndpointDisabled => Self::WebhookEndpointDisabled,
            A::MemberAdded => Self::MemberAdded,
            A::MemberUpdated => Self::MemberUpdated,
            A::MemberRemoved => Self::MemberRemoved,
            A::SettingsUpdated => Self::SettingsUpdated,
            A::DomainAdded => Self::DomainAdded,
            A::DomainVerified => Self::DomainVerified,
            A::DomainFailed => Self::DomainFailed,
            A::DomainPending => Self::DomainPending,
            A::DomainRemoved => Self::DomainRemoved,
            A::OrgCreated
            | A::OrgUpdated
            | A::NamespaceUpdated
            | A::ResourceCreated
            | A::ResourceForked
            | A::ListingGrantsChanged
            | A::ListingInstalled
            | A::InstallUpgraded
            | A::SecretWritten
            | A::SecretRevealed
            | A::SecretDeleted
            | A::WebhookEndpointCreated
            | A::WebhookEndpointUpdated
            | A::WebhookEndpointDeleted
            | A::WebhookSecretRotated
            | A::TenantExported
            | A::RegistrationRequested => return None,
        })
    }
}

/// One event: its id (the id of the audit record it comes from), its org and
/// tenant, its type, when it happened and its thin data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub org_id: OrgId,
    pub tenant_id: Option<TenantId>,
    pub event_type: EventType,
    pub at: DateTime<Utc>,
    pub data: EventData,
}

/// What an event says beyond its type: who did it to what, in which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventData {
    pub actor: Actor,
    pub target_kind: TargetKind,
    pub target_id: Uuid,
    pub request_id: Option<String>,
}

impl Event {
    /// The event the change recorded by `record` emits, if it emits one. Only
    /// the record's clear envelope is read: its details never reach an event.
    pub fn of_audit(record: &AuditRecord) -> Option<Self> {
        let event_type = EventType::of_action(record.action)?;
        Some(Self {
            id: record.id.as_uuid(),
            org_id: record.org_id,
            tenant_id: record.tenant_id,
            event_type,
            at: record.at,
            data: EventData {
                actor: record.actor.clone(),
                target_kind: record.target_kind,
                target_id: record.target_id,
                request_id: record.request_id.clone(),
            },
        })
    }

    /// The event as JSON, Standard Webhooks style:
    /// `{"id","type","timestamp","data":{...}}`, `data` holding `orgId`,
    /// `tenantId` (when the event is a tenant's), `target {type,id}`,
    /// `actor {kind,id}` and `requestId`. The one serializer of the pull feed
    /// and of webhook bodies.
    pub fn payload(&self) -> Value {
        let mut data = Map::new();
        data.insert("orgId".into(), json!(self.org_id.to_string()));
        if let Some(tenant) = self.tenant_id {
            data.insert("tenantId".into(), json!(tenant.to_string()));
        }
        data.insert(
            "target".into(),
            json!({"type": self.data.target_kind.as_str(), "id": self.data.target_id.to_string()}),
        );
        data.insert(
            "actor".into(),
            json!({"kind": self.data.actor.kind.as_str(), "id": self.data.actor.id}),
        );
        data.insert("requestId".into(), json!(self.data.request_id));
        json!({
            "id": self.id.to_string(),
            "type": self.event_type.as_str(),
            "timestamp": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": Value::Object(data),
        })
    }

    /// [`Self::payload`] as the exact text a webhook body carries and signs.
    pub fn payload_text(&self) -> String {
        self.payload().to_string()
    }
}

/// Which event types an endpoint or a feed reader asks for: all of them, or
/// those listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFilter(Vec<EventType>);

impl EventFilter {
    /// Every type.
    pub fn all() -> Self {
        Self(Vec::new())
    }

    /// These types (none listed: every type), each once, in a stable order.
    pub fn of(mut types: Vec<EventType>) -> Self {
        types.sort_unstable();
        types.dedup();
        Self(types)
    }

    /// The types listed; empty for every type.
    pub fn types(&self) -> &[EventType] {
        &self.0
    }

    pub fn matches(&self, event_type: EventType) -> bool {
        self.0.is_empty() || self.0.contains(&event_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditDetails, Change};
    use crate::ids::AuditId;
    use crate::values::Reason;

    fn record(action: AuditAction) -> AuditRecord {
        AuditRecord {
            id: AuditId::from_uuid(Uuid::from_u128(7)),
            at: DateTime::<Utc>::from_timestamp(1_800_000_000, 5_000_000).expect("a time"),
            actor: Actor::platform_admin(),
            action,
            target_kind: TargetKind::Tenant,
            target_id: Uuid::from_u128(2),
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            tenant_id: Some(TenantId::from_uuid(Uuid::from_u128(2))),
            request_id: Some("req-1".into()),
            details: AuditDetails::Clear {
                reason: Some(Reason::parse("Ada Lovelace left").expect("a reason")),
                changes: vec![Change {
                    field: "name",
                    from: Some("Acme of Ada".into()),
                    to: None,
                }],
            },
        }
    }

    #[test]
    fn every_event_type_round_trips_its_name_and_names_are_distinct() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        let mut names: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::parse("tenant.renamed"), None);
    }

    #[test]
    fn every_event_type_but_the_workers_own_comes_from_an_audit_action() {
        let emitted: Vec<EventType> = AuditAction::ALL
            .into_iter()
            .filter_map(EventType::of_action)
            .collect();
        for t in EventType::ALL {
            assert!(emitted.contains(&t), "{} is never emitted", t.as_str());
        }
        assert_eq!(EventType::of_action(AuditAction::SecretRevealed), None);
        assert_eq!(EventType::of_action(AuditAction::OrgCreated), None);
    }

    #[test]
    fn an_event_is_thin_and_keeps_the_records_envelope_only() {
        let deleted = record(AuditAction::TenantDeleted);
        let event = Event::of_audit(&deleted).expect("tenant.deleted is an event");
        assert_eq!(event.id, deleted.id.as_uuid());
        assert_eq!(event.event_type, EventType::TenantDeleted);
        let text = event.payload_text();
        for personal in ["Ada", "Acme", "name", "reason"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert_eq!(
            event.payload(),
            json!({
                "id": "00000000-0000-0000-0000-000000000007",
                "type": "tenant.deleted",
                "timestamp": "2027-01-15T08:00:00.005Z",
                "data": {
                    "orgId": "00000000-0000-0000-0000-000000000001",
                    "tenantId": "00000000-0000-0000-0000-000000000002",
                    "target": {"type": "tenant", "id": "00000000-0000-0000-0000-000000000002"},
                    "actor": {"kind": "platform_admin", "id": "admin"},
                    "requestId": "req-1",
                },
            })
        );
        assert_eq!(Event::of_audit(&record(AuditAction::SecretWritten)), None);
    }

    #[test]
    fn an_empty_filter_matches_everything_and_a_list_only_its_types() {
        assert!(EventFilter::all().matches(EventType::TenantDeleted));
        let f = EventFilter::of(vec![
            EventType::TenantSuspended,
            EventType::ApiKeyRevoked,
            EventType::TenantSuspended,
        ]);
        assert_eq!(
            f.types(),
            &[EventType::TenantSuspended, EventType::ApiKeyRevoked]
        );
        assert!(f.matches(EventType::ApiKeyRevoked));
        assert!(!f.matches(EventType::TenantDeleted));
    }
}
