//! Webhook deliveries: one message per (event, endpoint), its attempts, and
//! the pure rules that decide what an attempt's outcome means (SPEC §7).
//!
//! - Retries back off exponentially with jitter ([`retry_delay`]): the n-th
//!   retry waits between half and all of `min(CAP, BASE · 2ⁿ⁻¹)`, uniformly
//!   ("equal jitter"). Full jitter (anywhere below the ceiling) spreads
//!   retries a little more, but may wait less for a later retry than for an
//!   earlier one; with half the ceiling fixed, each wait is at least as long
//!   as the one before (until the ceiling reaches the cap), as issue #14 asks ("growing
//!   delays"), and retries are still spread. A `Retry-After` the receiver sent is honoured up to
//!   [`RETRY_AFTER_CAP`]. The jitter is an input (the `SecretSource` port
//!   draws it), so tests fix it. Why not `backon`: its builders draw their
//!   own randomness and sleep on a runtime, neither of which the domain may.
//! - A message is given up [`GIVE_UP_AFTER`] (3 days) after it was queued.
//! - An endpoint answering `410 Gone` is disabled at once; one failing
//!   without a success for [`DISABLE_AFTER`] (5 days) is disabled too. Both
//!   write a `webhook.endpoint_disabled` audit record, hence event.
//! - Order per endpoint: a claim takes an endpoint's oldest pending messages
//!   as one batch, and holds the endpoint (its oldest message's lease) until
//!   the batch is recorded; the batch is sent one message after another and
//!   stops at the first that is not delivered, so no message is sent before
//!   an older one of its endpoint is delivered or given up. A batch starts
//!   no send after [`BATCH_BUDGET`], so it is recorded inside its lease.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::events::Event;
use crate::ids::OrgId;
use crate::webhook::{SigningSecret, WebhookEndpoint, WebhookId};

/// The first retry waits below this.
pub const BASE_DELAY: Duration = Duration::seconds(5);
/// No retry waits longer than this (unless a `Retry-After` asks, up to its cap).
pub const MAX_DELAY: Duration = Duration::hours(1);
/// The longest `Retry-After` honoured.
pub const RETRY_AFTER_CAP: Duration = Duration::hours(6);
/// A message still undelivered this long after it was queued is given up.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);
/// An endpoint failing this long without a success is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);
/// How long a claimed message is held by its worker before another may take
/// it (a worker that died mid-delivery): longer than the 15 s send timeout.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);
/// A batch starts no new send once it has been sending this long: with the
/// 15 s send timeout, it ends well inside its [`CLAIM_LEASE`].
pub const BATCH_BUDGET: Duration = Duration::seconds(30);
/// The most of a receiver's answer kept in the log.
pub const EXCERPT_BYTES: usize = 1024;

/// Identifies one message (an event for one endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(Uuid);

impl DeliveryId {
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up: too old, or its endpoint answered `410 Gone`.
    GaveUp,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::GaveUp => "gave_up",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::GaveUp]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// One attempt, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The HTTP status answered; `None` when nothing was (timeout, refused).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The first [`EXCERPT_BYTES`] of the answer's body.
    pub excerpt: Option<String>,
    /// Why no answer came.
    pub error: Option<String>,
}

/// One message with its attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub org_id: OrgId,
    pub endpoint_id: WebhookId,
    pub event: Event,
    pub state: DeliveryState,
    /// When it was queued (fanned out, or re-queued by a redelivery).
    pub queued_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

/// A message a worker holds (for [`CLAIM_LEASE`]) with its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub endpoint: WebhookEndpoint,
}

/// One attempt of a claimed message, and what follows for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAttempt {
    pub delivery: DeliveryId,
    pub attempt: Attempt,
    pub next: Next,
}

/// What a webhook sender is asked to send: the body, signed per Standard
/// Webhooks with every secret given (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature` with one `v1,` signature per secret).
#[derive(Debug, Clone)]
pub struct OutgoingWebhook {
    pub url: String,
    /// `webhook-id`: the event's id, the same for every retry, so receivers
    /// deduplicate.
    pub message_id: String,
    pub timestamp: DateTime<Utc>,
    pub payload: String,
    pub secrets: Vec<SigningSecret>,
}

/// Where a webhook's URL leads, as the network sees it now
/// ([`crate::ports::WebhookSender::check_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Its host resolves to addresses the deployment may send to.
    Allowed,
    /// Its host is, or resolves to, an address the deployment refuses (the
    /// SSRF rule of [`crate::address`]); why.
    Forbidden(String),
    /// Its host does not resolve (now); why.
    Unresolved(String),
}

