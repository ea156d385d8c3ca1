//! An API key's secret is shown in exactly one response and its hash in none.
//! The walk through every call around a key ([`a_key_and_everything_around_it`])
//! and the spellings of a hash a leak could take are shared with `logs`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api_keys::ACME_LIVE;
use crate::app::{Reply, TestApp, key_id_of, secret_of};

/// Every encoding of a key's SHA-256 a leak could take.
pub fn hash_spellings(secret: &str) -> Vec<String> {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        hex.to_uppercase(),
        hex,
        STANDARD.encode(digest),
        STANDARD_NO_PAD.encode(digest),
        URL_SAFE.encode(digest),
        URL_SAFE_NO_PAD.encode(digest),
    ]
}

/// What [`a_key_and_everything_around_it`] did.
pub struct KeyStory {
    /// The first key's secret, from provisioning.
    pub first: String,
    pub provisioning: Reply,
    /// The secret of the key created next, and the response that created it.
    pub secret: String,
    pub creation: Reply,
    /// The secret its rotation minted, and the rotation's response.
    pub rotated: String,
    pub rotation: Reply,
    /// Every other response, named.
    pub others: Vec<(&'static str, Reply)>,
}

/// Provisions a tenant (with its first key), creates a namespace key, then makes
/// every call that could show a secret again: listings from both sides, the
/// tenant and namespace reads, verification, the audit trail, the provisioning
/// replay, a rotation, a refused call and a revocation.
pub async fn a_key_and_everything_around_it(app: &TestApp) -> KeyStory {
    app.org("signstack").await;
    let spec = json!({"key": "acme", "name": "Acme"});
    let provisioning = app.post("/v1/orgs/signstack/tenants", &spec).await;
    let first = secret_of(&provisioning.expect(201));
    let creation = app
        .post(ACME_LIVE, &json!({"name": "checkout", "role": "admin"}))
        .await;
    let created = creation.expect(201);
    let secret = secret_of(&created);
    let id = key_id_of(&created);
    let verify = |key: &str| {
        app.anonymous(Method::POST, "/v1/keys/verify")
            .json(&json!({ "key": key }))
    };
    let mut others = vec![
        ("org-side listing", app.get(ACME_LIVE).await),
        (
            "own listing",
            app.get_as(&secret, "/v1/namespace/api-keys").await,
        ),
        ("own tenant", app.get_as(&secret, "/v1/tenant").await),
        ("own namespace", app.get_as(&secret, "/v1/namespace").await),
        ("tenant", app.get("/v1/orgs/signstack/tenants/acme").await),
        ("verification", app.send(verify(&secret)).await),
        ("first key verification", app.send(verify(&first)).await),
        (
            "audit trail",
            app.get("/v1/orgs/signstack/audit-events").await,
        ),
        (
            "provisioning replay",
            app.post("/v1/orgs/signstack/tenants", &spec).await,
        ),
        ("inventory", app.get("/v1/tenants").await),
    ];
    let rotation = app
        .post(
            &format!("{ACME_LIVE}/{id}/rotate"),
            &json!({"gracePeriodSeconds": 60}),
        )
        .await;
    let rotated = secret_of(&rotation.expect(201));
    let (head, last) = secret.split_at(secret.len() - 1);
    let mistyped = format!("{head}{}", if last == "0" { "1" } else { "0" });
    others.extend([
        (
            "listing after rotation",
            app.get_as(&rotated, "/v1/namespace/api-keys").await,
        ),
        (
            "old secret in its grace period",
            app.send(verify(&secret)).await,
        ),
        ("refused call", app.get_as(&mistyped, "/v1/namespace").await),
        ("revocation", app.delete(&format!("{ACME_LIVE}/{id}")).await),
        (
            "refused revoked key",
            app.get_as(&secret, "/v1/tenant").await,
        ),
        (
            "audit trail after all",
            app.get("/v1/orgs/signstack/audit-events").await,
        ),
    ]);
    KeyStory {
        first,
        provisioning,
        secret,
        creation,
        rotated,
        rotation,
        others,
    }
}

#[tokio::test]
async fn a_secret_appears_in_exactly_one_response_and_its_hash_in_none() {
    let app = TestApp::start().await;
    let story = a_key_and_everything_around_it(&app).await;
    let all: Vec<(&str, &Reply)> = [
        ("provisioning", &story.provisioning),
        ("creation", &story.creation),
        ("rotation", &story.rotation),
    ]
    .into_iter()
    .chain(story.others.iter().map(|(name, reply)| (*name, reply)))
    .collect();
    for (secret, shown_by) in [
        (&story.first, "provisioning"),
        (&story.secret, "creation"),
        (&story.rotated, "rotation"),
    ] {
        let showing: Vec<&str> = all
            .iter()
            .filter(|(_, reply)| reply.text.contains(secret.as_str()))
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(showing, [shown_by], "where the secret shows");
        let shown = all.iter().find(|(name, _)| *name == shown_by).unwrap().1;
        assert_eq!(shown.text.matches(secret.as_str()).count(), 1, "once");
        for spelling in hash_spellings(secret) {
            for (name, reply) in &all {
                assert!(!reply.text.contains(&spelling), "{name} shows a hash");
            }
        }
    }
    // The calls really happened as described.
    let named = |name: &str| &story.others.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(named("verification").expect(200)["code"], "valid");
    assert_eq!(named("provisioning replay").status.as_u16(), 200);
    named("refused revoked key").expect_problem(401, "unauthorized");
    named("refused call").expect_problem(401, "unauthorized");
    let listing = named("own listing").expect(200);
    assert_eq!(listing["items"].as_array().unwrap().len(), 2);
}
