//! Sending email (SPEC §5: the registration link): SMTP in production
//! (`adapters-mail`'s `SmtpMailer`), the log in the in-memory default
//! (`LogMailer`).

use async_trait::async_trait;

use crate::mail::{MailError, OutgoingMail};

/// Hands one message to whatever delivers mail.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail` as it is: its sender and display names, its reply
    /// address, its one recipient, its subject, its text and its HTML
    /// alternative when it has one. `Ok` means the message was accepted for
    /// delivery (by the SMTP server, or noted in the log), not that it
    /// reached an inbox. It MUST NOT retry by itself (the caller decides),
    /// MUST NOT log the body (it holds one-time links: the log adapter
    /// included), and MUST answer within the adapter's configured timeout.
    ///
    /// Errors: [`MailError::Rejected`] when the server refused the message or
    /// its recipient for good (sending it again unchanged fails again);
    /// [`MailError::Unavailable`] for everything that may pass (no
    /// connection, a timeout, a "try later" answer).
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}
