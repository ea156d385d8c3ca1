//! Which KMS wraps the data keys: a keyring file, a keyring's text, AWS KMS, or,
//! for the in-memory store only, an ephemeral keyring; and `tenancy kms init`.
//!
//! The KMS is opened and checked at start (a keyring that cannot be read, or an
//! AWS key that cannot be described, stops the server) and handed to
//! `domain::Tenancy` as `Ports::kms`, which puts its cache of unwrapped data
//! keys in front of it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use adapters_kms::{AwsCredentials, AwsKms, AwsKmsConfig, LocalKeyring};
use adapters_system::OsSecrets;
use domain::kms::{KeyInfo, Kms};
use domain::ports::CheckpointSigner;

use crate::config::KmsSettings;

/// Why the KMS could not be opened.
pub enum OpenError {
    /// The settings point at something unusable (a keyring file missing,
    /// malformed or readable by others): the operator fixes the configuration.
    Config(String),
    /// The KMS did not answer or refused (AWS KMS unreachable, key disabled).
    Unavailable(String),
}

/// How long one AWS KMS call may take at start, retries included.
const AWS_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the configured KMS and logs what it is (never a key).
pub async fn open(settings: &KmsSettings) -> Result<Arc<dyn Kms>, OpenError> {
    open_with_checkpoint_key(settings).await.map(|(kms, _)| kms)
}

/// [`open`], and the audit checkpoint key a keyring holds (`None` with AWS
/// KMS, and with a keyring made before checkpoint keys until its next
/// `tenancy kms rotate`; checkpoints are then refused, which is logged).
pub async fn open_with_checkpoint_key(
    settings: &KmsSettings,
) -> Result<(Arc<dyn Kms>, Option<Arc<dyn CheckpointSigner>>), OpenError> {
    let secrets = Arc::new(OsSecrets);
    let keyring = |keyring: LocalKeyring| {
        let signer = keyring
            .checkpoint_key()
            .map(|k| Arc::new(k) as Arc<dyn CheckpointSigner>);
        (Arc::new(keyring) as Arc<dyn Kms>, signer)
    };
    let (kms, signer) = match settings {
        KmsSettings::Ephemeral => keyring(LocalKeyring::ephemeral(secrets)),
        KmsSettings::KeyringFile(path) => keyring(
            LocalKeyring::open(path, secrets)
                .map_err(|e| OpenError::Config(format!("TENANCY_KEYRING: {e}")))?,
        ),
        KmsSettings::KeyringText(text) => keyring(
            LocalKeyring::from_text(text.expose(), "TENANCY_KEYRING_JSON", secrets)
                .map_err(|e| OpenError::Config(e.to_string()))?,
        ),
        KmsSettings::Aws {
            key_id,
            region,
            endpoint,
        } => (
            Arc::new(
                AwsKms::connect(&AwsKmsConfig {
                    key_id: key_id.clone(),
                    region: region.clone(),
                    endpoint_url: endpoint.clone(),
                    credentials: AwsCredentials::DefaultChain,
                    max_attempts: 3,
                    timeout: AWS_TIMEOUT,
                })
                .await
                .map_err(|e| OpenError::Unavailable(e.to_string()))?,
            ) as Arc<dyn Kms>,
            None,
        ),
    };
    let info = kms
        .key_info()
        .await
        .map_err(|e| OpenError::Unavailable(e.to_string()))?;
    log(&info, settings);
    match &signer {
        Some(key) => tracing::info!(key = %key.key_id(), "audit checkpoints are signed"),
        None => tracing::warn!(
            "no audit checkpoint key: GET .../audit-events/checkpoint answers 503; a keyring              gets one at its next `tenancy kms rotate` (AWS KMS: not supported yet)"
        ),
    }
    Ok((kms, signer))
}

fn log(info: &KeyInfo, settings: &KmsSettings) {
    if info.ephemeral {
        tracing::warn!(
            kek = %info.kek_id,
            "using an ephemeral keyring: data keys are wrapped by a master key that lives \
             only in this process, like the in-memory data; set TENANCY_KEYRING (see \
             `tenancy kms init`) for a durable one"
        );
        return;
    }
    let location = match settings {
        KmsSettings::KeyringFile(path) => path.display().to_string(),
        KmsSettings::KeyringText(_) => "TENANCY_KEYRING_JSON".to_owned(),
        KmsSettings::Aws { region, .. } => format!("AWS KMS in {region}"),
        KmsSettings::Ephemeral => "this process".to_owned(),
    };
    tracing::info!(
        backend = info.backend,
        kek = %info.kek_id,
        version = %info.current_version,
        versions = info.versions.len(),
        "KMS ready: {location}"
    );
}

/// `tenancy kms init`: creates a keyring file with one fresh master key, mode
/// 0600; never replaces an existing file. Returns what to tell the operator.
pub fn init(path: &Path) -> Result<String, String> {
    let keyring = LocalKeyring::create(path, Arc::new(OsSecrets)).map_err(|e| e.to_string())?;
    let kek = keyring
        .location()
        .unwrap_or_else(|| path.display().to_string());
    Ok(format!(
        "created keyring {kek} (mode 0600) with one master key and the audit checkpoint \
         signing key; start the server with \
         TENANCY_KEYRING={} and keep a backup of the file: data keys wrapped by it cannot \
         be recovered without it",
        path.display()
    ))
}
