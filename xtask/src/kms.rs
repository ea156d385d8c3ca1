//! `cargo xtask kms tools`: the AWS KMS adapter's tests run against a local
//! `moto_server` (PyPI package `moto[server]`). This finds it on PATH and, when
//! it is missing, installs it with pip, as `cargo xtask setup` does for every tool.

use crate::{Cargo, Failure, setup};

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

/// The same lookup and install as `cargo xtask setup`, for moto alone.
fn tools() -> Result<(), Failure> {
    setup::ensure(&Cargo::new(), &[setup::MOTO])
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
