//! The custom-domain job in the real binary: with `TENANCY_DNS_NAMESERVERS`
//! pointing at a nameserver on 127.0.0.1 (`adapters_dns::testing`), a domain
//! added while its TXT record is missing stays pending with the reason its
//! lookup gave, and once the record is published the job, on its own, marks
//! it verified at its next check (a minute later: the backoff's first step,
//! so this test takes about a minute) and `GET /v1/public/tenant` answers for
//! it.

use std::time::{Duration, Instant};

use adapters_dns::testing::{Nameserver, ZONE};
use serde_json::{Value, json};

use crate::{PATIENCE, Server};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let reply = request.send().await.expect("the server answers");
    let status = reply.status().as_u16();
    let text = reply.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Reads the domain until `done` holds, for at most `patience` (the job runs
/// every 100 ms here).
async fn domain_until(
    client: &reqwest::Client,
    url: &str,
    what: &str,
    patience: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let (status, domain) = send(client.get(url).bearer_auth(TOKEN)).await;
        assert_eq!(status, 200, "{domain}");
        if done(&domain) {
            return domain;
        }
        assert!(start.elapsed() < patience, "never {what}: {domain}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_job_verifies_a_domain_once_its_record_is_published() {
    let ns = Nameserver::start().await;
    let nameserver = ns.addr.to_string();
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("TENANCY_BASE_DOMAIN", "tenancy.example"),
            ("TENANCY_DNS_NAMESERVERS", &nameserver),
            ("TENANCY_DNS_TIMEOUT_MS", "2000"),
            ("TENANCY_DOMAIN_CHECK_INTERVAL_MS", "100"),
            ("TENANCY_DOMAIN_CHALLENGE_PREFIX", "_acme-proof"),
        ],
        &[],
    );
    let client = reqwest::Client::new();
    let (status, _) = send(
        client
            .post(server.url("/v1/orgs"))
            .bearer_auth(TOKEN)
            .json(&json!({"key": "signstack", "name": "SignStack"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        client
            .post(server.url("/v1/orgs/signstack/tenants"))
            .bearer_auth(TOKEN)
            .json(&json!({"key": "acme", "name": "Acme Corp",
                          "namespaces": [{"key": "acme-live", "name": "Live"}]})),
    )
    .await;
    assert_eq!(status, 201);

    let url = server.url("/v1/orgs/signstack/tenants/acme/domain");
    let host = format!("login.{ZONE}");
    let (status, added) = send(
        client
            .put(&url)
            .bearer_auth(TOKEN)
            .json(&json!({ "domain": host })),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    let challenge = format!("_acme-proof.{host}");
    assert_eq!(added["txtRecord"]["name"], challenge.as_str());
    assert_eq!(added["cnameTarget"], "acme.tenancy.example");

    // The job checks it at once: nothing is published yet.
    let missed = domain_until(&client, &url, "checked", PATIENCE, |d| {
        !d["reason"].is_null()
    })
    .await;
    assert_eq!(missed["status"], "pending");
    assert_eq!(missed["reason"], "nxdomain");

    // Published: the job's next check, a minute after the first (the
    // backoff's first step), finds it, with no request to help it.
    let token = added["txtRecord"]["value"].as_str().expect("a token");
    ns.add_txt(&challenge, &[token]).await;
    let verified = domain_until(&client, &url, "verified", Duration::from_secs(120), |d| {
        d["status"] == "verified"
    })
    .await;
    assert_eq!(verified["reason"], Value::Null);
    assert!(verified["verifiedAt"].is_string());
    assert_eq!(
        verified["lastCheckedAt"], verified["verifiedAt"],
        "verified by the job's check"
    );

    let (status, public) = send(
        client
            .get(server.url("/v1/public/tenant"))
            .header(reqwest::header::HOST, &host),
    )
    .await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["key"], "acme");
}
