//! [`MemoryMailer`]: the `Mailer` port of the in-memory harness, which keeps
//! every message it is handed, for tests to read.

use std::sync::Mutex;

use async_trait::async_trait;
use domain::ports::Mailer;
use domain::{MailError, OutgoingMail};

/// Keeps each message instead of sending it; never fails. What
/// [`MemoryStore::ports`](crate::MemoryStore::ports) wires, so that a test
/// of the domain reads the registration email it caused.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingMail>>,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingMail> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(mail.clone());
        Ok(())
    }
}
