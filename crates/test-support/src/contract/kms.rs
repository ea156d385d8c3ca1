//! The `Kms` port's contract: every case takes a KMS whose KEK is fresh (version
//! 1, never rotated) and checks one MUST of `domain::kms::Kms`. `kms_contract!`
//! runs them all against one adapter; see the crate docs.

use std::sync::Arc;

use domain::kms::{EncryptionContext, KekId, KekVersion, Kms, KmsError, WrappedKey, open, seal};
use domain::{OrgId, TenantId};
use uuid::Uuid;

fn tenant(n: u128) -> EncryptionContext {
    EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(n)))
}

/// Fixed, distinct nonces for sealing in the cases.
struct Nonces;

impl domain::ports::SecretSource for Nonces {
    fn fill(&self, buf: &mut [u8]) {
        buf.iter_mut().enumerate().for_each(|(i, b)| {
            *b = u8::try_from(i % 251).unwrap_or(0);
        });
    }
}

/// A generated key is 32 bytes, named by the current KEK version, unwraps to
/// itself under its context, and each call gives another key.
pub async fn a_generated_key_unwraps_to_itself_under_its_context(kms: Arc<dyn Kms>) {
    let info = kms.key_info().await.expect("key info of a fresh KMS");
    assert_eq!(
        info.current_version,
        KekVersion::FIRST,
        "a fresh KEK is at v1"
    );
    assert_eq!(info.versions, [KekVersion::FIRST]);

    let context = tenant(1);
    let generated = kms.generate_data_key(&context).await.expect("a data key");
    assert_eq!(generated.wrapped.kek_id(), &info.kek_id);
    assert_eq!(generated.wrapped.kek_version(), info.current_version);
    assert_ne!(generated.plaintext.expose(), &[0; 32]);
    assert_ne!(
        generated.wrapped.ciphertext(),
        generated.plaintext.expose().as_slice(),
        "the wrapped form is not the key"
    );

    let unwrapped = kms
        .unwrap(&generated.wrapped, &context)
        .await
        .expect("unwrapping under the same context");
    assert_eq!(unwrapped.expose(), generated.plaintext.expose());

    // What it seals, the unwrapped key opens.
    let sealed = seal(&generated.plaintext, b"secret", b"row", &Nonces);
    assert_eq!(
        open(&unwrapped, &sealed, b"row").unwrap().as_slice(),
        b"secret"
    );

    let other = kms.generate_data_key(&context).await.expect("a second key");
    assert_ne!(other.plaintext.expose(), generated.plaintext.expose());

    // A stored envelope read back from bytes unwraps the same.
    let stored = WrappedKey::from_bytes(&generated.wrapped.to_bytes()).unwrap();
    let again = kms.unwrap(&stored, &context).await.expect("from bytes");
    assert_eq!(again.expose(), generated.plaintext.expose());
}

/// A key wrapped for one tenant opens for no other tenant, nor for an org with
/// the same id.
pub async fn a_key_wrapped_for_one_context_does_not_unwrap_under_another(kms: Arc<dyn Kms>) {
    let generated = kms.generate_data_key(&tenant(1)).await.expect("a data key");
    let org_with_same_id = EncryptionContext::Org(OrgId::from_uuid(Uuid::from_u128(1)));
    for wrong in [tenant(2), org_with_same_id] {
        assert_eq!(
            kms.unwrap(&generated.wrapped, &wrong).await.unwrap_err(),
            KmsError::Undecryptable,
            "unwrapping for {wrong}"
        );
        assert_eq!(
            kms.rewrap(&generated.wrapped, &wrong).await.unwrap_err(),
            KmsError::Undecryptable,
            "rewrapping for {wrong}"
        );
    }
    // Org contexts work as tenant contexts do.
    let org = EncryptionContext::Org(OrgId::from_uuid(Uuid::from_u128(9)));
    let for_org = kms.generate_data_key(&org).await.expect("an org key");
    let unwrapped = kms.unwrap(&for_org.wrapped, &org).await.expect("org key");
    assert_eq!(unwrapped.expose(), for_org.plaintext.expose());
}

