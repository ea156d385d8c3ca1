//! `DataKeys`: envelope encryption through the `Kms` port, with a bounded,
//! time-limited cache of unwrapped keys. The KMS is a mock, so every call it
//! receives is counted.

use std::sync::Arc;

use adapters_memory::ManualClock;
use domain::kms::{MockKms, seal};
use domain::{
    DataKey, DataKeyCacheLimits, DataKeys, EncryptionContext, GeneratedKey, KekId, KekVersion,
    KmsError, TenantId, WrappedKey,
};
use uuid::Uuid;

fn tenant(n: u128) -> EncryptionContext {
    EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(n)))
}

fn wrapped(n: u8) -> WrappedKey {
    WrappedKey::new(KekId::parse("kek").unwrap(), KekVersion::FIRST, vec![n; 40])
}

fn key(n: u8) -> DataKey {
    DataKey::from_slice(&[n; 32]).unwrap()
}

fn limits(max_keys: usize) -> DataKeyCacheLimits {
    DataKeyCacheLimits {
        max_keys,
        ttl: chrono::Duration::minutes(5),
    }
}

#[tokio::test]
async fn an_unwrapped_key_is_served_from_the_cache_until_it_expires() {
    let mut kms = MockKms::new();
    kms.expect_unwrap().times(2).returning(|_, _| Ok(key(7)));
    let clock = Arc::new(ManualClock::default());
    let keys = DataKeys::new(Arc::new(kms), clock.clone(), limits(10));

    let first = keys.unwrap(&wrapped(1), &tenant(1)).await.unwrap();
    let second = keys.unwrap(&wrapped(1), &tenant(1)).await.unwrap();
    assert_eq!(first.expose(), second.expose());
    clock.advance(chrono::Duration::minutes(5));
    // Expired: the KMS is asked again (the mock's second and last call).
    keys.unwrap(&wrapped(1), &tenant(1)).await.unwrap();
}

#[tokio::test]
async fn the_cache_keys_on_the_context_as_well_as_the_envelope() {
    let mut kms = MockKms::new();
    kms.expect_unwrap().times(2).returning(|_, context| {
        if *context == tenant(1) {
            Ok(key(1))
        } else {
            Err(KmsError::Undecryptable)
        }
    });
    let keys = DataKeys::new(Arc::new(kms), Arc::new(ManualClock::default()), limits(10));
    keys.unwrap(&wrapped(1), &tenant(1)).await.unwrap();
    // A cached key is not handed to another tenant presenting the same envelope.
    assert_eq!(
        keys.unwrap(&wrapped(1), &tenant(2)).await.unwrap_err(),
        KmsError::Undecryptable
    );
}

#[tokio::test]
async fn the_cache_never_holds_more_than_its_limit_and_forgets_on_request() {
    let mut kms = MockKms::new();
    kms.expect_unwrap()
        .returning(|w, _| Ok(key(w.ciphertext()[0])));
    let clock = Arc::new(ManualClock::default());
    let keys = DataKeys::new(Arc::new(kms), clock.clone(), limits(3));
    for n in 0..10 {
        clock.advance(chrono::Duration::seconds(1));
        keys.unwrap(&wrapped(n), &tenant(u128::from(n % 2)))
            .await
            .unwrap();
        assert!(keys.cached() <= 3, "{} cached", keys.cached());
    }
    assert_eq!(keys.cached(), 3);
    keys.forget(&tenant(1));
    // Of the last three (7, 8, 9), 7 and 9 were tenant 1's.
    assert_eq!(keys.cached(), 1);
}

#[tokio::test]
async fn a_generated_key_is_cached_under_its_wrapped_form() {
    let mut kms = MockKms::new();
    kms.expect_generate_data_key().times(1).returning(|_| {
        Ok(GeneratedKey {
            plaintext: key(9),
            wrapped: wrapped(9),
        })
    });
    kms.expect_unwrap().times(0);
    let keys = DataKeys::new(Arc::new(kms), Arc::new(ManualClock::default()), limits(10));
    let (plain, stored) = keys.generate(&tenant(1)).await.unwrap();
    let again = keys.unwrap(&stored, &tenant(1)).await.unwrap();
    assert_eq!(plain.expose(), again.expose());
    let sealed = seal(
        &again,
        b"x",
        b"",
        &adapters_memory::SeededSecrets::default(),
    );
    assert!(domain::kms::open(&plain, &sealed, b"").is_ok());
}

#[tokio::test]
async fn kms_errors_pass_through_and_are_not_cached() {
    let mut kms = MockKms::new();
    kms.expect_unwrap()
        .times(2)
        .returning(|_, _| Err(KmsError::Unavailable("connection refused".into())));
    let keys = DataKeys::new(Arc::new(kms), Arc::new(ManualClock::default()), limits(10));
    for _ in 0..2 {
        assert!(matches!(
            keys.unwrap(&wrapped(1), &tenant(1)).await,
            Err(KmsError::Unavailable(_))
        ));
    }
    assert_eq!(keys.cached(), 0);
}
