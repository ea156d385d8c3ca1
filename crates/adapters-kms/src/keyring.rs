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
//! version new keys are wrapped with; `keys` holds every version, oldest first,
//! numbered 1, 2, 3… without gaps. Rotation appends a version and replaces the
//! file atomically (a temporary file in the same directory, synced, renamed
//! over the old one).
//!
//! # Wrapping
//!
//! A wrapped key's ciphertext is a 12-byte random nonce, then the data key
//! encrypted with AES-256-GCM under the named version's master key, then the
//! 16-byte tag; the associated data is `domain::kms::envelope_aad` (KEK id,
//! version and encryption context), so changing any of them, or any byte,
//! makes unwrapping fail.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::kms::{
    self, DataKey, EncryptionContext, GeneratedKey, KEY_LEN, KekId, KekVersion, KeyInfo, Kms,
    KmsError, NONCE_LEN, TAG_LEN, WrappedKey,
};
use domain::ports::SecretSource;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// The `format` field of a keyring file.
const FORMAT: &str = "tenancy-keyring";
/// The `format_version` this code reads and writes.
const FORMAT_VERSION: u32 = 1;
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
struct MasterKey {
    version: KekVersion,
    key: Zeroizing<[u8; KEY_LEN]>,
}

/// The versions of a keyring, oldest first; the last is current.
struct Versions {
    keys: Vec<MasterKey>,
}

impl Versions {
    fn current(&self) -> &MasterKey {
        // Every constructor checks there is at least one version.
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
    /// Serializes rotations, so two never write the file at once.
    rotating: Mutex<()>,
    secrets: Arc<dyn SecretSource>,
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

/// The file as serialized. Keys are base64 text here, decoded at once.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    format_version: u32,
    kek_id: String,
    current: u32,
    keys: Vec<KeyEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    version: u32,
    key: String,
}

impl Drop for KeyEntry {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl LocalKeyring {
    /// Creates a keyring file at `path` with one fresh master key, mode 0600.
    /// Refuses to replace anything already there (`Exists`).
    pub fn create(path: &Path, secrets: Arc<dyn SecretSource>) -> Result<Self, KeyringError> {
        let keyring = Self::fresh(Origin::File(path.to_owned()), secrets);
        let text = keyring.to_text();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        restrict(&mut options);
        let io = |error| KeyringError::Io {
            path: path.to_owned(),
            error,
        };
        let mut file = options.open(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                KeyringError::Exists(path.to_owned())
            } else {
                io(error)
            }
        })?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(keyring)
    }

