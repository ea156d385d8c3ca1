//! [`LogMailer`]: the [`Mailer`] of the in-memory default, which writes each
//! message to the log instead of sending it.

use async_trait::async_trait;
use domain::ports::Mailer;
use domain::{MailError, OutgoingMail};

/// Writes each message as one `tracing` event at `info` (target
/// `adapters_mail::log`): sender, reply address, recipient, subject, the
/// text body's length and whether it had an HTML alternative. Never the
/// body: it holds one-time links (registration confirmations) that give
/// whoever reads them a tenant, and secrets reach no log. It never fails.
///
/// For development and trials only: it shows that a message would have
/// gone, and to whom. To follow a registration link, configure an SMTP
/// server (a local one will do).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

impl LogMailer {
    /// The log mailer (it has no settings: the subscriber decides where the
    /// log goes).
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        tracing::info!(
            from = %mail.from(),
            reply_to = mail.reply_to().map(ToString::to_string),
            to = %mail.to(),
            subject = mail.subject(),
            text_bytes = mail.text().len(),
            html = mail.html().is_some(),
            "email not sent (no SMTP server configured): logged instead"
        );
        Ok(())
    }
}
