//! The audit checkpoint key kept in the keyring file: made with the keyring,
//! added by a rotation to a keyring made before it, and never changed by a
//! rotation or a retirement, so a published public key keeps verifying.

use std::fs;
use std::sync::Arc;

use adapters_kms::LocalKeyring;
use adapters_system::OsSecrets;
use domain::kms::{KekVersion, Kms};
use domain::ports::CheckpointSigner;
use serde_json::Value;

use crate::support::TempDir;

fn secrets() -> Arc<OsSecrets> {
    Arc::new(OsSecrets)
}

fn public_key(keyring: &LocalKeyring) -> Option<[u8; 32]> {
    keyring.checkpoint_key().map(|k| k.public_key())
}

#[tokio::test]
async fn a_new_keyring_holds_a_checkpoint_key_that_survives_rotation_retirement_and_reopening() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let keyring = LocalKeyring::create(&path, secrets()).unwrap();
    let first = public_key(&keyring).expect("a new keyring has a checkpoint key");
    let text: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert!(text["checkpoint_seed"].is_string(), "stored in the file");
    keyring.rotate().await.unwrap();
    keyring.retire(KekVersion::FIRST).await.unwrap();
    assert_eq!(public_key(&keyring), Some(first));
    drop(keyring);
    let reopened = LocalKeyring::open(&path, secrets()).unwrap();
    assert_eq!(public_key(&reopened), Some(first));
    let other = LocalKeyring::create(&dir.path().join("other.json"), secrets()).unwrap();
    assert_ne!(public_key(&other), Some(first), "each keyring its own key");
}

#[tokio::test]
async fn a_keyring_made_before_checkpoints_gets_its_key_at_its_next_rotation() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    drop(LocalKeyring::create(&path, secrets()).unwrap());
    // The file as written before checkpoint keys existed.
    let mut text: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    text.as_object_mut().unwrap().remove("checkpoint_seed");
    fs::write(&path, serde_json::to_string(&text).unwrap()).unwrap();
    let old = LocalKeyring::open(&path, secrets()).unwrap();
    assert_eq!(public_key(&old), None);
    old.rotate().await.unwrap();
    let added = public_key(&old).expect("the rotation adds one");
    let reopened = LocalKeyring::open(&path, secrets()).unwrap();
    assert_eq!(public_key(&reopened), Some(added), "and writes it");
}

#[test]
fn a_malformed_checkpoint_seed_is_refused_without_showing_it() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    drop(LocalKeyring::create(&path, secrets()).unwrap());
    let good: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    for (bad, reason) in [("c2hvcnQ=", "bytes"), ("not base64!", "base64")] {
        let mut text = good.clone();
        text["checkpoint_seed"] = Value::from(bad);
        fs::write(&path, serde_json::to_string(&text).unwrap()).unwrap();
        let refused = LocalKeyring::open(&path, secrets())
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("checkpoint_seed") && refused.contains(reason),
            "{refused}"
        );
        assert!(!refused.contains(bad), "{refused}");
    }
}
