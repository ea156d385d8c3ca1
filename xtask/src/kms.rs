//! `cargo xtask kms tools`: the AWS KMS adapter's tests run against a local
//! `moto_server` (PyPI package `moto[server]`). This finds it on PATH and, when
//! it is missing, installs it with pip, so a fresh machine needs no hand setup.

use std::env;
use std::path::PathBuf;
use std::process::Command;

use crate::Failure;

/// What pip installs.
const PACKAGE: &str = "moto[server]";

pub(crate) fn command(args: &[String]) -> Result<(), Failure> {
    match args {
        [sub] if sub == "tools" => tools(),
        [sub, extra, ..] if sub == "tools" => Err(Failure::Usage(format!(
            "`kms tools` takes no arguments (got `{extra}`)"
        ))),
        [] => Err(Failure::Usage("`kms` needs a command: tools".into())),
        [other, ..] => Err(Failure::Usage(format!("unknown `kms` command `{other}`"))),
    }
}

fn tools() -> Result<(), Failure> {
    if let Some(found) = find_moto() {
        eprintln!("moto_server: {}", found.display());
        return Ok(());
    }
    eprintln!("xtask: moto_server is not on PATH: installing `{PACKAGE}` with pip");
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .ok_or_else(|| {
            Failure::Failed(format!(
                "moto_server is missing and no python3 was found to install it: install \
                 Python 3 and pip, then `pip install '{PACKAGE}'`"
            ))
        })?;
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--quiet", PACKAGE])
        .status()
        .map_err(|e| Failure::Failed(format!("could not run pip: {e}")))?;
    if !status.success() {
        return Err(Failure::Failed(format!(
            "`{python} -m pip install '{PACKAGE}'` failed ({status})"
        )));
    }
    match find_moto() {
        Some(found) => {
            eprintln!("moto_server: {}", found.display());
            Ok(())
        }
        None => Err(Failure::Failed(format!(
            "pip installed `{PACKAGE}` but moto_server is still not on PATH: add pip's \
             scripts directory (`{python} -m site --user-base`/bin) to PATH"
        ))),
    }
}

/// `moto_server` in a directory of PATH.
fn find_moto() -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn kms_needs_the_tools_command_without_arguments() {
        assert!(matches!(command(&args(&[])), Err(Failure::Usage(_))));
        assert!(matches!(command(&args(&["up"])), Err(Failure::Usage(_))));
        assert!(matches!(
            command(&args(&["tools", "now"])),
            Err(Failure::Usage(_))
        ));
    }
}
