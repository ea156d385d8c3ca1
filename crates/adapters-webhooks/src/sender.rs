//! [`Sender`]: one HTTP client, and one signed request per [`Sender::send`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::redirect::Policy;

use crate::guard::{Guard, GuardedResolver, Refusal, ResolveError};
use crate::outcome::{self, FailureKind, Outcome};
use crate::signing::{SigningSecret, signature_header};

/// How a [`Sender`] behaves.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// The most one request may take, from resolving the name to reading the
    /// answer's excerpt.
    pub timeout: Duration,
    /// Lets webhooks reach private, loopback and link-local addresses, and
    /// `http` URLs: for tests and local development only
    /// (`TENANCY_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// The `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for SenderConfig {
    /// 15 s, the guard on, `Tenancy-Webhooks/<version>`.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            allow_private: false,
            user_agent: concat!("Tenancy-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// One webhook request to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub url: &'a str,
    /// `webhook-id`: the message's id, the same on every attempt.
    pub message_id: &'a str,
    /// `webhook-timestamp`: unix seconds of this attempt, from the clock port.
    pub timestamp: i64,
    /// The JSON body, sent and signed byte for byte.
    pub payload: &'a [u8],
    /// Every secret to sign with; the endpoint's current one, and the previous
    /// one during a rotation's grace period.
    pub secrets: &'a [SigningSecret],
}

/// The client could not be built (no TLS roots could be loaded).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct BuildError(#[source] reqwest::Error);

/// Sends webhook requests: one HTTP/1.1 client with rustls, a connection pool,
/// no proxy, no redirect followed, and the SSRF guard as its only resolver.
/// Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
    timeout: Duration,
}

impl Sender {
    pub fn new(config: SenderConfig) -> Result<Self, BuildError> {
        let guard = Guard {
            allow_private: config.allow_private,
        };
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent)
            .timeout(config.timeout)
            .redirect(Policy::none())
            // A proxy would connect on our behalf to whatever the name
            // resolves to there, past the guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard,
                timeout: config.timeout,
            }))
            .build()
            .map_err(BuildError)?;
        Ok(Self {
            client,
            guard,
            timeout: config.timeout,
        })
    }

    /// Signs and sends one `POST`, and tells what came of it. Never panics and
    /// never returns early with an error: every way it can end is an
    /// [`Outcome`].
    ///
    /// The guard runs on every send: the URL's form and an IP literal here, a
    /// name's addresses when a connection to it is opened. A pooled connection
    /// is reused only for the same scheme, host and port, and leads to an
    /// address checked when it was opened.
    pub async fn send(&self, out: &Outgoing<'_>) -> Outcome {
        let started = Instant::now();
        let url = match self.guard.url(out.url) {
            Ok(url) => url,
            Err(refusal) => return Outcome::Refused(refusal),
        };
        let Some(signature) =
            signature_header(out.secrets, out.message_id, out.timestamp, out.payload)
        else {
            return request_failure(started);
        };
        let (Ok(id), Ok(signature)) = (
            HeaderValue::from_str(out.message_id),
            HeaderValue::from_str(&signature),
        ) else {
            return request_failure(started);
        };
        let request = self
            .client
            .post(url)
            .header("webhook-id", id)
            .header("webhook-timestamp", out.timestamp)
            .header("webhook-signature", signature)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(out.payload.to_vec());
        match request.send().await {
            Ok(response) => outcome::answered(response, started.elapsed(), out.timestamp).await,
            Err(error) => outcome::failed(&error, started.elapsed()),
        }
    }

    /// Whether webhooks may be sent to `url` now: its form, and every address
    /// its host resolves to (within the timeout). For checking an endpoint's
    /// URL when it is registered or changed; [`Sender::send`] checks again.
    pub async fn check_url(&self, url: &str) -> Result<(), Refusal> {
        let url = self.guard.url(url)?;
        match url.host() {
            Some(url::Host::Domain(name)) => self
                .guard
                .resolve(name, self.timeout)
                .await
                .map(drop)
                .map_err(|error| match error {
                    ResolveError::Unresolved(refusal) | ResolveError::Refused(refusal) => refusal,
                }),
            // IP literals were judged by `Guard::url`.
            _ => Ok(()),
        }
    }
}

fn request_failure(started: Instant) -> Outcome {
    Outcome::Failed {
        reason: FailureKind::Request,
        latency: started.elapsed(),
    }
}
