//! The domain's [`Mailer`](domain::ports::Mailer) port, twice.
//!
//! - `smtp.rs`: [`SmtpMailer`], for production. One SMTP session per message
//!   over lettre's async client on tokio: plain, STARTTLS or implicit TLS
//!   (rustls on ring, the system's roots), optional authentication, one
//!   timeout over the whole exchange. What a failure means is decided there:
//!   a permanent (5xx) answer is [`MailError::Rejected`](domain::MailError),
//!   everything else [`MailError::Unavailable`](domain::MailError).
//! - `message.rs`: the MIME message of an
//!   [`OutgoingMail`](domain::OutgoingMail): `From` and `To` with display
//!   names, `Reply-To`, `Subject`, `Date`, `Message-ID`, and a `text/plain`
//!   body or a `multipart/alternative` of text and HTML.
//! - `log.rs`: [`LogMailer`], the in-memory default for development: each
//!   message becomes one `tracing` event, its body left out (it holds
//!   one-time links).
//!
//! Neither decides what to send or whether to retry: the domain composes the
//! message and the caller decides what an error means.

mod log;
mod message;
mod smtp;

pub use log::LogMailer;
pub use smtp::{ConfigError, Security, SmtpConfig, SmtpCredentials, SmtpMailer, SmtpPassword};
