//! `AwsKms`: the `Kms` port on AWS KMS, through the official AWS SDK for Rust.
//!
//! # How the port maps onto AWS KMS
//!
//! | port | AWS KMS |
//! |---|---|
//! | KEK id | the key's ARN, as `DescribeKey` reports it (the configured key id may be an alias or a bare id) |
//! | KEK version | 1 + the number of rotations `ListKeyRotations` lists for the key (automatic or `RotateKeyOnDemand`), read at the time of the call |
//! | encryption context | `EncryptionContext = {"tenant": <uuid>}` or `{"org": <uuid>}` |
//! | `generate_data_key` | `GenerateDataKey` with `KeySpec = AES_256` |
//! | `unwrap` | `Decrypt` with the key's ARN as `KeyId` |
//! | `rewrap` | `ReEncrypt` from and to the key's ARN with the same context: AWS re-encrypts under the current key material without the data key leaving it |
//! | `rotate` | `RotateKeyOnDemand` |
//! | `key_info` | `DescribeKey` and `ListKeyRotations` |
//! | `retire` | refused: AWS keeps every key material version while the key exists; only `ScheduleKeyDeletion` of the whole key destroys them |
//!
//! AWS keeps every key material version and picks the right one from the
//! ciphertext blob itself; the version in the envelope is this adapter's
//! record of which one was current, used to refuse envelopes that claim a
//! version the key never had and to find envelopes worth rewrapping. A changed
//! context or blob fails with `InvalidCiphertextException` (or, when the altered
//! bytes are the blob's reference to its key, `IncorrectKeyException` or an
//! `AccessDeniedException` saying the ciphertext refers to another key, or
//! saying nothing), which
//! becomes `Undecryptable`; anything that keeps AWS from answering (network, throttling
//! past the retries, access denied, a disabled key) is `Unavailable` with AWS's
//! error code and message, which carry no key material.
//!
//! The IAM permissions it needs on the key: `kms:DescribeKey`,
//! `kms:GenerateDataKey`, `kms:Decrypt`, `kms:ReEncryptFrom`, `kms:ReEncryptTo`,
//! `kms:ListKeyRotations` and, to rotate, `kms:RotateKeyOnDemand`.
//!
//! The plaintext of a data key passes through the SDK's response buffers,
//! which it does not zeroize; the copy this adapter hands out is a `DataKey`,
//! which is.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::{Credentials, Region};
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState};
use aws_smithy_http_client::tls;
use domain::kms::{
    DataKey, EncryptionContext, GeneratedKey, KekId, KekVersion, KeyInfo, Kms, KmsError, WrappedKey,
};

/// Where the AWS KMS key is and how to reach it.
#[derive(Debug, Clone)]
pub struct AwsKmsConfig {
    /// Key id, key ARN, alias name (`alias/tenancy`) or alias ARN.
    pub key_id: String,
    /// AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// Another endpoint than AWS's own (a VPC endpoint, or a local test server).
    pub endpoint_url: Option<String>,
    pub credentials: AwsCredentials,
    /// Attempts per call, the first included (the SDK's standard retries with
    /// backoff); at least 1.
    pub max_attempts: u32,
    /// How long one call may take, retries included.
    pub timeout: Duration,
}

/// Where the AWS credentials come from.
#[derive(Clone)]
pub enum AwsCredentials {
    /// The SDK's default chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
    /// the shared config files, web identity, ECS or EC2 instance roles.
    DefaultChain,
    /// Fixed keys (tests against a local server).
    Static {
        access_key_id: String,
        secret_access_key: String,
    },
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DefaultChain => f.write_str("DefaultChain"),
            Self::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .finish(),
        }
    }
}

/// The `Kms` port on one AWS KMS symmetric key (module docs: the mapping).
#[derive(Debug, Clone)]
pub struct AwsKms {
    client: Client,
    /// The key's ARN: what every envelope names.
    kek_id: KekId,
}