/// Any change to the ciphertext (a flipped bit anywhere, a cut, an extension,
/// nothing at all) is `Undecryptable`, never a panic.
pub async fn a_tampered_ciphertext_is_undecryptable(kms: Arc<dyn Kms>) {
    let context = tenant(1);
    let generated = kms.generate_data_key(&context).await.expect("a data key");
    let wrapped = &generated.wrapped;
    let bytes = wrapped.ciphertext();
    let remake = |ciphertext: Vec<u8>| {
        WrappedKey::new(wrapped.kek_id().clone(), wrapped.kek_version(), ciphertext)
    };
    let mut variants = Vec::new();
    for at in [0, bytes.len() / 2, bytes.len() - 1] {
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 0x01;
        variants.push((format!("bit flipped at byte {at}"), flipped));
    }
    variants.push(("last byte cut".into(), bytes[..bytes.len() - 1].to_vec()));
    let mut longer = bytes.to_vec();
    longer.push(0);
    variants.push(("a byte appended".into(), longer));
    variants.push(("emptied".into(), Vec::new()));
    variants.push(("replaced by zeros".into(), vec![0; bytes.len()]));
    for (what, ciphertext) in variants {
        assert_eq!(
            kms.unwrap(&remake(ciphertext.clone()), &context)
                .await
                .unwrap_err(),
            KmsError::Undecryptable,
            "unwrapping a ciphertext with its {what}"
        );
        assert_eq!(
            kms.rewrap(&remake(ciphertext), &context).await.unwrap_err(),
            KmsError::Undecryptable,
            "rewrapping a ciphertext with its {what}"
        );
    }
}

/// An envelope naming a version the KEK never had is `UnknownKeyVersion`; one
/// naming another KEK is `UnknownKek`.
pub async fn an_envelope_naming_an_unknown_version_or_kek_is_refused(kms: Arc<dyn Kms>) {
    let context = tenant(1);
    let generated = kms.generate_data_key(&context).await.expect("a data key");
    let wrapped = &generated.wrapped;
    let future = KekVersion::new(99).unwrap();
    let claims_future = WrappedKey::new(
        wrapped.kek_id().clone(),
        future,
        wrapped.ciphertext().to_vec(),
    );
    let expected = KmsError::UnknownKeyVersion {
        kek_id: wrapped.kek_id().clone(),
        version: future,
    };
    assert_eq!(
        kms.unwrap(&claims_future, &context).await.unwrap_err(),
        expected
    );
    assert_eq!(
        kms.rewrap(&claims_future, &context).await.unwrap_err(),
        expected
    );

    let stranger = KekId::parse("some-other-kek").unwrap();
    let foreign = WrappedKey::new(
        stranger.clone(),
        wrapped.kek_version(),
        wrapped.ciphertext().to_vec(),
    );
    assert_eq!(
        kms.unwrap(&foreign, &context).await.unwrap_err(),
        KmsError::UnknownKek(stranger.clone())
    );
    assert_eq!(
        kms.rewrap(&foreign, &context).await.unwrap_err(),
        KmsError::UnknownKek(stranger)
    );
}