/// What sending came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The receiver answered.
    Answered {
        status: u16,
        retry_after: Option<Duration>,
        latency_ms: u64,
        /// The start of the body (the sender may send more; it is cut here).
        excerpt: String,
    },
    /// No answer: connection failed, timed out, TLS refused...
    Failed { reason: String, latency_ms: u64 },
    /// Not sent: the address is private, loopback or link-local and the
    /// deployment does not allow those (SSRF guard, after resolution).
    Refused { reason: String },
}

/// What happens to the message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(DateTime<Utc>),
    GaveUp,
}

/// What happens to the endpoint after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered 2xx: no longer failing.
    Healthy,
    /// It failed; failing since this time unless it already was.
    FailingSince(DateTime<Utc>),
    /// Disable it (410, or failing for [`DISABLE_AFTER`]).
    Disable,
}

/// The whole judgement of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub attempt: Attempt,
    pub next: Next,
    pub health: Health,
}

/// How long the `retry`-th retry (1 for the first) waits: half of
/// `min(MAX_DELAY, BASE_DELAY · 2^(retry-1))` plus `jitter` (in `[0, 1)`) of
/// the other half, or the
/// receiver's `Retry-After` (capped at [`RETRY_AFTER_CAP`]) when it asks for
/// longer.
pub fn retry_delay(retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let exponent = retry.saturating_sub(1).min(20);
    let ceiling = (BASE_DELAY * (1 << exponent)).min(MAX_DELAY);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Millisecond precision is plenty; the cast is bounded by MAX_DELAY.
    let half = ceiling.num_milliseconds() / 2;
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let backoff = Duration::milliseconds(half + (half as f64 * jitter) as i64);
    match retry_after {
        Some(asked) => backoff.max(asked.min(RETRY_AFTER_CAP)),
        None => backoff,
    }
}

/// Judges one attempt of `delivery` to `endpoint` made at `now` that came to
/// `outcome`; `jitter` in `[0, 1)` spreads the retry.
pub fn judge(
    delivery: &Delivery,
    endpoint: &WebhookEndpoint,
    outcome: &SendOutcome,
    now: DateTime<Utc>,
    jitter: f64,
) -> Verdict {
    let (attempt, retry_after) = match outcome {
        SendOutcome::Answered {
            status,
            retry_after,
            latency_ms,
            excerpt,
        } => (
            Attempt {
                at: now,
                status: Some(*status),
                latency_ms: *latency_ms,
                excerpt: Some(cut(excerpt)),
                error: None,
            },
            *retry_after,
        ),
        SendOutcome::Failed { reason, latency_ms } => (
            Attempt {
                at: now,
                status: None,
                latency_ms: *latency_ms,
                excerpt: None,
                error: Some(cut(reason)),
            },
            None,
        ),
        SendOutcome::Refused { reason } => (
            Attempt {
                at: now,
                status: None,
                latency_ms: 0,
                excerpt: None,
                error: Some(cut(&format!("refused: {reason}"))),
            },
            None,
        ),
    };
    let status = attempt.status;
    if status.is_some_and(|s| (200..300).contains(&s)) {
        return Verdict {
            attempt,
            next: Next::Delivered,
            health: Health::Healthy,
        };
    }
    if status == Some(410) {
        return Verdict {
            attempt,
            next: Next::GaveUp,
            health: Health::Disable,
        };
    }
    let failing_since = endpoint.failing_since.unwrap_or(now);
    let health = if now - failing_since >= DISABLE_AFTER {
        Health::Disable
    } else {
        Health::FailingSince(failing_since)
    };
    let retries_so_far = u32::try_from(delivery.attempts.len()).unwrap_or(u32::MAX);
    let at = now + retry_delay(retries_so_far.saturating_add(1), jitter, retry_after);
    let next = if at - delivery.queued_at >= GIVE_UP_AFTER {
        Next::GaveUp
    } else {
        Next::RetryAt(at)
    };
    Verdict {
        attempt,
        next,
        health,
    }
}

