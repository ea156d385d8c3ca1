//! `tenancy serve --admin-token-file PATH`: the generated admin token goes to
//! a new file only its owner can read, rather than to standard output, which
//! orchestrators and terminals keep in their logs.

use std::io::Write as _;
use std::path::Path;

/// Creates `path` (refusing one that exists, a symbolic link included), with
/// mode 0600 from the start, and writes `token` and a newline to it.
pub fn write(path: &Path, token: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    // `create_new` is O_CREAT|O_EXCL: it fails on any existing path, and on a
    // symbolic link even when it dangles, so nothing is written through one.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "the admin token file {} exists; it is never overwritten: remove it, or \
                 choose another path",
                path.display()
            )
        } else {
            format!(
                "could not create the admin token file {}: {error}",
                path.display()
            )
        }
    })?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| {
            format!(
                "could not write the admin token file {}: {error}",
                path.display()
            )
        })
}
