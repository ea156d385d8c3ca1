//! `LocalKeyring`: the KMS contract (ephemeral and file-backed), then the file:
//! creation, permissions, persistence of rotations, refusals.

use std::fs;
use std::sync::Arc;

use adapters_kms::{KeyringError, LocalKeyring};
use adapters_system::OsSecrets;
use base64::Engine as _;
use domain::TenantId;
use domain::kms::{EncryptionContext, KekVersion, Kms, KmsError};
use test_support::KmsUnderTest;
use uuid::Uuid;

use crate::support::TempDir;

fn secrets() -> Arc<OsSecrets> {
    Arc::new(OsSecrets)
}

fn tenant() -> EncryptionContext {
    EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(1)))
}

mod ephemeral {
    use super::*;

    async fn ephemeral() -> KmsUnderTest {
        KmsUnderTest::new(Arc::new(LocalKeyring::ephemeral(secrets())))
    }

    test_support::kms_contract!(ephemeral);
}

mod file {
    use super::*;

    async fn in_a_file() -> KmsUnderTest {
        let dir = TempDir::new();
        let keyring = LocalKeyring::create(&dir.path().join("keyring.json"), secrets())
            .expect("creating a keyring file");
        KmsUnderTest::with_guard(Arc::new(keyring), dir)
    }

    test_support::kms_contract!(in_a_file);
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_keyring_file_is_private_and_never_overwritten() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    LocalKeyring::create(&path, secrets()).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let before = fs::read(&path).unwrap();
    let refused = LocalKeyring::create(&path, secrets()).unwrap_err();
    assert!(matches!(refused, KeyringError::Exists(_)), "{refused}");
    assert!(
        refused.to_string().contains("never overwritten"),
        "{refused}"
    );
    assert_eq!(fs::read(&path).unwrap(), before, "the file is untouched");
}

#[tokio::test]
async fn a_reopened_keyring_unwraps_what_it_wrapped_and_keeps_rotations() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let first = LocalKeyring::create(&path, secrets()).unwrap();
    let old = first.generate_data_key(&tenant()).await.unwrap();
    let rotated = first.rotate().await.unwrap();
    assert_eq!(rotated.current_version, KekVersion::new(2).unwrap());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "the rotated file is private too");
    drop(first);

    let reopened = LocalKeyring::open(&path, secrets()).unwrap();
    assert_eq!(reopened.key_info().await.unwrap(), rotated);
    let key = reopened.unwrap(&old.wrapped, &tenant()).await.unwrap();
    assert_eq!(key.expose(), old.plaintext.expose());
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

/// Another process (`tenancy kms rotate`) rotates the file and rewraps keys
/// with the new version: a server that opened the file before reads it again
/// on the first envelope it does not know, and keeps serving.
#[tokio::test]
async fn a_keyring_rotated_by_another_process_is_read_again_on_an_unknown_version() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let serving = LocalKeyring::create(&path, secrets()).unwrap();
    let key = serving.generate_data_key(&tenant()).await.unwrap();
    let operator = LocalKeyring::open(&path, secrets()).unwrap();
    operator.rotate().await.unwrap();
    let rewrapped = operator.rewrap(&key.wrapped, &tenant()).await.unwrap();
    assert_eq!(rewrapped.kek_version(), KekVersion::new(2).unwrap());

    let opened = serving.unwrap(&rewrapped, &tenant()).await.unwrap();
    assert_eq!(opened.expose(), key.plaintext.expose());
    assert_eq!(
        serving.key_info().await.unwrap().current_version,
        KekVersion::new(2).unwrap(),
        "the serving keyring now wraps with the new version too"
    );
    // A version no file holds stays unknown.
    let beyond = domain::kms::WrappedKey::new(
        rewrapped.kek_id().clone(),
        KekVersion::new(9).unwrap(),
        rewrapped.ciphertext().to_vec(),
    );
    assert!(matches!(
        serving.unwrap(&beyond, &tenant()).await,
        Err(KmsError::UnknownKeyVersion { .. })
    ));
}

#[tokio::test]
async fn a_rotation_that_cannot_be_written_is_unavailable_and_changes_nothing() {
    let dir = TempDir::new();
    let sub = dir.path().join("gone");
    fs::create_dir(&sub).unwrap();
    let keyring = LocalKeyring::create(&sub.join("keyring.json"), secrets()).unwrap();
    let before = keyring.key_info().await.unwrap();
    fs::remove_dir_all(&sub).unwrap();
    let Err(KmsError::Unavailable(message)) = keyring.rotate().await else {
        panic!("a rotation with nowhere to write must be Unavailable");
    };
    assert!(message.contains("nothing changed"), "{message}");
    assert_eq!(keyring.key_info().await.unwrap(), before);
    let generated = keyring.generate_data_key(&tenant()).await.unwrap();
    assert_eq!(generated.wrapped.kek_version(), KekVersion::FIRST);
}