impl AwsKms {
    /// Builds the client and checks the key with `DescribeKey`: it must exist,
    /// be enabled, and be a symmetric encryption key. Errors: `Unavailable`,
    /// naming what is wrong.
    pub async fn connect(config: &AwsKmsConfig) -> Result<Self, KmsError> {
        // rustls on ring: no C toolchain or CMake needed to build it.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(config.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(config.timeout.min(Duration::from_secs(5)))
                    .operation_timeout(config.timeout)
                    .build(),
            );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        if let AwsCredentials::Static {
            access_key_id,
            secret_access_key,
        } = &config.credentials
        {
            loader = loader.credentials_provider(Credentials::new(
                access_key_id.clone(),
                secret_access_key.clone(),
                None,
                None,
                "tenancy-configuration",
            ));
        }
        let client = Client::new(&loader.load().await);
        let described = client
            .describe_key()
            .key_id(&config.key_id)
            .send()
            .await
            .map_err(|e| translate("DescribeKey", e))?;
        let metadata = described.key_metadata().ok_or_else(|| {
            KmsError::Unavailable("AWS KMS DescribeKey answered without key metadata".into())
        })?;
        if metadata.key_state() != Some(&KeyState::Enabled) {
            return Err(KmsError::Unavailable(format!(
                "AWS KMS key {} is not enabled (state {})",
                config.key_id,
                metadata.key_state().map_or("unknown", KeyState::as_str)
            )));
        }
        if metadata.key_spec().map(|spec| spec.as_str()) != Some("SYMMETRIC_DEFAULT") {
            return Err(KmsError::Unavailable(format!(
                "AWS KMS key {} is not a symmetric encryption key (SYMMETRIC_DEFAULT)",
                config.key_id
            )));
        }
        let arn = metadata.arn().ok_or_else(|| {
            KmsError::Unavailable("AWS KMS DescribeKey answered without the key's ARN".into())
        })?;
        let kek_id = KekId::parse(arn)
            .map_err(|e| KmsError::Unavailable(format!("AWS KMS key ARN {arn:?}: {e}")))?;
        Ok(Self { client, kek_id })
    }

    /// The key's current version: one more than the rotations AWS lists.
    async fn current_version(&self) -> Result<KekVersion, KmsError> {
        let mut rotations: u32 = 0;
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_key_rotations()
                .key_id(self.kek_id.as_str())
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| translate("ListKeyRotations", e))?;
            let listed = u32::try_from(page.rotations().len()).unwrap_or(u32::MAX);
            rotations = rotations.saturating_add(listed);
            match page.next_marker() {
                Some(next) if page.truncated() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        KekVersion::FIRST
            .get()
            .checked_add(rotations)
            .and_then(KekVersion::new)
            .ok_or_else(|| KmsError::Unavailable("AWS KMS lists too many rotations".into()))
    }

    /// Refuses an envelope of another key, or one claiming a version the key
    /// has not reached; returns the current version.
    async fn check(&self, wrapped: &WrappedKey) -> Result<KekVersion, KmsError> {
        if wrapped.kek_id() != &self.kek_id {
            return Err(KmsError::UnknownKek(wrapped.kek_id().clone()));
        }
        let current = self.current_version().await?;
        if wrapped.kek_version() > current {
            return Err(KmsError::UnknownKeyVersion {
                kek_id: self.kek_id.clone(),
                version: wrapped.kek_version(),
            });
        }
        Ok(current)
    }

    async fn info(&self) -> Result<KeyInfo, KmsError> {
        let current = self.current_version().await?;
        Ok(KeyInfo {
            backend: "aws-kms",
            kek_id: self.kek_id.clone(),
            current_version: current,
            versions: (1..=current.get()).filter_map(KekVersion::new).collect(),
            ephemeral: false,
        })
    }
}

/// The port's context as AWS KMS spells one.
fn aws_context(context: &EncryptionContext) -> HashMap<String, String> {
    HashMap::from([(context.kind().to_owned(), context.id().to_string())])
}

/// How AWS KMS's `AccessDeniedException` begins when a ciphertext blob refers
/// to a key other than the one the call names.
const CIPHERTEXT_OF_ANOTHER_KEY: &str = "The ciphertext refers to a customer master key";

