//! A tenant's IP allowlist on PostgreSQL, through two real servers on one
//! database: a change through one instance refuses the tenant's keys on the
//! very next request there, and reaches the other instance's cache through
//! the invalidation channel, like a suspension.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Api, PROPAGATION, TOKEN, create_org, provision, serve_on};
use adapters_postgres::testing::TestDatabase;

const SECURITY: &str = "/v1/orgs/signstack/tenants/acme/settings/security";

async fn set_allowlist(api: &Api, list: Value) {
    let request = api
        .client
        .patch(format!("{}{SECURITY}", api.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "ipAllowlist": list }).to_string());
    let (status, body) = api.send(request).await;
    assert_eq!(status, 200, "{body}");
}

/// Polls `api`'s verdict on `secret` (from the tests' loopback address) until
/// it is `expected`; any other verdict than `before` on the way fails.
async fn verdict_turns(api: &Api, secret: &str, before: &str, expected: &str) {
    let deadline = Instant::now() + PROPAGATION;
    loop {
        let code = api.verify(secret).await;
        if code == expected {
            return;
        }
        assert_eq!(code, before);
        assert!(
            Instant::now() < deadline,
            "the other instance still answers {before:?} for the key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_allowlist_set_through_one_instance_holds_on_both() {
    let db = TestDatabase::new().await;
    let a = serve_on(&db);
    let b = serve_on(&db);
    let (a, b) = (Api::of(&a), Api::of(&b));
    create_org(&a).await;
    let secret = provision(&a, "acme").await;
    // Cached by both from now on.
    for api in [&a, &b] {
        assert_eq!(api.verify(&secret).await, "valid");
        let (status, body) = api.get_as(&secret, "/v1/namespace/resources").await;
        assert_eq!(status, 200, "{body}");
    }

    set_allowlist(&a, json!(["203.0.113.0/24"])).await;
    // The writing instance: the very next request.
    let (status, body) = a.get_as(&secret, "/v1/namespace/resources").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "ip_not_allowed", "{body}");
    assert_eq!(a.verify(&secret).await, "ip_not_allowed");
    // The other: as soon as the notification arrives.
    verdict_turns(&b, &secret, "valid", "ip_not_allowed").await;
    let (status, body) = b.get_as(&secret, "/v1/namespace/resources").await;
    assert_eq!(status, 403, "{body}");

    // Loopback listed: accepted again on both.
    set_allowlist(&b, json!(["203.0.113.0/24", "127.0.0.1"])).await;
    assert_eq!(b.verify(&secret).await, "valid");
    verdict_turns(&a, &secret, "ip_not_allowed", "valid").await;
}
