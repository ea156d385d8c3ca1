//! Two `tenancy serve` processes on one database, each running its delivery
//! worker: changes made through both reach a webhook receiver (the
//! independent Python verifier) each exactly once, none lost, each signed.
//! Claims hold an endpoint for one worker at a time (`FOR UPDATE SKIP
//! LOCKED`), so in the common case (no worker dying) nothing is sent twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::TempFile;
use crate::crash::{TOKEN, serve_on};
use crate::webhooks::Receiver;

const TENANTS: usize = 40;

async fn post(client: reqwest::Client, url: String, body: Value) -> Value {
    let response = client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
    body
}

/// How many times each event arrived, by event id, each checked verified.
fn arrivals(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (verified, event) in receiver.received() {
        assert!(verified, "a signature the verifier refused: {event}");
        let id = event["id"].as_str().expect("an event id").to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn two_server_processes_deliver_every_event_exactly_once_between_them() {
    let db = TestDatabase::new().await;
    let first = serve_on(&db);
    let second = serve_on(&db);
    let client = reqwest::Client::new();
    post(
        client.clone(),
        first.url("/v1/orgs"),
        json!({"key": "twinco", "name": "Twin Co"}),
    )
    .await;
    let secret_file = TempFile::new("instances-webhook-secret", "");
    let receiver = Receiver::start(&secret_file);
    let endpoint = post(
        client.clone(),
        first.url("/v1/orgs/twinco/webhooks"),
        json!({"url": format!("http://127.0.0.1:{}/hooks", receiver.port),
               "eventTypes": ["tenant.provisioned"]}),
    )
    .await;
    std::fs::write(secret_file.path(), endpoint["secret"].as_str().unwrap()).unwrap();

    // Through both, concurrently: each commit wakes both workers.
    let mut provisions = tokio::task::JoinSet::new();
    for i in 0..TENANTS {
        let server = if i % 2 == 0 { &first } else { &second };
        provisions.spawn(post(
            client.clone(),
            server.url("/v1/orgs/twinco/tenants"),
            json!({"key": format!("twin-{i:02}"), "name": format!("Twin {i}")}),
        ));
    }
    while let Some(done) = provisions.join_next().await {
        done.expect("a provisioning");
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals(&receiver).len() < TENANTS {
        assert!(
            Instant::now() < deadline,
            "only {} of {TENANTS} events arrived",
            arrivals(&receiver).len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a second copy to arrive, were one on its way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = arrivals(&receiver);
    assert_eq!(counts.len(), TENANTS, "none lost, none invented");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
}
