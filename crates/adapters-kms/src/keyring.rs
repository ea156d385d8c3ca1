//! `LocalKeyring`: the `Kms` port with versioned AES-256 master keys held by
//! this process, read from a keyring file (or the file's text in a variable),
//! or made up at start for the in-memory server.
//!
//! # The keyring file
//!
//! JSON, written with mode 0600, never edited in place:
//!
//! ```json
//! {
//!   "format": "tenancy-keyring",
//!   "format_version": 1,
//!   "kek_id": "local:5f0c9a2e7b1d4c3a",
//!   "current": 2,
//!   "keys": [
//!     { "version": 1, "key": "<32 bytes, standard base64>" },
//!     { "version": 2, "key": "<32 bytes, standard base64>" }
//!   ]
//! }
//! ```
//!
//! `kek_id` names the keyring in every envelope it wraps (`local:` and 16 random
//! hex digits, so envelopes of another keyring are told apart); `current` is the
//! version new keys are wrapped with; `keys` holds every version that still
//! unwraps, oldest first; `retired` (absent until a version is retired, e.g.
//! `"retired": [1]`) lists the versions whose key material was destroyed.
//! Versions count 1, 2, 3… without gaps, each in `keys` or in `retired`, and the
//! current one is the newest key. `checkpoint_seed` (32 bytes, standard base64)
//! is the seed of the deployment's Ed25519 key that signs audit checkpoints
//! (`crate::signing`): written by `tenancy kms init`, added by the next
//! rotation to a keyring made before it, and never changed or removed after,
//! so checkpoints signed before a rotation or a retirement still verify with
//! the published public key. Rotation appends a version, retirement moves
//! one from `keys` to `retired`, and both replace the file atomically (a
//! temporary file in the same directory, created exclusively with mode 0600,
//! synced, renamed over the old one).
//!
//! A process serving with a keyring file reads it again when it meets an
//! envelope of a version it does not know, and before it mints or rewraps a
//! data key if the file changed since it last read it: keys minted after
//! `tenancy kms rotate` use the new version, and a retired version is dropped.
//!
//! # Wrapping
//!
//! A wrapped key's ciphertext is a 12-byte random nonce, then the data key
//! encrypted with AES-256-GCM under the named version's master key, then the
//! 16-byte tag; the associated data is `domain::kms::envelope_aad` (KEK id,
//! version and encryption context), so changing any of them, or any byte,
//! makes unwrapping fail.

mod file;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use domain::kms::{
    self, DataKey, EncryptionContext, GeneratedKey, KEY_LEN, KekId, KekVersion, KeyInfo, Kms,
    KmsError, NONCE_LEN, TAG_LEN, WrappedKey,
};
use domain::ports::SecretSource;
use zeroize::Zeroizing;

use crate::signing::{CheckpointKey, SEED_LEN};

/// Nonce, encrypted data key, tag.
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

/// Why a keyring could not be created, read or written. Messages name the file
/// and never carry key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{}: a file already exists there; a keyring is never overwritten", .0.display())]
    Exists(PathBuf),
    #[error("{}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not a keyring file: {message}", .source_name)]
    Invalid {
        source_name: String,
        message: String,
    },
    #[error(
        "{}: readable or writable by others (mode {mode:04o}); a keyring holds master keys: \
         `chmod 600` it",
        .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// One master key version, zeroized when dropped.
#[derive(Clone)]
struct MasterKey {
    version: KekVersion,
    key: Zeroizing<[u8; KEY_LEN]>,
}

/// The versions of a keyring: those that still unwrap, oldest first, the last
/// being current; and those retired, whose key material is gone.
#[derive(Clone)]
struct Versions {
    keys: Vec<MasterKey>,
    retired: Vec<KekVersion>,
    /// The seed of the audit checkpoint key ([`crate::signing`]); `None` in a
    /// keyring made before checkpoints, until its next rotation adds one.
    checkpoint_seed: Option<Zeroizing<[u8; SEED_LEN]>>,
}

impl Versions {
    fn current(&self) -> &MasterKey {
        // Every constructor checks there is at least one version, and the
        // current one is never retired.
        &self.keys[self.keys.len() - 1]
    }

