//! What a receiver gets, and that another implementation of Standard Webhooks
//! accepts its signatures: PyPI's `standardwebhooks`, `Webhook(secret).verify`,
//! run with python3 on the captured headers and body.

use std::io::Write;
use std::process::{Command, Stdio};

use adapters_webhooks::{FailureKind, Outcome, Outgoing, SigningSecret};

use crate::receiver::{Captured, Receiver, Reply};
use crate::{PAYLOAD, loose, now, secret, send};

/// Exit 0: verified; 1: refused (the reason on stdout); 3: no such module.
const VERIFY: &str = r#"
import json, sys
try:
    from standardwebhooks import Webhook
except ImportError:
    sys.exit(3)
secret, headers = sys.argv[1], json.loads(sys.argv[2])
body = sys.stdin.buffer.read()
try:
    Webhook(secret).verify(body, headers)
except Exception as error:
    print(f"{type(error).__name__}: {error}")
    sys.exit(1)
"#;

/// Whether the Python `standardwebhooks` package, holding `secret`, accepts
/// `body` with the captured request's Standard Webhooks headers.
fn python_verifies(secret: &SigningSecret, captured: &Captured, body: &[u8]) -> Result<(), String> {
    let headers = serde_json::json!({
        "webhook-id": captured.header("webhook-id"),
        "webhook-timestamp": captured.header("webhook-timestamp"),
        "webhook-signature": captured.header("webhook-signature"),
    });
    let mut child = Command::new("python3")
        .args([
            "-c",
            VERIFY,
            secret.to_text().as_str(),
            headers.to_string().as_str(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("could not run python3 ({error}): the signature tests need it on PATH")
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(body)
        .expect("write the body to python3");
    let output = child.wait_with_output().expect("python3 finishes");
    match output.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&output.stdout).trim().to_owned()),
        Some(3) => panic!(
            "the Python package `standardwebhooks` is not installed: `cargo xtask setup` \
             installs it (or `python3 -m pip install standardwebhooks`)"
        ),
        _ => panic!(
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

#[tokio::test]
async fn a_signed_request_carries_the_standard_headers_and_the_payload_byte_for_byte() {
    let receiver = Receiver::start(Reply::status(204)).await;
    let sent_at = now();
    let outcome = loose()
        .send(&Outgoing {
            url: &receiver.url("/hooks/tenancy?x=1"),
            message_id: "msg_2xJ4",
            timestamp: sent_at,
            payload: PAYLOAD,
            secrets: &[secret(1)],
        })
        .await;
    assert!(
        matches!(outcome, Outcome::Answered { status: 204, .. }),
        "{outcome:?}"
    );
    let captured = receiver.only();
    assert_eq!(captured.body.as_ref(), PAYLOAD);
    assert_eq!(captured.header("webhook-id"), "msg_2xJ4");
    assert_eq!(captured.header("webhook-timestamp"), sent_at.to_string());
    assert_eq!(captured.header("content-type"), "application/json");
    assert_eq!(captured.header("user-agent"), "Tenancy-Webhooks-Test/1");
    let signature = captured.header("webhook-signature");
    assert!(
        signature.starts_with("v1,") && !signature.contains(' '),
        "{signature}"
    );
}

#[tokio::test]
async fn the_python_standard_webhooks_library_verifies_the_signature() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let key = secret(1);
    send(&loose(), &receiver.url("/"), std::slice::from_ref(&key)).await;
    let captured = receiver.only();

    assert_eq!(python_verifies(&key, &captured, &captured.body), Ok(()));
    // The verifier can refuse: another secret, or a changed body.
    let refused = python_verifies(&secret(2), &captured, &captured.body).unwrap_err();
    assert!(refused.contains("No matching signature"), "{refused}");
    let tampered = br#"{"type":"tenant.suspended","data":{"tenantId":"t_2","reason":"billing"}}"#;
    assert!(python_verifies(&key, &captured, tampered).is_err());
}

#[tokio::test]
async fn during_a_rotation_a_receiver_holding_either_secret_verifies() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let (old, new) = (secret(1), secret(2));
    send(&loose(), &receiver.url("/"), &[new.clone(), old.clone()]).await;
    let captured = receiver.only();

    assert_eq!(captured.header("webhook-signature").split(' ').count(), 2);
    assert_eq!(python_verifies(&old, &captured, &captured.body), Ok(()));
    assert_eq!(python_verifies(&new, &captured, &captured.body), Ok(()));
    assert!(python_verifies(&secret(3), &captured, &captured.body).is_err());
}

#[tokio::test]
async fn after_a_rotation_only_the_new_secret_verifies() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let (old, new) = (secret(1), secret(2));
    send(&loose(), &receiver.url("/"), std::slice::from_ref(&new)).await;
    let captured = receiver.only();

    assert_eq!(python_verifies(&new, &captured, &captured.body), Ok(()));
    assert!(python_verifies(&old, &captured, &captured.body).is_err());
}

#[tokio::test]
async fn nothing_is_sent_unsigned_or_with_an_id_that_is_not_a_header() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let url = receiver.url("/");
    let unsigned = send(&loose(), &url, &[]).await;
    assert!(
        matches!(
            unsigned,
            Outcome::Failed {
                reason: FailureKind::Request,
                ..
            }
        ),
        "{unsigned:?}"
    );
    let bad_id = loose()
        .send(&Outgoing {
            url: &url,
            message_id: "msg_1\r\nx-injected: yes",
            timestamp: now(),
            payload: PAYLOAD,
            secrets: &[secret(1)],
        })
        .await;
    assert!(
        matches!(
            bad_id,
            Outcome::Failed {
                reason: FailureKind::Request,
                ..
            }
        ),
        "{bad_id:?}"
    );
    assert!(receiver.captured().is_empty());
}