/// Rotation adds a version and makes it current; keys wrapped before it still
/// unwrap, new keys are wrapped with the new version, and rewrapping moves an
/// old envelope to the new version with the same key inside.
pub async fn after_a_rotation_old_keys_unwrap_and_rewrap_to_the_new_version(kms: Arc<dyn Kms>) {
    let context = tenant(1);
    let old = kms.generate_data_key(&context).await.expect("a data key");
    let rotated = kms.rotate().await.expect("rotating");
    let v2 = KekVersion::new(2).unwrap();
    assert_eq!(rotated.current_version, v2);
    assert_eq!(rotated.versions, [KekVersion::FIRST, v2]);
    assert_eq!(kms.key_info().await.expect("key info"), rotated);

    let unwrapped = kms
        .unwrap(&old.wrapped, &context)
        .await
        .expect("a key wrapped by v1 unwraps after the rotation");
    assert_eq!(unwrapped.expose(), old.plaintext.expose());

    let new = kms.generate_data_key(&context).await.expect("a new key");
    assert_eq!(new.wrapped.kek_version(), v2);

    let rewrapped = kms
        .rewrap(&old.wrapped, &context)
        .await
        .expect("rewrapping");
    assert_eq!(rewrapped.kek_id(), old.wrapped.kek_id());
    assert_eq!(rewrapped.kek_version(), v2);
    assert_ne!(rewrapped.ciphertext(), old.wrapped.ciphertext());
    let inside = kms.unwrap(&rewrapped, &context).await.expect("rewrapped");
    assert_eq!(inside.expose(), old.plaintext.expose());

    // The rewrapped envelope is bound to the same context only.
    assert_eq!(
        kms.unwrap(&rewrapped, &tenant(2)).await.unwrap_err(),
        KmsError::Undecryptable
    );

    let v3 = kms.rotate().await.expect("a second rotation");
    assert_eq!(v3.current_version, KekVersion::new(3).unwrap());
    assert_eq!(v3.versions.len(), 3);
    for envelope in [&old.wrapped, &new.wrapped, &rewrapped] {
        let key = kms.unwrap(envelope, &context).await.expect("still opens");
        assert_eq!(key.expose().len(), 32);
    }
}

/// Rewrapping an envelope already at the current version gives a new envelope
/// of the same key at that version.
pub async fn rewrapping_at_the_current_version_keeps_the_key(kms: Arc<dyn Kms>) {
    let context = tenant(1);
    let generated = kms.generate_data_key(&context).await.expect("a data key");
    let rewrapped = kms
        .rewrap(&generated.wrapped, &context)
        .await
        .expect("rewrapping");
    assert_eq!(rewrapped.kek_version(), generated.wrapped.kek_version());
    let inside = kms.unwrap(&rewrapped, &context).await.expect("unwrapping");
    assert_eq!(inside.expose(), generated.plaintext.expose());
}

/// The current version is never retired: new keys are wrapped with it. The
/// refusal changes nothing (a KMS that cannot retire any version, such as AWS
/// KMS, refuses too).
pub async fn retiring_the_current_version_is_refused_and_changes_nothing(kms: Arc<dyn Kms>) {
    let before = kms.key_info().await.expect("key info");
    let generated = kms.generate_data_key(&tenant(1)).await.expect("a data key");
    let refused = kms.retire(before.current_version).await.unwrap_err();
    assert!(matches!(refused, KmsError::Refused(_)), "{refused}");
    assert_eq!(kms.key_info().await.expect("key info"), before);
    let again = kms
        .unwrap(&generated.wrapped, &tenant(1))
        .await
        .expect("still unwraps");
    assert_eq!(again.expose(), generated.plaintext.expose());
}

/// Neither a generated key's `Debug` nor any error shows key bytes.
pub async fn key_material_never_reaches_debug_output_or_errors(kms: Arc<dyn Kms>) {
    let context = tenant(1);
    let generated = kms.generate_data_key(&context).await.expect("a data key");
    let key = generated.plaintext.expose();
    let shown = format!("{generated:?}");
    let as_list = format!("{:?}", key.as_slice());
    let as_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let as_bytes_prefix = format!("{:?}", &key[..4]);
    let inner = as_bytes_prefix
        .trim_start_matches('[')
        .trim_end_matches(']');
    for needle in [as_list.as_str(), as_hex.as_str(), inner] {
        assert!(!shown.contains(needle), "Debug shows key bytes: {shown}");
    }
    assert!(shown.contains("<redacted>"), "{shown}");
    let unwrapped = kms.unwrap(&generated.wrapped, &context).await.unwrap();
    assert_eq!(format!("{unwrapped:?}"), "DataKey(<redacted>)");
    let error = kms
        .unwrap(&generated.wrapped, &tenant(2))
        .await
        .unwrap_err();
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(&as_hex) && !text.contains(inner), "{text}");
    }
}
