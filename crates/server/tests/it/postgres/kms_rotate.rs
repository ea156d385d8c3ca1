//! `tenancy kms rotate` against a real database and keyring file, next to a
//! serving server: every data key is rewrapped in batches while the server
//! keeps answering.

use serde_json::json;

use super::{Api, TOKEN, create_org, provision};
use crate::Server;
use adapters_postgres::testing::TestDatabase;

/// `tenancy kms rotate` adds a KEK version and rewraps every data key in
/// batches while a server on the same database and keyring file keeps
/// answering; afterwards every secret still opens and every stored envelope
/// carries the new version.
#[tokio::test]
async fn kms_rotate_rewraps_every_data_key_while_the_server_keeps_answering() {
    let db = TestDatabase::new().await;
    let dir = std::env::temp_dir().join(format!("tenancy-kms-rotate-{}", std::process::id()));
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
    let server = Server::start(&vars, &[]);
    let api = Api::of(&server);
    create_org(&api).await;
    let tenants: Vec<String> = (0..12).map(|i| format!("tenant-{i}")).collect();
    for (i, tenant) in tenants.iter().enumerate() {
        provision(&api, tenant).await;
        let (status, body) = api
            .put(
                &format!("/v1/orgs/signstack/tenants/{tenant}/secrets/smtp-password"),
                json!({"value": format!("smtp-secret-{i}-0123456789")}),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }

    let mut rotation = Server::start(&vars, &["kms", "rotate", "--batch", "5"]);
    let mut answered = 0;
    while rotation.child.try_wait().unwrap().is_none() || answered == 0 {
        for tenant in &tenants {
            let (status, body) = api
                .get(&format!(
                    "/v1/orgs/signstack/tenants/{tenant}/secrets/smtp-password?reveal=true"
                ))
                .await;
            assert_eq!(status, 200, "answering during the rotation: {body}");
            answered += 1;
        }
    }
    let status = rotation.wait();
    let printed = rotation.stdout.all().join("\n");
    assert!(status.success(), "{printed}\n{:?}", rotation.stderr.all());
    assert!(printed.contains("rotated"), "{printed}");
    assert!(
        printed.contains("data keys seen"),
        "progress is shown: {printed}"
    );
    assert!(
        printed.contains("done: 12 data keys, 12 rewrapped"),
        "{printed}"
    );

    let owner = db.owner_pool().await;
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.scope', 'platform', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let versions: Vec<i32> = sqlx::query_scalar("SELECT kek_version FROM tenant_data_keys")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        versions,
        vec![2; 12],
        "every envelope carries the new version"
    );
    // The server reads the rotated keyring again and opens every secret.
    for (i, tenant) in tenants.iter().enumerate() {
        let (status, body) = api
            .get(&format!(
                "/v1/orgs/signstack/tenants/{tenant}/secrets/smtp-password?reveal=true"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["value"],
            format!("smtp-secret-{i}-0123456789"),
            "{body}"
        );
    }
    // New tenants get keys wrapped with the new version.
    provision(&api, "after-rotation").await;
    let _ = std::fs::remove_dir_all(&dir);
}