/// An SDK error as the port's: a changed blob or context is `Undecryptable`,
/// everything else `Unavailable` with AWS's code and message (never a blob).
fn translate<E, R>(operation: &str, error: SdkError<E, R>) -> KmsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &error {
        let err = service.err();
        return match err.code() {
            Some("InvalidCiphertextException" | "IncorrectKeyException") => KmsError::Undecryptable,
            // AWS's answer to a blob that refers to another key than the one
            // asked for (moto sends it without a message). The envelope named
            // our key (checked before the call), so its blob was altered. An
            // IAM denial always says who was not authorized, and stays
            // `Unavailable`, for the operator to fix.
            Some("AccessDeniedException")
                if err
                    .message()
                    .is_none_or(|m| m.is_empty() || m.starts_with(CIPHERTEXT_OF_ANOTHER_KEY)) =>
            {
                KmsError::Undecryptable
            }
            code => KmsError::Unavailable(format!(
                "AWS KMS {operation} failed: {}: {}",
                code.unwrap_or("unknown error"),
                err.message().unwrap_or("no message")
            )),
        };
    }
    KmsError::Unavailable(format!(
        "AWS KMS {operation} failed: {}",
        DisplayErrorContext(&error)
    ))
}

fn blob(operation: &str, blob: Option<&Blob>) -> Result<Vec<u8>, KmsError> {
    blob.map(|b| b.as_ref().to_vec())
        .filter(|bytes| !bytes.is_empty())
        .ok_or_else(|| {
            KmsError::Unavailable(format!("AWS KMS {operation} answered without a blob"))
        })
}

#[async_trait]
impl Kms for AwsKms {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
        let version = self.current_version().await?;
        let output = self
            .client
            .generate_data_key()
            .key_id(self.kek_id.as_str())
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(aws_context(context)))
            .send()
            .await
            .map_err(|e| translate("GenerateDataKey", e))?;
        let plaintext = output
            .plaintext()
            .ok_or_else(|| {
                KmsError::Unavailable("AWS KMS GenerateDataKey answered without a key".into())
            })
            .and_then(|b| DataKey::from_slice(b.as_ref()))?;
        let ciphertext = blob("GenerateDataKey", output.ciphertext_blob())?;
        Ok(GeneratedKey {
            plaintext,
            wrapped: WrappedKey::new(self.kek_id.clone(), version, ciphertext),
        })
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        self.check(wrapped).await?;
        let output = self
            .client
            .decrypt()
            .key_id(self.kek_id.as_str())
            .ciphertext_blob(Blob::new(wrapped.ciphertext().to_vec()))
            .set_encryption_context(Some(aws_context(context)))
            .send()
            .await
            .map_err(|e| translate("Decrypt", e))?;
        let plaintext = output.plaintext().ok_or_else(|| {
            KmsError::Unavailable("AWS KMS Decrypt answered without a key".into())
        })?;
        // Anything else than a 32-byte key cannot be what we wrapped.
        DataKey::from_slice(plaintext.as_ref()).map_err(|_| KmsError::Undecryptable)
    }

    async fn rewrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, KmsError> {
        let current = self.check(wrapped).await?;
        let output = self
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(wrapped.ciphertext().to_vec()))
            .source_key_id(self.kek_id.as_str())
            .set_source_encryption_context(Some(aws_context(context)))
            .destination_key_id(self.kek_id.as_str())
            .set_destination_encryption_context(Some(aws_context(context)))
            .send()
            .await
            .map_err(|e| translate("ReEncrypt", e))?;
        let ciphertext = blob("ReEncrypt", output.ciphertext_blob())?;
        Ok(WrappedKey::new(self.kek_id.clone(), current, ciphertext))
    }

    /// AWS applies an on-demand rotation within moments; `key_info` right
    /// after may still show the old version for that long on AWS itself.
    async fn rotate(&self) -> Result<KeyInfo, KmsError> {
        self.client
            .rotate_key_on_demand()
            .key_id(self.kek_id.as_str())
            .send()
            .await
            .map_err(|e| translate("RotateKeyOnDemand", e))?;
        self.info().await
    }

    async fn key_info(&self) -> Result<KeyInfo, KmsError> {
        self.info().await
    }

    /// AWS KMS keeps every key material version of a key for as long as the
    /// key exists and offers no way to destroy one, so this refuses, and says
    /// what destroys old key material on AWS instead.
    async fn retire(&self, version: KekVersion) -> Result<KeyInfo, KmsError> {
        Err(KmsError::Refused(format!(
            "AWS KMS keeps every key material version of {} (including {version}) for as \
             long as the key exists, and cannot destroy one alone; envelopes carry AWS's own \
             reference to their material. To make old backups undecryptable on AWS, their \
             whole key must go: schedule the deletion of a key nothing uses any more \
             (ScheduleKeyDeletion, 7 to 30 days) once every backup it protected has aged out",
            self.kek_id
        )))
    }
}
