//! The webhook sender against real receivers on 127.0.0.1: signatures checked
//! by another Standard Webhooks implementation (PyPI's `standardwebhooks`, run
//! with python3), the SSRF guard, and every kind of answer and failure.

mod answers;
mod guard;
mod receiver;
mod signatures;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adapters_webhooks::{Outcome, Outgoing, Sender, SenderConfig, SigningSecret};

/// A sender that may reach loopback over plain HTTP, as the tests' receivers
/// need.
pub fn loose() -> Sender {
    sender(true, Duration::from_secs(15))
}

/// A sender with the guard on, as in production.
pub fn strict() -> Sender {
    sender(false, Duration::from_secs(15))
}

pub fn sender(allow_private: bool, timeout: Duration) -> Sender {
    Sender::new(SenderConfig {
        timeout,
        allow_private,
        user_agent: "Tenancy-Webhooks-Test/1".into(),
    })
    .expect("build the sender")
}

/// Now, in unix seconds: the Python verifier refuses a timestamp more than five
/// minutes from its own clock.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_secs()).expect("fits")
}

/// A secret of 32 bytes all equal to `fill`.
pub fn secret(fill: u8) -> SigningSecret {
    SigningSecret::from_bytes(&[fill; 32]).expect("32 bytes")
}

pub const PAYLOAD: &[u8] =
    br#"{"type":"tenant.suspended","data":{"tenantId":"t_1","reason":"billing"}}"#;

/// Sends `PAYLOAD` as message `msg_1` to `url`, signed with `secrets`.
pub async fn send(sender: &Sender, url: &str, secrets: &[SigningSecret]) -> Outcome {
    sender
        .send(&Outgoing {
            url,
            message_id: "msg_1",
            timestamp: now(),
            payload: PAYLOAD,
            secrets,
        })
        .await
}