#[tokio::test]
async fn a_keyring_read_from_text_works_but_cannot_rotate() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    LocalKeyring::create(&path, secrets()).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let keyring = LocalKeyring::from_text(&text, "TENANCY_KEYRING_JSON", secrets()).unwrap();
    let generated = keyring.generate_data_key(&tenant()).await.unwrap();
    keyring.unwrap(&generated.wrapped, &tenant()).await.unwrap();
    let Err(KmsError::Unavailable(message)) = keyring.rotate().await else {
        panic!("a keyring from text has no file to rotate");
    };
    assert!(message.contains("TENANCY_KEYRING_JSON"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_keyring_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    LocalKeyring::create(&path, secrets()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let refused = LocalKeyring::open(&path, secrets()).unwrap_err();
    assert!(
        matches!(refused, KeyringError::Exposed { mode: 0o644, .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("chmod 600"), "{refused}");
}

#[test]
fn malformed_keyrings_are_refused_with_a_reason_and_no_key_material() {
    let key = base64::engine::general_purpose::STANDARD.encode([7_u8; 32]);
    let short = base64::engine::general_purpose::STANDARD.encode([7_u8; 31]);
    let file = |current: u32, keys: &str| {
        format!(
            r#"{{"format":"tenancy-keyring","format_version":1,"kek_id":"local:1",
                "current":{current},"keys":[{keys}]}}"#
        )
    };
    let one = format!(r#"{{"version":1,"key":"{key}"}}"#);
    let good = file(1, &one);
    LocalKeyring::from_text(&good, "test", secrets()).expect("the good one parses");
    for (text, reason) in [
        ("not json".to_owned(), "expected"),
        (good.replace("tenancy-keyring", "other"), "`format`"),
        (
            good.replace("\"format_version\":1", "\"format_version\":2"),
            "not supported",
        ),
        (file(1, ""), "empty"),
        (file(2, &one), "`current`"),
        (
            file(2, &format!(r#"{one},{{"version":3,"key":"{key}"}}"#)),
            "without gaps",
        ),
        (
            file(1, &format!(r#"{{"version":1,"key":"{short}"}}"#)),
            "31 bytes",
        ),
        (file(1, r#"{"version":1,"key":"%%%"}"#), "not base64"),
        (
            good.replace("\"current\"", "\"colour\":1,\"current\""),
            "unknown field",
        ),
        (good.replace("local:1", "has space"), "`kek_id`"),
    ] {
        let refused = LocalKeyring::from_text(&text, "TENANCY_KEYRING_JSON", secrets())
            .expect_err(reason)
            .to_string();
        assert!(
            refused.starts_with("TENANCY_KEYRING_JSON: not a keyring file"),
            "{refused}"
        );
        assert!(refused.contains(reason), "{reason}: {refused}");
        assert!(
            !refused.contains(&key) && !refused.contains(&short),
            "{refused}"
        );
    }
}

#[test]
fn the_keyring_debug_output_shows_no_master_key() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let keyring = LocalKeyring::create(&path, secrets()).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let shown = format!("{keyring:?}");
    for line in text.lines().filter(|l| l.contains("\"key\"")) {
        let encoded = line.split('"').nth(3).unwrap();
        assert_eq!(encoded.len(), 44, "{line}");
        assert!(!shown.contains(encoded), "{shown}");
    }
    assert!(shown.contains("local:"), "{shown}");
}

#[tokio::test]
async fn the_ephemeral_keyring_says_it_is_ephemeral_and_another_keyring_is_another_kek() {
    let a = LocalKeyring::ephemeral(secrets());
    let b = LocalKeyring::ephemeral(secrets());
    let info = a.key_info().await.unwrap();
    assert!(info.ephemeral);
    assert_eq!(info.backend, "ephemeral keyring");
    assert_eq!(a.location(), None);
    let generated = a.generate_data_key(&tenant()).await.unwrap();
    assert!(matches!(
        b.unwrap(&generated.wrapped, &tenant()).await,
        Err(KmsError::UnknownKek(_))
    ));
}

/// A symlink planted where rotation writes its temporary file must not be
/// followed. On the old code (`create(true).truncate(true)`) the rotation
/// succeeded through the link: it wrote the new keyring into the link's
/// target and renamed the link over the keyring (`panicked: a rotation must
/// refuse a temporary path that already exists`).
#[cfg(unix)]
#[tokio::test]
async fn a_rotation_never_writes_through_a_planted_temporary_file_or_link() {
    let dir = TempDir::new();
    let path = dir.path().join("keyring.json");
    let keyring = LocalKeyring::create(&path, secrets()).unwrap();
    let before = fs::read(&path).unwrap();
    let info = keyring.key_info().await.unwrap();
    let target = dir.path().join("elsewhere");
    fs::write(&target, b"not yours").unwrap();
    let temp = dir.path().join(".keyring.json.rotating");
    std::os::unix::fs::symlink(&target, &temp).unwrap();

    let Err(KmsError::Unavailable(message)) = keyring.rotate().await else {
        panic!("a rotation must refuse a temporary path that already exists");
    };
    assert_eq!(
        fs::read(&target).unwrap(),
        b"not yours",
        "the target of the planted link is untouched"
    );
    assert!(
        message.contains("already exists") && message.contains("interrupted rotation"),
        "{message}"
    );
    assert!(message.contains("nothing changed"), "{message}");
    assert!(
        fs::symlink_metadata(&temp)
            .unwrap()
            .file_type()
            .is_symlink(),
        "what was planted is left for the operator to inspect"
    );
    assert_eq!(fs::read(&path).unwrap(), before, "the keyring is untouched");
    assert_eq!(keyring.key_info().await.unwrap(), info);

    // Once the leftover is removed, rotation works again.
    fs::remove_file(&temp).unwrap();
    let rotated = keyring.rotate().await.unwrap();
    assert_eq!(rotated.current_version, KekVersion::new(2).unwrap());
    assert_eq!(mode(&path), 0o600);
}