/// `text` cut to at most [`EXCERPT_BYTES`] bytes, on a character boundary.
pub fn cut(text: &str) -> String {
    if text.len() <= EXCERPT_BYTES {
        return text.to_owned();
    }
    let mut end = EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, TargetKind};
    use crate::events::{EventData, EventFilter, EventType};
    use crate::webhook::{EndpointSecrets, SealedSecret, WebhookUrl};

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    fn endpoint(failing_since: Option<DateTime<Utc>>) -> WebhookEndpoint {
        WebhookEndpoint {
            id: WebhookId::from_uuid(Uuid::from_u128(5)),
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            url: WebhookUrl::parse("https://hooks.example.com/", false).expect("a URL"),
            description: None,
            event_types: EventFilter::all(),
            enabled: true,
            failing_since,
            secrets: EndpointSecrets {
                current: SealedSecret(vec![1]),
                previous: None,
            },
            created_at: t(0),
            updated_at: t(0),
            version: 1,
        }
    }

    fn delivery(attempts: usize) -> Delivery {
        Delivery {
            id: DeliveryId::from_uuid(Uuid::from_u128(9)),
            org_id: OrgId::from_uuid(Uuid::from_u128(1)),
            endpoint_id: WebhookId::from_uuid(Uuid::from_u128(5)),
            event: Event {
                id: Uuid::from_u128(3),
                org_id: OrgId::from_uuid(Uuid::from_u128(1)),
                tenant_id: None,
                event_type: EventType::TenantSuspended,
                at: t(0),
                data: EventData {
                    actor: Actor::platform_admin(),
                    target_kind: TargetKind::Tenant,
                    target_id: Uuid::from_u128(2),
                    request_id: None,
                },
            },
            state: DeliveryState::Pending,
            queued_at: t(0),
            next_attempt_at: t(0),
            attempts: vec![
                Attempt {
                    at: t(0),
                    status: Some(500),
                    latency_ms: 1,
                    excerpt: None,
                    error: None,
                };
                attempts
            ],
        }
    }

    fn answered(status: u16, retry_after: Option<Duration>) -> SendOutcome {
        SendOutcome::Answered {
            status,
            retry_after,
            latency_ms: 12,
            excerpt: "x".repeat(3000),
        }
    }

    #[test]
    fn delays_grow_exponentially_with_jitter_up_to_the_cap() {
        assert_eq!(
            retry_delay(1, 0.999_999, None),
            Duration::milliseconds(4999)
        );
        assert_eq!(retry_delay(2, 0.5, None), Duration::milliseconds(7500));
        assert_eq!(retry_delay(3, 0.5, None), Duration::seconds(15));
        assert_eq!(retry_delay(1, 0.0, None), Duration::milliseconds(2500));
        assert_eq!(retry_delay(40, 0.5, None), Duration::minutes(45));
        assert_eq!(retry_delay(2, f64::NAN, None), Duration::seconds(5));
        // Until the ceiling reaches the cap (5 s · 2⁹ < 1 h < 5 s · 2¹⁰).
        for retry in 1..10 {
            assert!(
                retry_delay(retry + 1, 0.0, None) >= retry_delay(retry, 0.999_999, None),
                "a later retry never waits less ({retry})"
            );
        }
        assert_eq!(
            retry_delay(1, 0.5, Some(Duration::minutes(2))),
            Duration::minutes(2),
            "Retry-After asks for longer"
        );
        assert_eq!(
            retry_delay(1, 0.5, Some(Duration::days(2))),
            RETRY_AFTER_CAP,
            "up to its cap"
        );
    }

    #[test]
    fn a_2xx_delivers_and_heals_a_410_gives_up_and_disables() {
        let v = judge(
            &delivery(2),
            &endpoint(Some(t(0))),
            &answered(204, None),
            t(9),
            0.5,
        );
        assert_eq!((v.next, v.health), (Next::Delivered, Health::Healthy));
        assert_eq!(
            v.attempt.excerpt.as_ref().map(String::len),
            Some(EXCERPT_BYTES)
        );
        let v = judge(
            &delivery(0),
            &endpoint(None),
            &answered(410, None),
            t(9),
            0.5,
        );
        assert_eq!((v.next, v.health), (Next::GaveUp, Health::Disable));
    }

    #[test]
    fn failures_retry_later_give_up_after_three_days_and_disable_after_five() {
        let v = judge(
            &delivery(0),
            &endpoint(None),
            &answered(500, None),
            t(10),
            0.5,
        );
        assert_eq!(v.next, Next::RetryAt(t(10) + Duration::milliseconds(3750)));
        assert_eq!(v.health, Health::FailingSince(t(10)));
        let failed = SendOutcome::Failed {
            reason: "timed out".into(),
            latency_ms: 15_000,
        };
        let v = judge(&delivery(3), &endpoint(Some(t(1))), &failed, t(20), 0.5);
        assert_eq!(v.next, Next::RetryAt(t(20) + Duration::seconds(30)));
        assert_eq!(v.health, Health::FailingSince(t(1)));
        assert_eq!(v.attempt.error.as_deref(), Some("timed out"));

        let late = t(0) + GIVE_UP_AFTER;
        let v = judge(
            &delivery(50),
            &endpoint(Some(t(0))),
            &answered(503, None),
            late,
            0.5,
        );
        assert_eq!(v.next, Next::GaveUp);
        let much_later = t(0) + DISABLE_AFTER;
        let v = judge(
            &delivery(1),
            &endpoint(Some(t(0))),
            &answered(503, None),
            much_later,
            0.5,
        );
        assert_eq!(v.health, Health::Disable);
    }
}
