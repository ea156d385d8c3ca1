//! The domain's `WebhookSender` port over [`Sender`]: the delivery worker
//! hands it a message with its endpoint's secrets in their text form, and gets
//! back what came of it in the domain's terms. Nothing is decided here: the
//! retry and disable rules read the outcome (`domain::webhook_delivery`).

use std::time::Duration;

use async_trait::async_trait;
use domain::ports::WebhookSender;
use domain::webhook_delivery::{OutgoingWebhook, SendOutcome, Target};

use crate::guard::Refusal;
use crate::outcome::Outcome;
use crate::sender::{Outgoing, Sender};
use crate::signing::SigningSecret;

#[async_trait]
impl WebhookSender for Sender {
    async fn send(&self, request: &OutgoingWebhook) -> SendOutcome {
        let secrets: Result<Vec<SigningSecret>, _> = request
            .secrets
            .iter()
            .map(|secret| SigningSecret::parse(secret.expose()))
            .collect();
        let secrets = match secrets {
            Ok(secrets) => secrets,
            // The domain only stores secrets it generated in this form, so
            // this is a stored secret that was damaged: no retry can help,
            // and the error never names the secret.
            Err(error) => {
                return SendOutcome::Failed {
                    reason: format!("the endpoint's signing secret is unusable: {error}"),
                    latency_ms: 0,
                };
            }
        };
        let outgoing = Outgoing {
            url: &request.url,
            message_id: &request.message_id,
            timestamp: request.timestamp.timestamp(),
            payload: request.payload.as_bytes(),
            secrets: &secrets,
        };
        match Sender::send(self, &outgoing).await {
            Outcome::Answered {
                status,
                retry_after,
                excerpt,
                latency,
            } => SendOutcome::Answered {
                status,
                retry_after: retry_after.and_then(|d| chrono::Duration::from_std(d).ok()),
                latency_ms: millis(latency),
                excerpt,
            },
            Outcome::Failed { reason, latency } => SendOutcome::Failed {
                reason: reason.as_str().to_owned(),
                latency_ms: millis(latency),
            },
            Outcome::Refused(refusal) => SendOutcome::Refused {
                reason: refusal.to_string(),
            },
        }
    }

    async fn check_target(&self, url: &str) -> Target {
        match self.check_url(url).await {
            Ok(()) => Target::Allowed,
            Err(refusal @ Refusal::Unresolved { .. }) => Target::Unresolved(refusal.to_string()),
            Err(refusal) => Target::Forbidden(refusal.to_string()),
        }
    }
}

fn millis(latency: Duration) -> u64 {
    u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)
}
