//! The in-memory adapter's tests: the storage contract every adapter passes,
//! and the deterministic clock and ids it offers to tests and embedders.

mod clock;

mod contract {
    use std::sync::Arc;

    use adapters_memory::MemoryStore;
    use test_support::StorePorts;

    test_support::store_contract!(|| async { StorePorts::all(Arc::new(MemoryStore::new())) });
}

mod kms {
    use std::sync::Arc;

    use adapters_memory::MemoryKms;
    use domain::TenantId;
    use domain::kms::{EncryptionContext, Kms, KmsError};
    use test_support::KmsUnderTest;

    async fn fresh() -> KmsUnderTest {
        KmsUnderTest::new(Arc::new(MemoryKms::default()))
    }

    test_support::kms_contract!(fresh);

    #[tokio::test]
    async fn a_switched_off_kms_refuses_every_call_and_recovers_when_switched_on() {
        let kms = MemoryKms::default();
        let context = EncryptionContext::Tenant(TenantId::from_uuid(uuid::Uuid::from_u128(1)));
        let generated = kms.generate_data_key(&context).await.unwrap();
        kms.set_available(false);
        assert!(matches!(
            kms.generate_data_key(&context).await,
            Err(KmsError::Unavailable(_))
        ));
        assert!(matches!(
            kms.unwrap(&generated.wrapped, &context).await,
            Err(KmsError::Unavailable(_))
        ));
        assert!(matches!(kms.rotate().await, Err(KmsError::Unavailable(_))));
        kms.set_available(true);
        let again = kms.unwrap(&generated.wrapped, &context).await.unwrap();
        assert_eq!(again.expose(), generated.plaintext.expose());
    }
}