    /// Reads the keyring file at `path`. Refuses a file others may read or write.
    pub fn open(path: &Path, secrets: Arc<dyn SecretSource>) -> Result<Self, KeyringError> {
        let io = |error| KeyringError::Io {
            path: path.to_owned(),
            error,
        };
        let metadata = fs::metadata(path).map_err(io)?;
        check_private(path, &metadata)?;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
        Self::parse(
            &text,
            &path.display().to_string(),
            Origin::File(path.to_owned()),
            secrets,
        )
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
            versions: RwLock::new(Versions { keys: vec![first] }),
            rotating: Mutex::new(()),
            secrets,
        }
    }

    fn parse(
        text: &str,
        source_name: &str,
        origin: Origin,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, KeyringError> {
        let invalid = |message: String| KeyringError::Invalid {
            source_name: source_name.to_owned(),
            message,
        };
        // serde_json's messages quote no input values, only positions and types.
        let file: KeyringFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.format != FORMAT {
            return Err(invalid(format!("`format` must be {FORMAT:?}")));
        }
        if file.format_version != FORMAT_VERSION {
            return Err(invalid(format!(
                "`format_version` {} is not supported (this version reads {FORMAT_VERSION})",
                file.format_version
            )));
        }
        let kek_id = KekId::parse(&file.kek_id).map_err(|e| invalid(format!("`kek_id`: {e}")))?;
        if file.keys.is_empty() {
            return Err(invalid("`keys` is empty".to_owned()));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for (index, entry) in file.keys.iter().enumerate() {
            let expected = u32::try_from(index + 1).unwrap_or(u32::MAX);
            if entry.version != expected {
                return Err(invalid(format!(
                    "key {} has version {}, expected {expected}: versions count 1, 2, 3… \
                     oldest first, without gaps",
                    index + 1,
                    entry.version
                )));
            }
            let mut decoded = Zeroizing::new(
                STANDARD
                    .decode(entry.key.trim())
                    .map_err(|_| invalid(format!("key version {expected} is not base64")))?,
            );
            if decoded.len() != KEY_LEN {
                return Err(invalid(format!(
                    "key version {expected} is {} bytes, expected {KEY_LEN}",
                    decoded.len()
                )));
            }
            let mut key = Zeroizing::new([0_u8; KEY_LEN]);
            key.copy_from_slice(&decoded);
            decoded.zeroize();
            keys.push(MasterKey {
                version: KekVersion::new(expected).unwrap_or(KekVersion::FIRST),
                key,
            });
        }
        if usize::try_from(file.current).ok() != Some(keys.len()) {
            return Err(invalid(format!(
                "`current` is {} but the newest key is version {}",
                file.current,
                keys.len()
            )));
        }
        Ok(Self {
            kek_id,
            origin,
            versions: RwLock::new(Versions { keys }),
            rotating: Mutex::new(()),
            secrets,
        })
    }

    fn to_text(&self) -> Zeroizing<String> {
        Self::serialize(&self.kek_id, &self.read())
    }

    fn serialize(kek_id: &KekId, versions: &Versions) -> Zeroizing<String> {
        let file = KeyringFile {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            kek_id: kek_id.as_str().to_owned(),
            current: versions.current().version.get(),
            keys: versions
                .keys
                .iter()
                .map(|key| KeyEntry {
                    version: key.version.get(),
                    key: STANDARD.encode(key.key.as_slice()),
                })
                .collect(),
        };
        // A struct of strings and numbers always serializes.
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        Zeroizing::new(text)
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
        let master =
            versions
                .get(wrapped.kek_version())
                .ok_or_else(|| KmsError::UnknownKeyVersion {
                    kek_id: self.kek_id.clone(),
                    version: wrapped.kek_version(),
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

    /// Reads the keyring file again and takes its versions when it holds more
    /// of them for the same KEK (versions are only ever added). Whether it did.
    fn reload(&self) -> Result<bool, KmsError> {
        let Origin::File(path) = &self.origin else {
            return Ok(false);
        };
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
        if fresh.keys.len() <= versions.keys.len() {
            return Ok(false);
        }
        *versions = fresh;
        Ok(true)
    }

    fn rotate_now(&self) -> Result<KeyInfo, KmsError> {
        let _one_at_a_time = self
            .rotating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = self
            .read()
            .current()
            .version
            .next()
            .ok_or_else(|| KmsError::Unavailable("the keyring has no versions left".into()))?;
        let added = new_master_key(next, self.secrets.as_ref());
        match &self.origin {
            Origin::Ephemeral => {}
            Origin::Text(name) => {
                return Err(KmsError::Unavailable(format!(
                    "the keyring was read from {name}, which cannot be rewritten: rotate a \
                     keyring file (TENANCY_KEYRING) instead"
                )));
            }
            Origin::File(path) => {
                let mut keys: Vec<MasterKey> = self
                    .read()
                    .keys
                    .iter()
                    .map(|key| MasterKey {
                        version: key.version,
                        key: key.key.clone(),
                    })
                    .collect();
                keys.push(MasterKey {
                    version: added.version,
                    key: added.key.clone(),
                });
                let text = Self::serialize(&self.kek_id, &Versions { keys });
                replace_file(path, text.as_bytes()).map_err(|error| {
                    KmsError::Unavailable(format!(
                        "could not write the rotated keyring {}: {error}; nothing changed",
                        path.display()
                    ))
                })?;
            }
        }
        self.versions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys
            .push(added);
        Ok(self.info())
    }
}

fn new_master_key(version: KekVersion, secrets: &dyn SecretSource) -> MasterKey {
    let mut key = Zeroizing::new([0_u8; KEY_LEN]);
    secrets.fill(key.as_mut_slice());
    MasterKey { version, key }
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it
/// over `path`, then syncs the directory: readers see the old file or the new
/// one, never a mix, and a crash loses at most the rotation.
///
/// The temporary file is created exclusively (`create_new`, which is
/// `O_CREAT | O_EXCL`: it refuses any existing path, a symlink included, so
/// nothing planted there is followed or truncated) and with mode 0600 from its
/// first instant, so the new master key is never readable by others, not even
/// briefly. An existing temporary file is left alone and reported: it is a
/// leftover of an interrupted rotation, or another rotation running now, and
/// only the operator can tell which.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the keyring path names no file"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(".rotating");
    let temp = dir.join(temp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    restrict(&mut options);
    let mut file = options.open(&temp).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(
                error.kind(),
                format!(
                    "the temporary file {} already exists: it is left over from an \
                     interrupted rotation, or another rotation is running; the keyring \
                     itself is intact; once no `tenancy kms` command is running, remove \
                     it and run the command again",
                    temp.display()
                ),
            )
        } else {
            error
        }
    })?;
    // From here on the temporary file is ours: remove it if anything fails.
    let written = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        // Make the rename itself durable. Directories cannot be opened for
        // syncing everywhere; where they cannot, the rename still happened.
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(unix)]
fn restrict(options: &mut fs::OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.mode(0o600);
}

#[cfg(not(unix))]
fn restrict(_options: &mut fs::OpenOptions) {}

#[cfg(unix)]
fn check_private(path: &Path, metadata: &fs::Metadata) -> Result<(), KeyringError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyringError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &fs::Metadata) -> Result<(), KeyringError> {
    Ok(())
}

#[async_trait]
impl Kms for LocalKeyring {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
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
}
