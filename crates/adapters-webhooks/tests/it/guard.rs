//! The SSRF guard, through `check_url` and `send`: refused targets are never
//! contacted. Only loopback is ever really listened on; the other refused
//! addresses are refused before any packet leaves.

use adapters_webhooks::{AddressRange, Outcome, Refusal};

use crate::receiver::{Receiver, Reply};
use crate::{loose, secret, send, strict};

/// The range a refusal names, or a panic saying what came instead.
fn refused_range(outcome: &Outcome) -> AddressRange {
    match outcome {
        Outcome::Refused(Refusal::Address { range, .. }) => *range,
        other => panic!("expected an address refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn private_loopback_and_link_local_addresses_are_refused_without_the_allowance() {
    let sender = strict();
    let cases = [
        ("https://127.0.0.1/hook", AddressRange::Loopback),
        ("https://10.0.0.1/hook", AddressRange::Private),
        (
            "https://169.254.169.254/latest/meta-data/",
            AddressRange::LinkLocal,
        ),
        ("https://[::1]/hook", AddressRange::Loopback),
        ("https://[::ffff:10.0.0.1]/hook", AddressRange::Private),
        ("https://[fd00::1]:8443/hook", AddressRange::UniqueLocal),
        ("https://100.64.0.1/hook", AddressRange::Shared),
    ];
    for (url, range) in cases {
        let checked = sender.check_url(url).await.unwrap_err();
        assert!(
            matches!(checked, Refusal::Address { range: r, .. } if r == range),
            "{url}: {checked:?}"
        );
        let outcome = send(&sender, url, &[secret(1)]).await;
        assert_eq!(refused_range(&outcome), range, "{url}");
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_and_never_contacted() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let url = format!("https://localhost:{}/hook", receiver.address.port());
    let sender = strict();

    let checked = sender.check_url(&url).await.unwrap_err();
    assert_eq!(
        checked,
        Refusal::Address {
            host: "localhost".into(),
            address: "127.0.0.1".parse().unwrap(),
            range: AddressRange::Loopback,
        }
    );
    // `send` resolves through the guard too, and refuses at connection time.
    let outcome = send(&sender, &url, &[secret(1)]).await;
    assert_eq!(refused_range(&outcome), AddressRange::Loopback);
    assert!(receiver.captured().is_empty());
}

#[tokio::test]
async fn the_allowance_lets_a_name_reach_loopback_through_the_same_resolver() {
    let receiver = Receiver::start(Reply::status(200)).await;
    let url = format!("http://localhost:{}/hook", receiver.address.port());
    let sender = loose();
    assert_eq!(sender.check_url(&url).await, Ok(()));
    let outcome = send(&sender, &url, &[secret(1)]).await;
    assert!(
        matches!(outcome, Outcome::Answered { status: 200, .. }),
        "{outcome:?}"
    );
    assert_eq!(receiver.captured().len(), 1);
}

#[tokio::test]
async fn plain_http_and_user_info_are_refused_whatever_the_address() {
    let sender = strict();
    assert_eq!(
        sender.check_url("http://example.com/hook").await,
        Err(Refusal::Scheme {
            scheme: "http".into()
        })
    );
    let receiver = Receiver::start(Reply::status(200)).await;
    let with_password = format!("http://user:hunter2@{}/hook", receiver.address);
    assert_eq!(
        loose().check_url(&with_password).await,
        Err(Refusal::UserInfo)
    );
    assert_eq!(
        send(&loose(), &with_password, &[secret(1)]).await,
        Outcome::Refused(Refusal::UserInfo)
    );
    assert!(receiver.captured().is_empty());
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_refused_by_the_check() {
    // `.invalid` never resolves (RFC 2606).
    let host = "no-such-receiver.invalid";
    assert_eq!(
        loose().check_url(&format!("https://{host}/hook")).await,
        Err(Refusal::Unresolved { host: host.into() })
    );
}

/// The port's answer when an endpoint is saved: a name is judged by what it
/// resolves to (here `localhost`, through the system's resolver: this guard
/// has no list of names), and one that does not resolve is told apart (the
/// domain accepts it; each delivery is checked again).
#[tokio::test]
async fn the_port_tells_forbidden_targets_from_unresolved_ones() {
    use domain::ports::WebhookSender;
    use domain::webhook_delivery::Target;
    let sender = crate::strict();
    let Target::Forbidden(refused) = sender.check_target("https://localhost/hooks").await else {
        panic!("localhost is forbidden")
    };
    assert!(refused.contains("loopback"), "{refused}");
    assert!(matches!(
        sender
            .check_target("https://hooks.tenancy-test.invalid/")
            .await,
        Target::Unresolved(_)
    ));
    assert_eq!(
        crate::loose().check_target("http://127.0.0.1:9/").await,
        Target::Allowed
    );
}
