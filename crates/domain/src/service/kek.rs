//! The key-encryption key's life, an operator's commands rather than API
//! calls: rotating it (`tenancy kms rotate`), rewrapping every stored data key
//! with the new version, and retiring an old version once nothing uses it
//! (`tenancy kms retire`), which destroys its key material so that backups
//! taken while it wrapped data keys can no longer be decrypted.

use super::Tenancy;
use super::errors::{SecretError, unexpected};
use super::secrets::kms_failed;
use crate::kms::{EncryptionContext, KekVersion, KeyInfo, KmsError, WrappedKey};
use crate::ports::StoreError;

/// How far a rewrap has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewrapProgress {
    /// The KEK version every data key is being brought to.
    pub target: KekVersion,
    /// Data keys looked at so far.
    pub seen: usize,
    /// Of those, rewrapped by this run (the others were current already, or
    /// their tenant was deleted meanwhile).
    pub rewrapped: usize,
}

/// Why a KEK version was not retired. Nothing changed in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetireError {
    /// New data keys are wrapped with the current version: it cannot go.
    #[error(
        "{0} is the current KEK version: new data keys are wrapped with it; run `tenancy \
         kms rotate` first, then retire it"
    )]
    Current(KekVersion),
    /// The KEK never had this version.
    #[error("the KEK has no version {0}")]
    Unknown(KekVersion),
    /// Stored envelopes are still wrapped by the version: retiring it would
    /// make them unreadable for good.
    #[error(
        "{tenant_keys} tenant data keys and {org_keys} org data keys are still wrapped by \
         {version}; run `tenancy kms rotate` (it rewraps every data key with a new version), \
         then retire {version}"
    )]
    InUse {
        version: KekVersion,
        tenant_keys: u64,
        org_keys: u64,
    },
    /// The KMS will not retire it (say, AWS KMS, which keeps its key material
    /// versions itself); the text says what to do instead.
    #[error("the KMS refused: {0}")]
    Refused(String),
    #[error("KMS unavailable: {0}")]
    KmsUnavailable(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for RetireError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(unexpected(e))
    }
}

impl Tenancy {
    /// Adds a KEK version at the KMS and makes it current; data keys keep
    /// unwrapping with their old version until [`Self::rewrap_data_keys`]
    /// brings them to the new one. An operator's command (`tenancy kms
    /// rotate`), not an API call.
    pub async fn rotate_kek(&self) -> Result<KeyInfo, SecretError> {
        self.ports.kms.rotate().await.map_err(kms_failed)
    }

    /// Rewraps every data key (each tenant's, then each org's) with the KMS's
    /// current KEK version, online: `batch` keys at a time, each replaced only
    /// if unchanged since it was read, so tenants provisioned or deleted
    /// meanwhile are handled and a run that stops halfway can simply run
    /// again. The data keys themselves do not change, so everything sealed
    /// keeps opening. Calls `progress` after every batch; returns the final
    /// count.
    pub async fn rewrap_data_keys(
        &self,
        batch: usize,
        mut progress: impl FnMut(RewrapProgress) + Send,
    ) -> Result<RewrapProgress, SecretError> {
        let info = self.ports.kms.key_info().await.map_err(kms_failed)?;
        let mut done = RewrapProgress {
            target: info.current_version,
            seen: 0,
            rewrapped: 0,
        };
        let batch = batch.max(1);
        let mut after = None;
        loop {
            let keys = self.ports.data_keys.data_keys(after, batch).await?;
            let Some(last) = keys.last() else {
                break;
            };
            after = Some(last.tenant_id);
            for stored in keys {
                let context = EncryptionContext::Tenant(stored.tenant_id);
                if let Some(new) = self
                    .rewrapped(&info, &stored.wrapped, &context, &mut done)
                    .await?
                {
                    let replaced = self
                        .ports
                        .data_keys
                        .replace_data_key(stored.tenant_id, &stored.wrapped, &new)
                        .await;
                    count_replaced(replaced, &mut done)?;
                }
            }
            progress(done);
        }
        let mut after = None;
        loop {
            let keys = self.ports.data_keys.org_data_keys(after, batch).await?;
            let Some((last, _)) = keys.last() else {
                return Ok(done);
            };
            after = Some(*last);
            for (org, wrapped) in keys {
                let context = EncryptionContext::Org(org);
                if let Some(new) = self.rewrapped(&info, &wrapped, &context, &mut done).await? {
                    let replaced = self
                        .ports
                        .data_keys
                        .replace_org_data_key(org, &wrapped, &new)
                        .await;
                    count_replaced(replaced, &mut done)?;
                }
            }
            progress(done);
        }
    }

    /// `wrapped` under the current KEK version, or `None` if it is current.
    async fn rewrapped(
        &self,
        info: &KeyInfo,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
        done: &mut RewrapProgress,
    ) -> Result<Option<WrappedKey>, SecretError> {
        done.seen += 1;
        if wrapped.kek_id() == &info.kek_id && wrapped.kek_version() == info.current_version {
            return Ok(None);
        }
        self.ports
            .kms
            .rewrap(wrapped, context)
            .await
            .map(Some)
            .map_err(kms_failed)
    }

    /// Retires `version` of the KEK: refused for the current version, and
    /// while any stored envelope (a tenant's data key, an org's data key) is
    /// still wrapped by it; otherwise the KMS destroys its key material and
    /// answers its new state. Retiring a retired version succeeds and changes
    /// nothing. An operator's command (`tenancy kms retire`), not an API call.
    ///
    /// A backup of the database taken while `version` wrapped its data keys
    /// can be decrypted only as long as `version` exists: retire it once every
    /// backup from before the rotation has aged out of the retention window.
    pub async fn retire_kek_version(&self, version: KekVersion) -> Result<KeyInfo, RetireError> {
        let kms = &self.ports.kms;
        let info = kms.key_info().await.map_err(retire_failed)?;
        if version == info.current_version {
            return Err(RetireError::Current(version));
        }
        if version > info.current_version {
            return Err(RetireError::Unknown(version));
        }
        let tenant_keys = self
            .ports
            .data_keys
            .count_data_keys(&info.kek_id, version)
            .await?;
        let org_keys = self
            .ports
            .data_keys
            .count_org_data_keys(&info.kek_id, version)
            .await?;
        if tenant_keys + org_keys > 0 {
            return Err(RetireError::InUse {
                version,
                tenant_keys,
                org_keys,
            });
        }
        kms.retire(version).await.map_err(retire_failed)
    }
}

fn retire_failed(e: KmsError) -> RetireError {
    match e {
        KmsError::Refused(why) => RetireError::Refused(why),
        KmsError::UnknownKeyVersion { version, .. } => RetireError::Unknown(version),
        other => RetireError::KmsUnavailable(other.to_string()),
    }
}

/// Counts a replaced data key; a stale one (deleted, or rewrapped by another
/// run) needs nothing.
fn count_replaced(
    replaced: Result<(), StoreError>,
    done: &mut RewrapProgress,
) -> Result<(), SecretError> {
    match replaced {
        Ok(()) => {
            done.rewrapped += 1;
            Ok(())
        }
        Err(StoreError::Stale) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
