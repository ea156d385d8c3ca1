//! What arrives at a real SMTP server, and what each failure becomes.

use std::net::TcpListener;
use std::time::Duration;

use adapters_mail::{Security, SmtpCredentials, SmtpMailer, SmtpPassword};
use domain::MailError;
use domain::ports::Mailer;
use serde_json::{Value, json};

use crate::{config, mailer, named, registration};
use test_support::smtp::{Mode, SmtpServer};

/// A body part as received, without the blank lines MIME framing adds at
/// its end.
fn body(part: &Value) -> &str {
    part.as_str().expect("the part arrived").trim_end()
}

#[tokio::test]
async fn a_plain_text_email_arrives_with_its_branding_subject_and_link() {
    let server = SmtpServer::start(Mode::Plain);
    let mail = registration("ada@example.com");
    mailer(server.port, Security::None, None)
        .send(&mail)
        .await
        .expect("the server accepts it");

    let got = server.received();
    assert_eq!(got["mail_from"], "no-reply@acme.io");
    assert_eq!(got["rcpt_tos"], json!(["ada@example.com"]));
    assert_eq!(
        got["from"],
        json!({"name": "Zoë at Acme, Inc.", "address": "no-reply@acme.io"})
    );
    assert_eq!(got["to"], json!({"name": "", "address": "ada@example.com"}));
    assert_eq!(got["reply_to"], json!(null));
    assert_eq!(got["subject"], "Confirm your Acme workspace — one click");
    assert_eq!(got["content_type"], "text/plain");
    assert_eq!(body(&got["text"]), mail.text().trim_end());
    assert_eq!(got["html"], json!(null));
    assert!(got["date"].is_string(), "{got}");
    let id = got["message_id"].as_str().expect("a Message-ID");
    assert!(id.ends_with("@acme.io>"), "{id}");
    // The headers are encoded for 7-bit transport, not sent raw.
    let raw = got["raw"].as_str().unwrap();
    assert!(raw.is_ascii(), "{raw}");
    assert!(!raw.contains("Zoë"), "{raw}");
}

#[tokio::test]
async fn html_goes_as_an_alternative_to_the_text_and_replies_go_to_the_reply_address() {
    let server = SmtpServer::start(Mode::Plain);
    let mail = registration("ada@example.com")
        .with_reply_to(named("Acme Support", "support@acme.io"))
        .with_html(
            "<p>Hello,</p><p><a href=\"https://acme.io/confirm?token=tok_3f9a\">Confirm</a></p>",
        )
        .unwrap();
    mailer(server.port, Security::None, None)
        .send(&mail)
        .await
        .expect("the server accepts it");

    let got = server.received();
    assert_eq!(got["content_type"], "multipart/alternative");
    assert_eq!(body(&got["text"]), mail.text().trim_end());
    assert_eq!(Some(body(&got["html"])), mail.html());
    assert_eq!(
        got["reply_to"],
        json!({"name": "Acme Support", "address": "support@acme.io"})
    );
    // A reply address is a header, not a recipient.
    assert_eq!(got["rcpt_tos"], json!(["ada@example.com"]));
}

#[tokio::test]
async fn a_recipient_the_server_refuses_with_550_is_rejected() {
    let server = SmtpServer::start(Mode::Plain);
    let error = mailer(server.port, Security::None, None)
        .send(&registration("refused@example.com"))
        .await
        .unwrap_err();
    match error {
        MailError::Rejected(message) => assert!(message.contains("550"), "{message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    server.assert_nothing_received();
}

#[tokio::test]
async fn a_server_asking_to_try_later_with_451_is_unavailable() {
    let server = SmtpServer::start(Mode::Plain);
    let error = mailer(server.port, Security::None, None)
        .send(&registration("later@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    server.assert_nothing_received();
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = config(port, Security::None, None);
    config.host = "127.0.0.1".into();
    let error = SmtpMailer::new(config)
        .unwrap()
        .send(&registration("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn a_server_that_never_greets_is_unavailable_after_the_timeout() {
    // Accepts the connection and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (_socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let mut config = config(port, Security::None, None);
    config.host = "127.0.0.1".into();
    config.timeout = Duration::from_millis(300);
    let mailer = SmtpMailer::new(config).unwrap();
    let mail = registration("ada@example.com");
    // Not a timing assertion: a generous bound, so that a mailer without a
    // timeout fails here instead of hanging the suite.
    let error = tokio::time::timeout(Duration::from_secs(30), mailer.send(&mail))
        .await
        .expect("the mailer gives up by itself")
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    silent.abort();
}

#[tokio::test]
async fn starttls_secures_the_session_before_authenticating() {
    let server = SmtpServer::with_login(Mode::StartTls, "mailer", "s3cret-pass");
    let mut config = config(
        server.port,
        Security::StartTls,
        server.certificate.as_deref(),
    );
    config.credentials = Some(SmtpCredentials {
        user: "mailer".into(),
        password: SmtpPassword::new("s3cret-pass"),
    });
    SmtpMailer::new(config)
        .unwrap()
        .send(&registration("ada@example.com"))
        .await
        .expect("the server accepts it");
    let got = server.received();
    assert_eq!(got["tls"], true);
    assert_eq!(got["login"], "mailer");
    assert_eq!(got["rcpt_tos"], json!(["ada@example.com"]));
}

#[tokio::test]
async fn credentials_the_server_refuses_are_rejected() {
    let server = SmtpServer::with_login(Mode::StartTls, "mailer", "s3cret-pass");
    let mut config = config(
        server.port,
        Security::StartTls,
        server.certificate.as_deref(),
    );
    config.credentials = Some(SmtpCredentials {
        user: "mailer".into(),
        password: SmtpPassword::new("wrong"),
    });
    let error = SmtpMailer::new(config)
        .unwrap()
        .send(&registration("ada@example.com"))
        .await
        .unwrap_err();
    match error {
        MailError::Rejected(message) => assert!(!message.contains("wrong"), "{message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    server.assert_nothing_received();
}

#[tokio::test]
async fn implicit_tls_delivers_over_an_encrypted_session() {
    let server = SmtpServer::start(Mode::Tls);
    mailer(server.port, Security::Tls, server.certificate.as_deref())
        .send(&registration("ada@example.com"))
        .await
        .expect("the server accepts it");
    assert_eq!(server.received()["tls"], true);
}

#[tokio::test]
async fn a_certificate_the_mailer_does_not_trust_is_unavailable_and_nothing_is_sent() {
    let server = SmtpServer::start(Mode::Tls);
    // Only the system's roots: the self-signed certificate is not among them.
    let error = mailer(server.port, Security::Tls, None)
        .send(&registration("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    server.assert_nothing_received();
}

#[tokio::test]
async fn starttls_is_required_not_hoped_for() {
    // A plain server that offers no STARTTLS: the mailer must not fall back.
    let server = SmtpServer::start(Mode::Plain);
    let error = mailer(server.port, Security::StartTls, None)
        .send(&registration("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    server.assert_nothing_received();
}
