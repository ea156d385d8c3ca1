//! `AwsKms` against a local moto_server: the KMS contract, then an endpoint
//! that is closed or stops answering.

use std::sync::Arc;
use std::time::Duration;

use adapters_kms::{AwsCredentials, AwsKms, AwsKmsConfig};
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls;
use domain::TenantId;
use domain::kms::{EncryptionContext, KekId, KekVersion, Kms, KmsError, WrappedKey};
use test_support::KmsUnderTest;
use uuid::Uuid;

use crate::support::{Moto, free_port};

const REGION: &str = "us-east-1";

fn config(endpoint: &str, key_id: &str) -> AwsKmsConfig {
    AwsKmsConfig {
        key_id: key_id.to_owned(),
        region: REGION.to_owned(),
        endpoint_url: Some(endpoint.to_owned()),
        // moto accepts any credentials; these are not real ones.
        credentials: AwsCredentials::Static {
            access_key_id: "testing".to_owned(),
            secret_access_key: "testing-secret".to_owned(),
        },
        max_attempts: 1,
        timeout: Duration::from_secs(10),
    }
}

/// Creates a symmetric key on the moto server, with a raw SDK client as an
/// operator would in the console, and returns its id.
async fn create_key(endpoint: &str) -> String {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing-secret",
            None,
            None,
            "test",
        ))
        .http_client(http)
        .build();
    let created = aws_sdk_kms::Client::from_conf(sdk)
        .create_key()
        .description("tenancy contract test")
        .send()
        .await
        .expect("creating a key on moto_server");
    created
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .expect("the created key's id")
}

/// A moto_server of its own per case, with one fresh key.
async fn aws_kms() -> KmsUnderTest {
    let moto = Moto::start();
    let key_id = create_key(&moto.endpoint).await;
    let kms = AwsKms::connect(&config(&moto.endpoint, &key_id))
        .await
        .expect("connecting to moto_server");
    KmsUnderTest::with_guard(Arc::new(kms), moto)
}

test_support::kms_contract!(aws_kms);

fn tenant() -> EncryptionContext {
    EncryptionContext::Tenant(TenantId::from_uuid(Uuid::from_u128(1)))
}

fn unavailable(result: Result<impl std::fmt::Debug, KmsError>, what: &str) -> String {
    match result {
        Err(KmsError::Unavailable(message)) => message,
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_unavailable_naming_the_call() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let message = unavailable(
        AwsKms::connect(&config(&endpoint, "alias/tenancy")).await,
        "connect",
    );
    assert!(message.contains("DescribeKey"), "{message}");
}

#[tokio::test]
async fn a_key_that_does_not_exist_is_refused_at_connect() {
    let moto = Moto::start();
    let message = unavailable(
        AwsKms::connect(&config(&moto.endpoint, "alias/no-such-key")).await,
        "connect",
    );
    assert!(message.contains("NotFoundException"), "{message}");
}

#[tokio::test]
async fn once_the_kms_stops_answering_every_call_is_unavailable_never_a_panic() {
    let mut moto = Moto::start();
    let key_id = create_key(&moto.endpoint).await;
    let kms = AwsKms::connect(&config(&moto.endpoint, &key_id))
        .await
        .unwrap();
    let generated = kms.generate_data_key(&tenant()).await.unwrap();
    moto.stop();

    unavailable(kms.generate_data_key(&tenant()).await, "generate_data_key");
    unavailable(kms.unwrap(&generated.wrapped, &tenant()).await, "unwrap");
    unavailable(kms.rewrap(&generated.wrapped, &tenant()).await, "rewrap");
    unavailable(kms.rotate().await, "rotate");
    let message = unavailable(kms.key_info().await, "key_info");
    assert!(message.starts_with("AWS KMS "), "{message}");
}

#[tokio::test]
async fn the_envelope_names_the_key_arn_and_the_debug_output_hides_the_secret_key() {
    let moto = Moto::start();
    let key_id = create_key(&moto.endpoint).await;
    let settings = config(&moto.endpoint, &key_id);
    assert!(!format!("{settings:?}").contains("testing-secret"));
    let kms = AwsKms::connect(&settings).await.unwrap();
    assert!(!format!("{kms:?}").contains("testing-secret"));
    let info = kms.key_info().await.unwrap();
    assert!(
        info.kek_id.as_str().starts_with("arn:aws:kms:us-east-1:"),
        "{}",
        info.kek_id
    );
    assert!(info.kek_id.as_str().ends_with(&key_id));
    assert_eq!(info.backend, "aws-kms");
    assert!(!info.ephemeral);

    // An envelope of the local keyring's kind is another KEK to AWS.
    let local = WrappedKey::new(
        KekId::parse("local:0011223344556677").unwrap(),
        KekVersion::FIRST,
        vec![0; 60],
    );
    assert!(matches!(
        kms.unwrap(&local, &tenant()).await,
        Err(KmsError::UnknownKek(_))
    ));
}
