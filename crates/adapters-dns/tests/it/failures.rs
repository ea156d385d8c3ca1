//! Nameservers that do not answer, or will not.

use std::time::Duration;

use domain::ports::{DnsFailure, DnsResolver};

use crate::{challenge, resolver};
use adapters_dns::testing::{Nameserver, ZONE, silent};

#[tokio::test]
async fn a_nameserver_that_never_answers_is_a_timeout() {
    let (addr, task) = silent().await;

    let found = resolver(vec![addr], Duration::from_millis(300))
        .txt(&challenge(&format!("shop.{ZONE}")))
        .await;
    assert_eq!(found, Err(DnsFailure::Timeout));
    task.abort();
}

#[tokio::test]
async fn a_zone_the_nameserver_does_not_serve_is_servfail() {
    // The server answers REFUSED for names outside its zone.
    let ns = Nameserver::start().await;

    let found = resolver(vec![ns.addr], Duration::from_secs(5))
        .txt(&challenge("elsewhere.example"))
        .await;
    assert_eq!(found, Err(DnsFailure::ServFail));
}

#[tokio::test]
async fn a_silent_nameserver_does_not_hide_the_answer_of_another() {
    let (dead, task) = silent().await;
    let ns = Nameserver::start().await;
    let challenge = challenge(&format!("shop.{ZONE}"));
    ns.add_txt(challenge.as_str(), &["here"]).await;

    let found = resolver(vec![dead, ns.addr], Duration::from_millis(500))
        .txt(&challenge)
        .await;
    assert_eq!(found, Ok(vec!["here".to_owned()]));
    task.abort();
}
