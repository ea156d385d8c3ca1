//! Sends one webhook request and tells what came of it.
//!
//! - `signing.rs`: `whsec_` secrets ([`SigningSecret`]) and the Standard
//!   Webhooks `webhook-signature` header, one `v1,` entry per secret, and why
//!   it is built on `hmac` rather than the `standardwebhooks` crate.
//! - `address.rs` and `guard.rs`: the SSRF guard. Only `https` URLs without a
//!   user name or password, to public addresses, checked after DNS resolution
//!   by the client's own resolver so it connects to exactly the checked
//!   addresses; [`SenderConfig::allow_private`] lifts the address and scheme
//!   rules for tests and local development.
//! - [`Sender`]: one `POST` with `webhook-id`, `webhook-timestamp`,
//!   `webhook-signature` and `content-type: application/json`, a total timeout
//!   (15 s by default), no redirect followed, no proxy. Every end is an
//!   [`Outcome`]: the answer (status, `Retry-After`, the first KiB of the body,
//!   latency), a failure of a known kind, or the guard's refusal.
//!
//! It knows nothing of the domain: the delivery worker decides what an outcome
//! means (retry, disable, log); this crate only makes the request honestly.

mod guard;
mod outcome;
mod port;
mod sender;
mod signing;

pub use domain::address::{AddressRange, forbidden_range};
pub use guard::Refusal;
pub use outcome::{EXCERPT_LIMIT, FailureKind, Outcome};
pub use sender::{BuildError, Outgoing, Sender, SenderConfig};
pub use signing::{SecretError, SigningSecret};
