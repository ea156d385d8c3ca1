//! The mailers against a real SMTP server on 127.0.0.1 (PyPI's `aiosmtpd`,
//! run with python3: `test_support::smtp`), and the log mailer against a captured log.

mod log;
mod smtp;

use std::time::Duration;

use adapters_mail::{Security, SmtpConfig, SmtpMailer};
use domain::{Email, Mailbox, OutgoingMail};

pub fn email(raw: &str) -> Email {
    Email::parse(raw).expect("a valid address")
}

/// A mailbox with a display name.
pub fn named(name: &str, address: &str) -> Mailbox {
    Mailbox::new(Some(name), email(address)).expect("a valid mailbox")
}

/// A registration email from Acme's branding to `to`, plain text only.
pub fn registration(to: &str) -> OutgoingMail {
    OutgoingMail::new(
        named("Zoë at Acme, Inc.", "no-reply@acme.io"),
        Mailbox::new(None, email(to)).expect("a valid mailbox"),
        "Confirm your Acme workspace — one click",
        "Hello,\n\nconfirm your workspace: https://acme.io/confirm?token=tok_3f9a\n\nThe link works once, for 24 hours.\n",
    )
    .expect("a valid mail")
}

/// A mailer for the test server on `port` with `security`, trusting
/// `certificate` when the server has one.
pub fn mailer(port: u16, security: Security, certificate: Option<&str>) -> SmtpMailer {
    SmtpMailer::new(config(port, security, certificate)).expect("a valid configuration")
}

pub fn config(port: u16, security: Security, certificate: Option<&str>) -> SmtpConfig {
    SmtpConfig {
        // The certificate names `localhost`; the server listens on 127.0.0.1.
        host: "localhost".into(),
        port,
        security,
        credentials: None,
        timeout: Duration::from_secs(15),
        hello_name: Some("tenancy.test".into()),
        extra_roots_pem: certificate.map(str::to_owned),
    }
}
