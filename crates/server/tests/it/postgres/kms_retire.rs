//! `tenancy kms retire --version N` against a real database and keyring file,
//! next to a serving server: refused for the current version and while any
//! data key is still wrapped by N; after `tenancy kms rotate` the version's
//! master key leaves the file, and the server still opens every secret.

use serde_json::json;

use super::{Api, TOKEN, create_org, provision};
use crate::Server;
use adapters_postgres::testing::TestDatabase;

/// Runs a `tenancy kms` command to its end: (success, stdout, stderr).
fn kms(vars: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut command = Server::start(vars, args);
    let status = command.wait();
    (
        status.success(),
        command.stdout.all().join("\n"),
        command.stderr.all().join("\n"),
    )
}

/// The base64 master key of `version` in the keyring file, if it holds one.
fn master_key(keyring: &str, version: u32) -> Option<String> {
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(keyring).unwrap()).unwrap();
    file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["version"] == version)
        .map(|k| k["key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn kms_retire_destroys_an_old_version_only_once_no_data_key_uses_it() {
    let db = TestDatabase::new().await;
    let dir = std::env::temp_dir().join(format!("tenancy-kms-retire-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keyring = dir.join("keyring.json");
    let keyring = keyring.to_str().unwrap();
    let (created, _, stderr) = kms(&[], &["kms", "init", "--keyring", keyring]);
    assert!(created, "{stderr}");
    let vars = [
        ("TENANCY_ADMIN_TOKEN", TOKEN),
        ("DATABASE_URL", db.runtime_url()),
        ("TENANCY_KEYRING", keyring),
    ];
    let server = Server::start(&vars, &[]);
    let api = Api::of(&server);
    create_org(&api).await;
    let tenants = ["acme", "beta", "gamma"];
    for (i, tenant) in tenants.iter().enumerate() {
        provision(&api, tenant).await;
        let (status, body) = api
            .put(
                &format!("/v1/orgs/signstack/tenants/{tenant}/secrets/smtp-password"),
                json!({"value": format!("smtp-secret-{i}")}),
            )
            .await;
        assert!(status.is_success(), "{body}");
    }
    let first_key = master_key(keyring, 1).expect("version 1");

    let (retired, _, stderr) = kms(&vars, &["kms", "retire", "--version", "1"]);
    assert!(!retired, "the current version cannot go");
    assert!(stderr.contains("current KEK version"), "{stderr}");

    // A data key left on version 1 after the rotation (a rewrap that stopped
    // halfway, say) keeps version 1 alive.
    let owner = db.owner_pool().await;
    let platform = "SELECT set_config('app.scope', 'platform', true)";
    let mut tx = owner.begin().await.unwrap();
    sqlx::query(platform).execute(&mut *tx).await.unwrap();
    let (tenant_id, old): (sqlx::types::Uuid, Vec<u8>) =
        sqlx::query_as("SELECT tenant_id, wrapped FROM tenant_data_keys LIMIT 1")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    let (rotated, printed, stderr) = kms(&vars, &["kms", "rotate"]);
    assert!(rotated, "{printed}\n{stderr}");
    let mut tx = owner.begin().await.unwrap();
    sqlx::query(platform).execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE tenant_data_keys SET wrapped = $2, kek_version = 1 WHERE tenant_id = $1")
        .bind(tenant_id)
        .bind(&old)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (retired, _, stderr) = kms(&vars, &["kms", "retire", "--version", "1"]);
    assert!(!retired, "a data key still uses version 1");
    assert!(
        stderr.contains("1 tenant data keys and 0 org data keys are still wrapped by v1"),
        "{stderr}"
    );
    assert_eq!(master_key(keyring, 1).as_deref(), Some(first_key.as_str()));

    // Rotating again rewraps it; then version 1 goes, and its master key with it.
    let (rotated, printed, stderr) = kms(&vars, &["kms", "rotate"]);
    assert!(rotated, "{printed}\n{stderr}");
    let (retired, printed, stderr) = kms(&vars, &["kms", "retire", "--version", "1"]);
    assert!(retired, "{printed}\n{stderr}");
    assert!(printed.contains("retired v1"), "{printed}");
    assert_eq!(master_key(keyring, 1), None);
    let text = std::fs::read_to_string(keyring).unwrap();
    assert!(!text.contains(&first_key), "the master key is destroyed");

    // The serving server still opens every secret, and mints with v3.
    for (i, tenant) in tenants.iter().enumerate() {
        let (status, body) = api
            .get(&format!(
                "/v1/orgs/signstack/tenants/{tenant}/secrets/smtp-password?reveal=true"
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["value"], format!("smtp-secret-{i}"), "{body}");
    }
    provision(&api, "after-retirement").await;
    let mut tx = owner.begin().await.unwrap();
    sqlx::query(platform).execute(&mut *tx).await.unwrap();
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT DISTINCT kek_version FROM tenant_data_keys")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(versions, [3]);
    let _ = std::fs::remove_dir_all(&dir);
}
