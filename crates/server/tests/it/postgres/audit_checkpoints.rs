//! Audit checkpoints on the real server: the key `tenancy kms init` puts in
//! the keyring signs them and stays the same across restarts; a keyring made
//! before checkpoint keys has none (`503`; `tenancy kms rotate` adds one,
//! adapters-kms tests).

use reqwest::StatusCode;

use super::{Api, TOKEN, create_org, serve_on};
use crate::Server;
use adapters_postgres::testing::TestDatabase;

#[tokio::test]
async fn the_keyrings_checkpoint_key_signs_and_survives_a_restart_and_an_old_keyring_has_none() {
    // A keyring made before checkpoint keys (the tests' fixed one): no key.
    let db = TestDatabase::new().await;
    let old = serve_on(&db);
    let api = Api::of(&old);
    create_org(&api).await;
    let (status, body) = api.get("/v1/audit/signing-key").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "signing_key_unavailable");
    let (status, body) = api.get("/v1/orgs/signstack/audit-events/verify").await;
    assert_eq!(status, StatusCode::OK, "verifying needs no key: {body}");
    assert_eq!(body["intact"], true);
    old.terminate();

    let dir = std::env::temp_dir().join(format!("tenancy-checkpoints-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keyring = dir.join("keyring.json");
    let keyring = keyring.to_str().unwrap();
    let mut init = Server::start(&[], &["kms", "init", "--keyring", keyring]);
    assert!(init.wait().success(), "{:?}", init.stderr.all());
    let vars = [
        ("TENANCY_ADMIN_TOKEN", TOKEN),
        ("DATABASE_URL", db.runtime_url()),
        ("TENANCY_KEYRING", keyring),
    ];
    let signed = |server: &Server| {
        let api = Api::of(server);
        async move {
            let (status, key) = api.get("/v1/audit/signing-key").await;
            assert_eq!(status, StatusCode::OK, "{key}");
            let (status, checkpoint) = api.get("/v1/orgs/signstack/audit-events/checkpoint").await;
            assert_eq!(status, StatusCode::OK, "{checkpoint}");
            assert_eq!(checkpoint["keyId"], key["keyId"]);
            assert_eq!(checkpoint["seq"], 1);
            assert_eq!(checkpoint["signature"].as_str().unwrap().len(), 128);
            key
        }
    };
    let first = Server::start(&vars, &[]);
    first.stderr.wait_for("audit checkpoints are signed");
    let key = signed(&first).await;
    first.terminate();
    let second = Server::start(&vars, &[]);
    assert_eq!(signed(&second).await, key, "the same key after a restart");
    second.terminate();
    let _ = std::fs::remove_dir_all(&dir);
}
