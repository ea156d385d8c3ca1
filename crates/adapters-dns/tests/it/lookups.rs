//! Answers: records found, names without records, names that do not exist,
//! and that nothing is cached between two lookups.

use std::time::Duration;

use domain::custom_domain::ChallengePrefix;
use domain::ports::{DnsFailure, DnsResolver};

use crate::{challenge, name, resolver};
use adapters_dns::testing::{Nameserver, ZONE};

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_token_at_the_challenge_name_is_returned() {
    let ns = Nameserver::start().await;
    let challenge = name(&format!("shop.{ZONE}"))
        .challenge_name(&ChallengePrefix::default())
        .expect("short enough");
    let token = "tenancy-verify=00112233445566778899aabbccddeeff";
    ns.add_txt(challenge.as_str(), &[token]).await;
    ns.add_txt(challenge.as_str(), &["v=spf1 -all"]).await;

    let mut found = resolver(vec![ns.addr], TIMEOUT)
        .txt(&challenge)
        .await
        .expect("an answer");
    found.sort();
    assert_eq!(found, vec![token.to_owned(), "v=spf1 -all".to_owned()]);
}

#[tokio::test]
async fn a_name_without_txt_records_answers_empty() {
    let ns = Nameserver::start().await;
    let www = name(&format!("www.{ZONE}"));

    let found = resolver(vec![ns.addr], TIMEOUT).txt(&www).await;
    assert_eq!(found, Ok(vec![]));
}

#[tokio::test]
async fn an_unknown_name_is_nxdomain() {
    let ns = Nameserver::start().await;
    let missing = name(&format!("nowhere.{ZONE}"));

    let found = resolver(vec![ns.addr], TIMEOUT).txt(&missing).await;
    assert_eq!(found, Err(DnsFailure::NxDomain));
}

#[tokio::test]
async fn a_name_seen_as_nxdomain_is_found_by_the_next_lookup_once_created() {
    let ns = Nameserver::start().await;
    let resolver = resolver(vec![ns.addr], TIMEOUT);
    let challenge = challenge(&format!("late.{ZONE}"));
    assert_eq!(
        resolver.txt(&challenge).await,
        Err(DnsFailure::NxDomain),
        "not there yet"
    );

    // The zone's negative TTL is a day: only a resolver that cached nothing
    // sees the record now.
    ns.add_txt(challenge.as_str(), &["created"]).await;
    assert_eq!(
        resolver.txt(&challenge).await,
        Ok(vec!["created".to_owned()])
    );
}

#[tokio::test]
async fn a_name_seen_without_txt_records_is_found_by_the_next_lookup_once_added() {
    let ns = Nameserver::start().await;
    let resolver = resolver(vec![ns.addr], TIMEOUT);
    let www = name(&format!("www.{ZONE}"));
    assert_eq!(resolver.txt(&www).await, Ok(vec![]), "no TXT yet");

    ns.add_txt(www.as_str(), &["added"]).await;
    assert_eq!(resolver.txt(&www).await, Ok(vec!["added".to_owned()]));
}

#[tokio::test]
async fn a_record_added_beside_one_seen_is_found_by_the_next_lookup() {
    let ns = Nameserver::start().await;
    let resolver = resolver(vec![ns.addr], TIMEOUT);
    let challenge = challenge(&format!("edit.{ZONE}"));
    ns.add_txt(challenge.as_str(), &["first"]).await;
    assert_eq!(resolver.txt(&challenge).await, Ok(vec!["first".to_owned()]));

    // Records live a day: a cached positive answer would hide the second.
    ns.add_txt(challenge.as_str(), &["second"]).await;
    let mut found = resolver.txt(&challenge).await.expect("an answer");
    found.sort();
    assert_eq!(found, vec!["first".to_owned(), "second".to_owned()]);
}

#[tokio::test]
async fn a_record_of_several_strings_is_one_joined_string() {
    let ns = Nameserver::start().await;
    let challenge = challenge(&format!("split.{ZONE}"));
    ns.add_txt(
        challenge.as_str(),
        &["tenancy-verify=00112233", "445566778899aabbccddeeff"],
    )
    .await;

    let found = resolver(vec![ns.addr], TIMEOUT).txt(&challenge).await;
    assert_eq!(
        found,
        Ok(vec![
            "tenancy-verify=00112233445566778899aabbccddeeff".to_owned()
        ])
    );
}

#[tokio::test]
async fn an_answer_too_long_for_udp_is_fetched_over_tcp() {
    let ns = Nameserver::start().await;
    let challenge = challenge(&format!("long.{ZONE}"));
    // Twelve records of 200 bytes: far past the 512 bytes of a UDP answer
    // without EDNS, so the server truncates it and the resolver asks again
    // over TCP.
    let records: Vec<String> = (0..12)
        .map(|i| format!("{i:02}{}", "x".repeat(198)))
        .collect();
    for record in &records {
        ns.add_txt(challenge.as_str(), &[record.as_str()]).await;
    }

    let mut found = resolver(vec![ns.addr], TIMEOUT)
        .txt(&challenge)
        .await
        .expect("an answer");
    found.sort();
    assert_eq!(found, records);
}
