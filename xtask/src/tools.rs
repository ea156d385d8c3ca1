//! Where the tools the tests and checks need are found: the PostgreSQL server
//! binaries, PgBouncer, curl, moto_server, cargo-deny, and Python modules the
//! tests import (`standardwebhooks`).
//!
//! Each lookup walks a list of directories. By default that list is the PATH
//! plus the places an installer puts the tool when they are not on every user's
//! PATH (Debian's `/usr/lib/postgresql/<version>/bin` and `/usr/sbin`, cargo's
//! `bin`). [`OVERRIDE`] replaces the list, so a test, or a person checking that
//! `cargo xtask setup` really installs things, can make a machine that has the
//! tools look like one that has none.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// When set, the directories (PATH syntax) `cargo xtask setup` searches for
/// every tool before it installs anything, instead of the PATH and the usual
/// places.
pub(crate) const OVERRIDE: &str = "XTASK_TOOL_DIRS";

/// Where to look: the override's directories when it is given, else `defaults`.
/// An empty override counts as unset, as every variable does in xtask.
pub(crate) fn search_dirs(override_dirs: Option<OsString>, defaults: Vec<PathBuf>) -> Vec<PathBuf> {
    match override_dirs.filter(|dirs| !dirs.is_empty()) {
        Some(dirs) => env::split_paths(&dirs).collect(),
        None => defaults,
    }
}

/// The first directory of `dirs` that holds every one of `files`.
pub(crate) fn first_holding(dirs: &[PathBuf], files: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .find(|dir| files.iter().all(|file| dir.join(file).is_file()))
        .cloned()
}

/// The directories of the PATH.
fn path_dirs() -> Vec<PathBuf> {
    env::split_paths(&env::var_os("PATH").unwrap_or_default()).collect()
}

/// Where a tool is looked for when no override is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Places {
    /// `pg_config --bindir`, the PATH, then Debian's and a source build's places.
    PostgresServer,
    /// The PATH, then the system `sbin` directories (Debian's PgBouncer is there).
    SystemSbin,
    /// The PATH only.
    Path,
    /// The PATH, then cargo's `bin` (`$CARGO_HOME/bin`, else `~/.cargo/bin`),
    /// where `cargo install` puts binaries even when it is not on the PATH.
    CargoBin,
    /// The PATH, where the first `python3` must also import this module.
    PythonModule(&'static str),
}

impl Places {
    pub(crate) fn defaults(self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if self == Self::PostgresServer {
            dirs.extend(pg_config_bindir());
        }
        dirs.extend(path_dirs());
        match self {
            Self::PostgresServer => dirs.extend(usual_bindirs()),
            Self::SystemSbin => dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from)),
            Self::Path | Self::PythonModule(_) => {}
            Self::CargoBin => dirs.extend(cargo_bin()),
        }
        dirs
    }

    /// Whether `dir`, which holds a tool's files, provides the tool: for a
    /// Python module, that the directory's `python3` imports it.
    pub(crate) fn provided_by(self, dir: &Path) -> bool {
        match self {
            Self::PythonModule(module) => Command::new(dir.join("python3"))
                .args(["-c", &format!("import {module}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success()),
            _ => true,
        }
    }
}

/// The directory holding `initdb` and `pg_ctl`, searched where the default
/// places are (the override is for `setup` alone, see [`OVERRIDE`]).
pub(crate) fn find_bindir() -> Option<PathBuf> {
    first_holding(&Places::PostgresServer.defaults(), &["initdb", "pg_ctl"])
}

/// `pgbouncer` on the PATH or in the system `sbin` directories. The PgBouncer
/// test looks the same way.
pub(crate) fn find_pgbouncer() -> Option<PathBuf> {
    first_holding(&Places::SystemSbin.defaults(), &["pgbouncer"]).map(|dir| dir.join("pgbouncer"))
}

fn pg_config_bindir() -> Option<PathBuf> {
    Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

/// `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu), newest version first,
/// then `/usr/local/pgsql/bin` (a build from source).
fn usual_bindirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions
        .into_iter()
        .map(|(_, dir)| dir)
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .collect()
}

fn cargo_bin() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
    Some(home.join("bin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = env::temp_dir().join(format!("xtask-tools-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create a scratch directory");
            Self(dir)
        }

        fn touch(&self, sub: &str, file: &str) -> PathBuf {
            let dir = self.0.join(sub);
            fs::create_dir_all(&dir).expect("create a sub-directory");
            fs::write(dir.join(file), "").expect("write a file");
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn an_override_replaces_every_default_place() {
        let defaults = vec![PathBuf::from("/usr/bin")];
        let joined = env::join_paths(["/a", "/b"]).expect("join");
        assert_eq!(
            search_dirs(Some(joined), defaults.clone()),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(search_dirs(None, defaults.clone()), defaults);
        assert_eq!(
            search_dirs(Some(OsString::new()), defaults.clone()),
            defaults
        );
    }

    #[test]
    fn an_empty_directory_holds_no_postgres_server() {
        let scratch = Scratch::new("empty");
        let dirs = search_dirs(
            Some(scratch.0.clone().into_os_string()),
            Places::PostgresServer.defaults(),
        );
        assert_eq!(dirs, std::slice::from_ref(&scratch.0));
        assert_eq!(first_holding(&dirs, &["initdb", "pg_ctl"]), None);
    }

    #[test]
    fn the_server_is_found_only_where_initdb_and_pg_ctl_sit_together() {
        let scratch = Scratch::new("split");
        let only_initdb = scratch.touch("one", "initdb");
        let only_pg_ctl = scratch.touch("two", "pg_ctl");
        let both = scratch.touch("three", "initdb");
        scratch.touch("three", "pg_ctl");
        let dirs = vec![only_initdb.clone(), only_pg_ctl.clone()];
        assert_eq!(first_holding(&dirs, &["initdb", "pg_ctl"]), None);
        let dirs = vec![only_initdb, only_pg_ctl, both.clone()];
        assert_eq!(first_holding(&dirs, &["initdb", "pg_ctl"]), Some(both));
    }

    #[test]
    fn the_first_directory_that_holds_a_tool_wins() {
        let scratch = Scratch::new("order");
        let first = scratch.touch("first", "curl");
        let second = scratch.touch("second", "curl");
        assert_eq!(
            first_holding(&[first.clone(), second], &["curl"]),
            Some(first)
        );
    }

    #[test]
    fn a_python_module_is_provided_only_where_python3_imports_it() {
        let Some(dir) = first_holding(&path_dirs(), &["python3"]) else {
            panic!("python3 must be on PATH: the tests use it");
        };
        assert!(Places::PythonModule("json").provided_by(&dir));
        assert!(!Places::PythonModule("no_such_module_tenancy").provided_by(&dir));
        let scratch = Scratch::new("python");
        assert!(!Places::PythonModule("json").provided_by(&scratch.0));
        assert!(Places::Path.provided_by(&scratch.0));
    }

    #[test]
    fn a_directory_named_like_the_tool_is_not_the_tool() {
        let scratch = Scratch::new("dir");
        fs::create_dir_all(scratch.0.join("curl")).expect("create a directory");
        assert_eq!(
            first_holding(std::slice::from_ref(&scratch.0), &["curl"]),
            None
        );
    }
}
