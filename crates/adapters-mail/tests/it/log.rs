//! The log mailer writes one `info` event holding what an operator needs,
//! and never the body (which holds one-time links).

use std::io::Write;
use std::sync::{Arc, Mutex};

use adapters_mail::LogMailer;
use domain::ports::Mailer;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use crate::{named, registration};

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_email_is_one_info_event_with_sender_recipient_and_subject_never_the_body() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(captured.clone())
        .finish();
    let mail = registration("ada@example.com")
        .with_reply_to(named("Acme Support", "support@acme.io"))
        .with_html("<p>Hello</p>")
        .unwrap();
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        LogMailer::new().send(&mail).await.expect("never fails");
    }

    let written = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(events.len(), 1, "{written}");
    let event = &events[0];
    assert_eq!(event["level"], "INFO");
    let fields = &event["fields"];
    assert_eq!(fields["from"], "Zoë at Acme, Inc. <no-reply@acme.io>");
    assert_eq!(fields["reply_to"], "Acme Support <support@acme.io>");
    assert_eq!(fields["to"], "ada@example.com");
    assert_eq!(fields["subject"], mail.subject());
    assert_eq!(fields["text_bytes"], mail.text().len());
    assert_eq!(fields["html"], true);
    // The body's link (its token) is a credential: it reaches no log.
    assert!(!written.contains("confirm?token="), "{written}");
    assert!(
        mail.text().contains("confirm?token="),
        "the test mail has a link"
    );
}
