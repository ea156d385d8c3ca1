//! What the sender reports for each kind of answer, and for no answer.

use std::sync::atomic::Ordering;
use std::time::Duration;

use adapters_webhooks::{EXCERPT_LIMIT, FailureKind, Outcome};

use crate::receiver::{Receiver, Reply, Streamer, raw};
use crate::{loose, secret, send, sender};

fn failure(outcome: &Outcome) -> FailureKind {
    match outcome {
        Outcome::Failed { reason, .. } => *reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_reports_its_status_excerpt_and_no_retry_after() {
    let receiver = Receiver::start(Reply::status(500).body("database on fire")).await;
    let outcome = send(&loose(), &receiver.url("/"), &[secret(1)]).await;
    let Outcome::Answered {
        status,
        retry_after,
        excerpt,
        ..
    } = outcome
    else {
        panic!("expected an answer, got {outcome:?}");
    };
    assert_eq!(status, 500);
    assert_eq!(retry_after, None);
    assert_eq!(excerpt, "database on fire");
}

#[tokio::test]
async fn retry_after_is_read_in_seconds_and_as_an_http_date() {
    let receiver = Receiver::start(Reply::status(429).header("retry-after", "30")).await;
    let outcome = send(&loose(), &receiver.url("/"), &[secret(1)]).await;
    assert!(
        matches!(outcome, Outcome::Answered { status: 429, retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{outcome:?}"
    );

    let receiver = Receiver::start(
        Reply::status(503)
            .header("date", "Wed, 21 Oct 2026 07:28:00 GMT")
            .header("retry-after", "Wed, 21 Oct 2026 07:30:00 GMT"),
    )
    .await;
    let outcome = send(&loose(), &receiver.url("/"), &[secret(1)]).await;
    assert!(
        matches!(outcome, Outcome::Answered { status: 503, retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_excerpt_is_the_first_kib_as_lossy_utf8() {
    // 1,023 bytes of text, then a two-byte character cut in half by the limit.
    let mut body = vec![b'a'; EXCERPT_LIMIT - 1];
    body.extend_from_slice("é and more".as_bytes());
    let receiver = Receiver::start(Reply::status(400).body(body)).await;
    let Outcome::Answered { excerpt, .. } = send(&loose(), &receiver.url("/"), &[secret(1)]).await
    else {
        panic!("expected an answer");
    };
    assert_eq!(excerpt.len(), EXCERPT_LIMIT - 1 + '\u{FFFD}'.len_utf8());
    assert!(excerpt.starts_with(&"a".repeat(EXCERPT_LIMIT - 1)));
    assert!(excerpt.ends_with('\u{FFFD}'));
}

#[tokio::test]
async fn a_large_answer_is_read_only_up_to_its_first_kib() {
    const TOTAL: u64 = 256 * 1024 * 1024;
    let streamer = Streamer::start(TOTAL).await;
    let url = format!("http://{}/", streamer.address);
    let Outcome::Answered {
        status, excerpt, ..
    } = send(&loose(), &url, &[secret(1)]).await
    else {
        panic!("expected an answer");
    };
    assert_eq!(status, 200);
    assert_eq!(excerpt, "x".repeat(EXCERPT_LIMIT));
    // The sender hung up: the receiver's writes fail long before it is done.
    for _ in 0..200 {
        if streamer.done.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        streamer.done.load(Ordering::SeqCst),
        "the receiver is still writing"
    );
    let written = streamer.written.load(Ordering::SeqCst);
    assert!(written < TOTAL / 4, "{written} of {TOTAL} bytes were taken");
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let target = Receiver::start(Reply::status(200)).await;
    let receiver =
        Receiver::start(Reply::status(307).header("location", target.url("/elsewhere"))).await;
    let outcome = send(&loose(), &receiver.url("/"), &[secret(1)]).await;
    assert!(
        matches!(outcome, Outcome::Answered { status: 307, .. }),
        "{outcome:?}"
    );
    assert_eq!(receiver.captured().len(), 1);
    assert!(target.captured().is_empty());
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_a_timeout() {
    let timeout = Duration::from_millis(500);
    let receiver = Receiver::start(Reply::status(200).delay(Duration::from_secs(60))).await;
    let outcome = send(&sender(true, timeout), &receiver.url("/"), &[secret(1)]).await;
    let Outcome::Failed { reason, latency } = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(reason, FailureKind::Timeout);
    assert!(latency >= timeout, "{latency:?}");
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let outcome = send(&loose(), &format!("http://{address}/"), &[secret(1)]).await;
    assert_eq!(failure(&outcome), FailureKind::Connect);
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_a_dns_failure() {
    let outcome = send(&loose(), "http://no-such-receiver.invalid/", &[secret(1)]).await;
    assert_eq!(failure(&outcome), FailureKind::Dns);
}

#[tokio::test]
async fn https_to_a_plain_http_receiver_is_a_tls_failure() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let url = format!("https://{}/", receiver.address);
    let outcome = send(&loose(), &url, &[secret(1)]).await;
    assert_eq!(failure(&outcome), FailureKind::Tls);
}

#[tokio::test]
async fn an_answer_that_is_not_http_is_a_protocol_failure() {
    let address = raw(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let outcome = send(&loose(), &format!("http://{address}/"), &[secret(1)]).await;
    assert_eq!(failure(&outcome), FailureKind::Protocol);

    let address = raw(b"").await;
    let outcome = send(&loose(), &format!("http://{address}/"), &[secret(1)]).await;
    assert_eq!(failure(&outcome), FailureKind::Protocol);
}
