//! [`LogMailer`]: the [`Mailer`] of the in-memory default, which writes each
//! message to the log instead of sending it.

use async_trait::async_trait;
use domain::ports::Mailer;
use domain::{MailError, OutgoingMail};

/// Writes each message as one `tracing` event at `info` (target
/// `adapters_mail::log`): sender, reply address, recipient, subject, the
/// text body, and whether it had an HTML alternative (whose content is the
/// text's, so it is left out). It never fails.
///
/// For development and trials only: it is how an operator without an SMTP
/// server still gets a registration link. The body may hold one-time links
/// (registration confirmations) that give whoever reads them a tenant, so a
/// deployment whose logs others read must configure SMTP instead.
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
            text = mail.text(),
            html = mail.html().is_some(),
            "email not sent (no SMTP server configured): logged instead"
        );
        Ok(())
    }
}