    fn get(&self, version: KekVersion) -> Option<&MasterKey> {
        self.keys.iter().find(|key| key.version == version)
    }
}

/// Where a keyring came from, which decides whether rotation can persist.
#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    /// The text of a keyring file, from a variable: rotation has nowhere to go.
    Text(String),
    Ephemeral,
}

/// A keyring of versioned AES-256 master keys (module docs: the file format).
pub struct LocalKeyring {
    kek_id: KekId,
    origin: Origin,
    versions: RwLock<Versions>,
    /// Serializes rotations and retirements, so two never write the file at once.
    rotating: Mutex<()>,
    secrets: Arc<dyn SecretSource>,
    /// The keyring file as this process last read or wrote it: when it
    /// differs, another process (`tenancy kms rotate` or `retire`) changed it.
    stamp: Mutex<Option<file::Stamp>>,
}

impl fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("kek_id", &self.kek_id)
            .field("origin", &self.origin)
            .field("versions", &self.read().keys.len())
            .finish_non_exhaustive()
    }
}

impl LocalKeyring {
    /// Creates a keyring file at `path` with one fresh master key, mode 0600.
    /// Refuses to replace anything already there (`Exists`).
    pub fn create(path: &Path, secrets: Arc<dyn SecretSource>) -> Result<Self, KeyringError> {
        let keyring = Self::fresh(Origin::File(path.to_owned()), secrets);
        file::create(path, &keyring.to_text())?;
        keyring.remember(file::stamp(path));
        Ok(keyring)
    }

    /// Reads the keyring file at `path`. Refuses a file others may read or write.
    pub fn open(path: &Path, secrets: Arc<dyn SecretSource>) -> Result<Self, KeyringError> {
        let stamp = file::stamp(path);
        let text = file::read(path)?;
        let keyring = Self::parse(
            &text,
            &path.display().to_string(),
            Origin::File(path.to_owned()),
            secrets,
        )?;
        keyring.remember(stamp);
        Ok(keyring)
    }

