//! The keyring file: its JSON form (parsed and checked, written), and how it
//! is created, read and replaced on disk (the parent module documents the
//! format).

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::kms::{KEY_LEN, KekId, KekVersion};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{KeyringError, MasterKey, Versions};
use crate::signing::SEED_LEN;

/// The `format` field of a keyring file.
const FORMAT: &str = "tenancy-keyring";
/// The `format_version` this code reads and writes.
const FORMAT_VERSION: u32 = 1;

/// The file as serialized. Keys are base64 text here, decoded at once.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    format: String,
    format_version: u32,
    kek_id: String,
    current: u32,
    keys: Vec<KeyEntry>,
    /// Versions whose key material was destroyed (`tenancy kms retire`).
    /// Absent until a version is retired, so files without retirements read
    /// and write as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired: Vec<u32>,
    /// The audit checkpoint key's seed (`crate::signing`), base64. Absent
    /// in keyrings made before checkpoints, until their next rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint_seed: Option<String>,
}

impl Drop for KeyringFile {
    fn drop(&mut self) {
        if let Some(seed) = &mut self.checkpoint_seed {
            seed.zeroize();
        }
    }
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

/// Reads the text of a keyring file into its KEK id and versions, checking
/// that the versions count 1, 2, 3… without gaps, each held in `keys` or
/// listed in `retired`, and that `current` is the newest key.
pub(super) fn parse(text: &str, source_name: &str) -> Result<(KekId, Versions), KeyringError> {
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
    for entry in &file.keys {
        let version = KekVersion::new(entry.version)
            .ok_or_else(|| invalid("a key has version 0; versions count from 1".to_owned()))?;
        let mut decoded = Zeroizing::new(
            STANDARD
                .decode(entry.key.trim())
                .map_err(|_| invalid(format!("key version {version} is not base64")))?,
        );
        if decoded.len() != KEY_LEN {
            return Err(invalid(format!(
                "key version {version} is {} bytes, expected {KEY_LEN}",
                decoded.len()
            )));
        }
        let mut key = Zeroizing::new([0_u8; KEY_LEN]);
        key.copy_from_slice(&decoded);
        decoded.zeroize();
        keys.push(MasterKey { version, key });
    }
    let retired: Vec<KekVersion> = file
        .retired
        .iter()
        .map(|v| KekVersion::new(*v))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid("`retired` lists version 0".to_owned()))?;
    let newest = keys.last().map_or(0, |k| k.version.get());
    let mut expected = 1;
    let (mut held, mut gone) = (keys.iter().peekable(), retired.iter().peekable());
    loop {
        let next = match (held.peek(), gone.peek()) {
            (None, None) => break,
            (Some(k), Some(r)) if k.version == **r => {
                return Err(invalid(format!(
                    "version {} is both in `keys` and in `retired`",
                    r.get()
                )));
            }
            (Some(k), Some(r)) if r.get() < k.version.get() => gone.next().map(|r| r.get()),
            (Some(_), _) => held.next().map(|k| k.version.get()),
            (None, Some(_)) => gone.next().map(|r| r.get()),
        };
        if next != Some(expected) {
            return Err(invalid(format!(
                "version {expected} is missing: versions count 1, 2, 3… oldest first, \
                 without gaps, each in `keys` or in `retired`"
            )));
        }
        expected += 1;
    }
    if file.current != newest {
        return Err(invalid(format!(
            "`current` is {} but the newest key is version {newest}",
            file.current
        )));
    }
    if retired.last().is_some_and(|r| r.get() > newest) {
        return Err(invalid(format!(
            "a retired version is newer than the current one ({newest})"
        )));
    }
    let checkpoint_seed = match &file.checkpoint_seed {
        None => None,
        Some(text) => {
            let decoded = Zeroizing::new(
                STANDARD
                    .decode(text.trim())
                    .map_err(|_| invalid("`checkpoint_seed` is not base64".to_owned()))?,
            );
            let mut seed = Zeroizing::new([0_u8; SEED_LEN]);
            if decoded.len() != SEED_LEN {
                return Err(invalid(format!(
                    "`checkpoint_seed` is {} bytes, expected {SEED_LEN}",
                    decoded.len()
                )));
            }
            seed.copy_from_slice(&decoded);
            Some(seed)
        }
    };
    Ok((
        kek_id,
        Versions {
            keys,
            retired,
            checkpoint_seed,
        },
    ))
}

/// The text of a keyring file holding `versions`.
pub(super) fn serialize(kek_id: &KekId, versions: &Versions) -> Zeroizing<String> {
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
        retired: versions.retired.iter().map(|v| v.get()).collect(),
        checkpoint_seed: versions
            .checkpoint_seed
            .as_ref()
            .map(|seed| STANDARD.encode(seed.as_slice())),
    };
    // A struct of strings and numbers always serializes.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    Zeroizing::new(text)
}

/// Writes a new keyring file at `path`, mode 0600; refuses anything already
/// there (`Exists`).
pub(super) fn create(path: &Path, text: &str) -> Result<(), KeyringError> {
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
    file.sync_all().map_err(io)
}

/// The text of the keyring file at `path`; refuses a file others may read
/// or write.
pub(super) fn read(path: &Path) -> Result<Zeroizing<String>, KeyringError> {
    let io = |error| KeyringError::Io {
        path: path.to_owned(),
        error,
    };
    let metadata = fs::metadata(path).map_err(io)?;
    check_private(path, &metadata)?;
    Ok(Zeroizing::new(fs::read_to_string(path).map_err(io)?))
}

/// What tells one version of the keyring file from the next: a rotation or a
/// retirement replaces the file (a new inode) and changes its length or
/// modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// The file's stamp now; `None` when it cannot be read.
pub(super) fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = fs::metadata(path).ok()?;
    Some(Stamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode: inode(&metadata),
    })
}

#[cfg(unix)]
fn inode(metadata: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    metadata.ino()
}

#[cfg(not(unix))]
fn inode(_metadata: &fs::Metadata) -> u64 {
    0
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it
/// over `path`, then syncs the directory: readers see the old file or the new
/// one, never a mix, and a crash loses at most the change.
///
/// The temporary file is created exclusively (`create_new`, which is
/// `O_CREAT | O_EXCL`: it refuses any existing path, a symlink included, so
/// nothing planted there is followed or truncated) and with mode 0600 from its
/// first instant, so the new master key is never readable by others, not even
/// briefly. An existing temporary file is left alone and reported: it is a
/// leftover of an interrupted rotation, or another rotation running now, and
/// only the operator can tell which.
pub(super) fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
