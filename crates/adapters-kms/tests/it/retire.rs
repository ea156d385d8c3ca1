//! Retiring a version of the local keyring's KEK (`tenancy kms retire`): its
//! master key leaves the file for good, what it wrapped no longer opens, the
//! current version is refused, and serving processes follow the file.

use std::fs;
use std::sync::Arc;

use adapters_kms::LocalKeyring;
use adapters_system::OsSecrets;
use domain::TenantId;
use domain::kms::{EncryptionContext, KekVersion, Kms, KmsError};
use uuid::Uuid;

use crate::support::TempDir;

fn secrets() -> Arc<OsSecrets> {
    Arc::new(OsSecrets)
}

fn tenant() -> EncryptionContext {
    EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(1)))
}

fn v(n: u32) -> KekVersion {
    KekVersion::new(n).unwrap()
}

/// The base64 master key of `version` in the keyring file's text.
fn key_text(text: &str, version: u32) -> Option<String> {
    let file: serde_json::Value = serde_json::from_str(text).unwrap();
    file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["version"] == version)
        .map(|k| k["key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_retired_version_leaves_the_file_and_what_it_wrapped_no_longer_opens() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let keyring = LocalKeyring::create(&path, secrets()).unwrap();
    let old = keyring.generate_data_key(&tenant()).await.unwrap();
    let first_key = key_text(&fs::read_to_string(&path).unwrap(), 1).unwrap();

    let refused = keyring.retire(v(1)).await.unwrap_err();
    assert!(
        matches!(&refused, KmsError::Refused(why) if why.contains("current")),
        "{refused}"
    );
    keyring.rotate().await.unwrap();
    let rewrapped = keyring.rewrap(&old.wrapped, &tenant()).await.unwrap();
    let info = keyring.retire(v(1)).await.unwrap();
    assert_eq!((info.current_version, info.versions), (v(2), vec![v(2)]));

    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(key_text(&text, 1), None, "{text}");
    assert!(!text.contains(&first_key), "the old master key is gone");
    assert!(text.contains("\"retired\""), "{text}");
    let gone = keyring.unwrap(&old.wrapped, &tenant()).await.unwrap_err();
    assert!(
        matches!(gone, KmsError::RetiredKeyVersion { version, .. } if version == v(1)),
        "{gone}"
    );
    assert!(gone.to_string().contains("retired"), "{gone}");
    // The rewrapped envelope opens, also from the file read afresh.
    let reopened = LocalKeyring::open(&path, secrets()).unwrap();
    let key = reopened.unwrap(&rewrapped, &tenant()).await.unwrap();
    assert_eq!(key.expose(), old.plaintext.expose());
    assert!(matches!(
        reopened.unwrap(&old.wrapped, &tenant()).await,
        Err(KmsError::RetiredKeyVersion { .. })
    ));
    // Retiring again changes nothing; a version never made is unknown.
    assert_eq!(reopened.retire(v(1)).await.unwrap().versions, [v(2)]);
    assert!(matches!(
        reopened.retire(v(7)).await,
        Err(KmsError::UnknownKeyVersion { .. })
    ));
    // Rotation goes on from the newest version, keeping the retirement.
    assert_eq!(reopened.rotate().await.unwrap().versions, [v(2), v(3)]);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"retired\""), "{text}");
}

/// A server that opened the keyring before `tenancy kms rotate` must mint
/// new data keys with the new version, not the one the operator is about to
/// retire. On the old code it minted with the version it read at start
/// (`left: KekVersion(1), right: KekVersion(2)`).
#[tokio::test]
async fn a_serving_keyring_mints_with_the_version_the_file_says_is_current() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let serving = LocalKeyring::create(&path, secrets()).unwrap();
    let before = serving.generate_data_key(&tenant()).await.unwrap();
    let operator = LocalKeyring::open(&path, secrets()).unwrap();
    operator.rotate().await.unwrap();
    let rewrapped = operator.rewrap(&before.wrapped, &tenant()).await.unwrap();

    let minted = serving.generate_data_key(&tenant()).await.unwrap();
    assert_eq!(minted.wrapped.kek_version(), v(2));

    operator.retire(v(1)).await.unwrap();
    let minted = serving.generate_data_key(&tenant()).await.unwrap();
    assert_eq!(minted.wrapped.kek_version(), v(2));
    assert_eq!(serving.key_info().await.unwrap().versions, [v(2)]);
    let key = serving.unwrap(&rewrapped, &tenant()).await.unwrap();
    assert_eq!(key.expose(), before.plaintext.expose());
}

#[test]
fn keyring_files_with_retired_versions_are_checked() {
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7_u8; 32]);
    let file = |current: u32, keys: &[u32], retired: &str| {
        let keys: Vec<String> = keys
            .iter()
            .map(|v| format!(r#"{{"version":{v},"key":"{key}"}}"#))
            .collect();
        format!(
            r#"{{"format":"tenancy-keyring","format_version":1,"kek_id":"local:1",
                "current":{current},"keys":[{}]{retired}}}"#,
            keys.join(",")
        )
    };
    LocalKeyring::from_text(&file(3, &[2, 3], r#","retired":[1]"#), "t", secrets())
        .expect("a keyring whose first version was retired");
    for (text, reason) in [
        (file(3, &[2, 3], ""), "version 1 is missing"),
        (file(3, &[1, 2, 3], r#","retired":[1]"#), "both"),
        (
            file(2, &[1, 2], r#","retired":[3]"#),
            "newer than the current",
        ),
        (file(3, &[3], r#","retired":[2]"#), "version 1 is missing"),
    ] {
        let refused = LocalKeyring::from_text(&text, "t", secrets())
            .expect_err(reason)
            .to_string();
        assert!(refused.contains(reason), "{reason}: {refused}");
        assert!(!refused.contains(&key), "{refused}");
    }
}