    /// Reads a keyring from the text of a keyring file (say, a variable filled
    /// from a secret store). Such a keyring cannot rotate: there is no file to
    /// write the new version to.
    pub fn from_text(
        text: &str,
        source_name: &str,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, KeyringError> {
        Self::parse(
            text,
            source_name,
            Origin::Text(source_name.to_owned()),
            secrets,
        )
    }

    /// A keyring that lives only in this process, with one fresh master key:
    /// for the in-memory server, whose data is lost at exit anyway.
    pub fn ephemeral(secrets: Arc<dyn SecretSource>) -> Self {
        Self::fresh(Origin::Ephemeral, secrets)
    }

    /// Where the keyring lives: its file, variable, or `None` when ephemeral.
    pub fn location(&self) -> Option<String> {
        match &self.origin {
            Origin::File(path) => Some(path.display().to_string()),
            Origin::Text(name) => Some(name.clone()),
            Origin::Ephemeral => None,
        }
    }

    fn fresh(origin: Origin, secrets: Arc<dyn SecretSource>) -> Self {
        let mut id = [0_u8; 8];
        secrets.fill(&mut id);
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let kek_id = KekId::parse(&format!("local:{hex}")).unwrap_or_else(|_| {
            unreachable!("`local:` and hex digits are a valid KEK id");
        });
        let first = new_master_key(KekVersion::FIRST, secrets.as_ref());
        Self {
            kek_id,
            origin,
            versions: RwLock::new(Versions {
                keys: vec![first],
                retired: Vec::new(),
                checkpoint_seed: Some(CheckpointKey::new_seed(secrets.as_ref())),
            }),
            rotating: Mutex::new(()),
            secrets,
            stamp: Mutex::new(None),
        }
    }

    fn parse(
        text: &str,
        source_name: &str,
        origin: Origin,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, KeyringError> {
        let (kek_id, versions) = file::parse(text, source_name)?;
        Ok(Self {
            kek_id,
            origin,
            versions: RwLock::new(versions),
            rotating: Mutex::new(()),
            secrets,
            stamp: Mutex::new(None),
        })
    }

    fn remember(&self, stamp: Option<file::Stamp>) {
        *self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = stamp;
    }

    fn to_text(&self) -> Zeroizing<String> {
        file::serialize(&self.kek_id, &self.read())
    }

    /// The audit checkpoint key of this keyring, if it has one (module
    /// [`crate::signing`]). A file reloaded after another process rotated it
    /// keeps the key it had; the seed never changes once written.
    pub fn checkpoint_key(&self) -> Option<CheckpointKey> {
        self.read()
            .checkpoint_seed
            .as_ref()
            .map(CheckpointKey::from_seed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Versions> {
        // Writers replace the whole Vec in one assignment: never half-done.
        self.versions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn info(&self) -> KeyInfo {
        let versions = self.read();
        KeyInfo {
            backend: match self.origin {
                Origin::Ephemeral => "ephemeral keyring",
                _ => "local keyring",
            },
            kek_id: self.kek_id.clone(),
            current_version: versions.current().version,
            versions: versions.keys.iter().map(|key| key.version).collect(),
            ephemeral: matches!(self.origin, Origin::Ephemeral),
        }
    }

    fn wrap(&self, key: &DataKey, context: &EncryptionContext) -> WrappedKey {
        let versions = self.read();
        let master = versions.current();
        let mut nonce = [0_u8; NONCE_LEN];
        self.secrets.fill(&mut nonce);
        let aad = kms::envelope_aad(&self.kek_id, master.version, context);
        let mut ciphertext = Vec::with_capacity(WRAPPED_LEN);
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&kms::aead_seal(&master.key, &nonce, key.expose(), &aad));
        WrappedKey::new(self.kek_id.clone(), master.version, ciphertext)
    }

    fn open_wrapped(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        if wrapped.kek_id() != &self.kek_id {
            return Err(KmsError::UnknownKek(wrapped.kek_id().clone()));
        }
        let versions = self.read();
        let version = wrapped.kek_version();
        let master = versions.get(version).ok_or_else(|| {
            let kek_id = self.kek_id.clone();
            if versions.retired.contains(&version) {
                KmsError::RetiredKeyVersion { kek_id, version }
            } else {
                KmsError::UnknownKeyVersion { kek_id, version }
            }
        })?;
        let bytes = wrapped.ciphertext();
        if bytes.len() != WRAPPED_LEN {
            return Err(KmsError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let mut fixed = [0_u8; NONCE_LEN];
        fixed.copy_from_slice(nonce);
        let aad = kms::envelope_aad(&self.kek_id, master.version, context);
        let plain =
            kms::aead_open(&master.key, &fixed, sealed, &aad).ok_or(KmsError::Undecryptable)?;
        DataKey::from_slice(&plain).map_err(|_| KmsError::Undecryptable)
    }

    /// Opens `wrapped`; when its version is newer than any this process knows
    /// and the keyring is a file, reads the file again first: another process
    /// (`tenancy kms rotate`) may have added the version and rewrapped keys
    /// with it while this one kept serving.
    fn open_or_reload(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        match self.open_wrapped(wrapped, context) {
            Err(KmsError::UnknownKeyVersion { .. })
                if wrapped.kek_id() == &self.kek_id && self.reload()? =>
            {
                self.open_wrapped(wrapped, context)
            }
            other => other,
        }
    }

    /// Reads the keyring file again and takes its versions when they are for
    /// the same KEK and not older than this process's (a file put back from a
    /// backup is not taken). Whether it took them.
    fn reload(&self) -> Result<bool, KmsError> {
        let Origin::File(path) = &self.origin else {
            return Ok(false);
        };
        let stamp = file::stamp(path);
        let fresh = Self::open(path, Arc::clone(&self.secrets))
            .map_err(|e| KmsError::Unavailable(format!("could not read the keyring again: {e}")))?;
        if fresh.kek_id != self.kek_id {
            return Err(KmsError::Unavailable(format!(
                "the keyring file {} now holds another KEK; restart with the right file",
                path.display()
            )));
        }
        let fresh = fresh
            .versions
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut versions = self
            .versions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if fresh.current().version < versions.current().version {
            return Ok(false);
        }
        *versions = fresh;
        drop(versions);
        self.remember(stamp);
        Ok(true)
    }

    /// Before wrapping: if another process changed the keyring file since this
    /// one last read it, read it again, so new keys are wrapped with the
    /// version the file says is current, and a version retired there is no
    /// longer used here. A file that cannot be read now leaves the keyring as
    /// it is (unwrapping reports such trouble when it matters).
    fn refresh(&self) {
        let Origin::File(path) = &self.origin else {
            return;
        };
        let now = file::stamp(path);
        let known = *self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.is_some() && now != known {
            let _ = self.reload();
        }
    }

    /// Writes `versions` to where the keyring lives (nowhere when ephemeral),
    /// then takes them; `what` names the change for errors. Nothing changes
    /// when it cannot be written.
    fn persist(&self, versions: Versions, what: &str) -> Result<KeyInfo, KmsError> {
        match &self.origin {
            Origin::Ephemeral => {}
            Origin::Text(name) => {
                return Err(KmsError::Unavailable(format!(
                    "the keyring was read from {name}, which cannot be rewritten: {what} a \
                     keyring file (TENANCY_KEYRING) instead"
                )));
            }
            Origin::File(path) => {
                let text = file::serialize(&self.kek_id, &versions);
                file::replace(path, text.as_bytes()).map_err(|error| {
                    KmsError::Unavailable(format!(
                        "could not write the keyring {} to {what} it: {error}; nothing changed",
                        path.display()
                    ))
                })?;
                self.remember(file::stamp(path));
            }
        }
        *self
            .versions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = versions;
        Ok(self.info())
    }

    fn rotate_now(&self) -> Result<KeyInfo, KmsError> {
        let _one_at_a_time = self
            .rotating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut versions = self.read().clone();
        let next = versions
            .current()
            .version
            .next()
            .ok_or_else(|| KmsError::Unavailable("the keyring has no versions left".into()))?;
        versions
            .keys
            .push(new_master_key(next, self.secrets.as_ref()));
        if versions.checkpoint_seed.is_none() {
            versions.checkpoint_seed = Some(CheckpointKey::new_seed(self.secrets.as_ref()));
        }
        self.persist(versions, "rotate")
    }

    /// Destroys `version`: its master key leaves the file (and this process),
    /// and the file lists it as retired. The current version is refused.
    fn retire_now(&self, version: KekVersion) -> Result<KeyInfo, KmsError> {
        let _one_at_a_time = self
            .rotating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut versions = self.read().clone();
        if version == versions.current().version {
            return Err(KmsError::Refused(format!(
                "{version} is the current version of {}: new data keys are wrapped with it; \
                 rotate first",
                self.kek_id
            )));
        }
        if versions.retired.contains(&version) {
            return Ok(self.info());
        }
        if versions.get(version).is_none() {
            return Err(KmsError::UnknownKeyVersion {
                kek_id: self.kek_id.clone(),
                version,
            });
        }
        // The removed key is zeroized as it drops, here and (once the new
        // versions replace them) in this process's copy.
        versions.keys.retain(|key| key.version != version);
        versions.retired.push(version);
        versions.retired.sort();
        self.persist(versions, "retire a version of")
    }
}

fn new_master_key(version: KekVersion, secrets: &dyn SecretSource) -> MasterKey {
    let mut key = Zeroizing::new([0_u8; KEY_LEN]);
    secrets.fill(key.as_mut_slice());
    MasterKey { version, key }
}

#[async_trait]
impl Kms for LocalKeyring {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
        self.refresh();
        let plaintext = DataKey::generate(self.secrets.as_ref());
        let wrapped = self.wrap(&plaintext, context);
        Ok(GeneratedKey { plaintext, wrapped })
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        self.open_or_reload(wrapped, context)
    }

    async fn rewrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, KmsError> {
        self.refresh();
        let key = self.open_or_reload(wrapped, context)?;
        Ok(self.wrap(&key, context))
    }

    /// Rotation is rare and small (one file of a few hundred bytes), so its
    /// file I/O runs inline rather than on a blocking thread.
    async fn rotate(&self) -> Result<KeyInfo, KmsError> {
        self.rotate_now()
    }

    async fn key_info(&self) -> Result<KeyInfo, KmsError> {
        Ok(self.info())
    }

    /// Like rotation, one small file written inline.
    async fn retire(&self, version: KekVersion) -> Result<KeyInfo, KmsError> {
        self.retire_now(version)
    }
}
