//! `cargo xtask setup`, which `cargo xtask ci` runs first: finds every tool the
//! tests and checks need and installs what is missing, so the README's test
//! command works on a fresh machine with nothing set up by hand.
//!
//! Installing takes the package manager each tool is published through: as
//! root, `apt-get update` once and then one `apt-get install -y` for every
//! missing Debian package; pip for PyPI tools (a user-level install when not
//! root and the plain one is refused); `cargo install --locked` for cargo's.
//! When something cannot be installed here (not root, no apt-get, no Python),
//! nothing is installed and setup stops with the one command to run by hand.
//!
//! A later issue's tool (a browser and its driver, say) is one more row of
//! [`TOOLS`].

use std::collections::BTreeSet;
use std::env;
use std::path::PathBuf;
use std::process::Command;

use crate::tools::{self, Places};
use crate::{Cargo, Failure};

/// One tool, how to tell it is installed, and how to install it.
pub(crate) struct Tool {
    /// What a person calls it, in messages.
    name: &'static str,
    /// The files that must sit together in one searched directory.
    files: &'static [&'static str],
    places: Places,
    install: Install,
}

impl Tool {
    /// The first of `dirs` that holds the tool's files, when it provides the
    /// tool: the `python3` that runs must be the one that imports the module.
    fn found_in(&self, dirs: &[PathBuf]) -> Option<PathBuf> {
        tools::first_holding(dirs, self.files).filter(|dir| self.places.provided_by(dir))
    }
}

/// The package that provides a tool, by package manager.
#[derive(Clone, Copy)]
enum Install {
    /// Debian packages, installed with apt-get as root.
    Apt(&'static [&'static str]),
    /// A PyPI requirement, installed with pip.
    Pip(&'static str),
    /// A crate whose binary cargo installs.
    Cargo(&'static str),
}

/// The PostgreSQL server runs the throwaway cluster of the Postgres tests.
pub(crate) const POSTGRES: Tool = Tool {
    name: "the PostgreSQL server (initdb, pg_ctl)",
    files: &["initdb", "pg_ctl"],
    places: Places::PostgresServer,
    install: Install::Apt(&["postgresql", "postgresql-contrib"]),
};

/// The AWS KMS adapter's tests run against a local moto_server, never AWS.
pub(crate) const MOTO: Tool = Tool {
    name: "moto_server",
    files: &["moto_server"],
    places: Places::Path,
    install: Install::Pip("moto[server]"),
};

/// Every tool `cargo xtask ci` needs, in the order they are reported.
pub(crate) const TOOLS: &[Tool] = &[
    POSTGRES,
    // The Postgres adapter's pooled-connection test runs behind PgBouncer.
    Tool {
        name: "PgBouncer",
        files: &["pgbouncer"],
        places: Places::SystemSbin,
        install: Install::Apt(&["pgbouncer"]),
    },
    // The server's tests run the README's quickstart through bash and curl.
    Tool {
        name: "curl",
        files: &["curl"],
        places: Places::Path,
        install: Install::Apt(&["curl"]),
    },
    MOTO,
    // `cargo deny check`: licences, bans, sources (and advisories, see deny.toml).
    Tool {
        name: "cargo-deny",
        files: &["cargo-deny"],
        places: Places::CargoBin,
        install: Install::Cargo("cargo-deny"),
    },
    WEBHOOK_VERIFIER,
    SMTP_SERVER,
    CERTIFICATE_MAKER,
    API_FUZZER,
];

/// The server's tests run schemathesis (PyPI) against the API's own OpenAPI
/// document: no schema-valid request refused, no invalid one accepted.
const API_FUZZER: Tool = Tool {
    name: "the Python module schemathesis",
    files: &["python3"],
    places: Places::PythonModule("schemathesis"),
    install: Install::Pip("schemathesis"),
};

/// The webhook sender's tests verify its signatures with another
/// implementation of Standard Webhooks, the PyPI package's `Webhook.verify`.
const WEBHOOK_VERIFIER: Tool = Tool {
    name: "the Python module standardwebhooks",
    files: &["python3"],
    places: Places::PythonModule("standardwebhooks"),
    install: Install::Pip("standardwebhooks"),
};

/// The SMTP mailer's tests send to a real SMTP server on loopback, PyPI's
/// `aiosmtpd`, started by each test with a handler that prints what arrived.
const SMTP_SERVER: Tool = Tool {
    name: "the Python module aiosmtpd",
    files: &["python3"],
    places: Places::PythonModule("aiosmtpd"),
    install: Install::Pip("aiosmtpd"),
};

/// The SMTP mailer's TLS tests give their server a self-signed certificate,
/// made with PyPI's `cryptography` (moto needs it too, but not by contract).
const CERTIFICATE_MAKER: Tool = Tool {
    name: "the Python module cryptography",
    files: &["python3"],
    places: Places::PythonModule("cryptography"),
    install: Install::Pip("cryptography"),
};

pub(crate) fn command(args: &[String]) -> Result<(), Failure> {
    crate::no_extra_args("setup", args)?;
    ensure(&Cargo::new(), TOOLS)
}

/// Makes sure every one of `wanted` is installed, installing what is missing.
pub(crate) fn ensure(cargo: &Cargo, wanted: &[Tool]) -> Result<(), Failure> {
    eprintln!("\n==> setup: the tools the tests need");
    let override_dirs = env::var_os(tools::OVERRIDE);
    let missing: Vec<&Tool> = wanted
        .iter()
        .filter(|tool| {
            let dirs = tools::search_dirs(override_dirs.clone(), tool.places.defaults());
            match tool.found_in(&dirs) {
                Some(dir) => {
                    eprintln!("{}: {}", tool.name, dir.display());
                    false
                }
                None => true,
            }
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let plan = Plan::of(&missing);
    eprintln!(
        "xtask: not installed: {}",
        missing
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let host = Host::probe();
    if let Some(by_hand) = plan.by_hand(&host) {
        return Err(Failure::Failed(format!(
            "cannot install them here; run this, then run xtask again:\n  {by_hand}"
        )));
    }
    plan.install(cargo, &host)?;
    // Installers put tools in the system's places, so the override, which
    // described the machine before setup, no longer applies.
    let still_missing: Vec<&str> = missing
        .iter()
        .filter(|tool| tool.found_in(&tool.places.defaults()).is_none())
        .map(|tool| tool.name)
        .collect();
    if still_missing.is_empty() {
        eprintln!("xtask: setup installed everything that was missing");
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "installed, but still not found: {}. pip's user scripts go to \
             `python3 -m site --user-base`/bin and cargo's to ~/.cargo/bin: add the \
             directory to PATH",
            still_missing.join(", ")
        )))
    }
}

/// What this machine lets setup do.
struct Host {
    root: bool,
    apt_get: bool,
    python: Option<&'static str>,
}

impl Host {
    fn probe() -> Self {
        Self {
            root: crate::db::is_root(),
            apt_get: tools::first_holding(&Places::Path.defaults(), &["apt-get"]).is_some(),
            python: ["python3", "python"]
                .into_iter()
                .find(|p| Command::new(p).arg("--version").output().is_ok()),
        }
    }
}

/// The packages to install, grouped by package manager.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    apt: BTreeSet<&'static str>,
    pip: BTreeSet<&'static str>,
    cargo: BTreeSet<&'static str>,
}

impl Plan {
    fn of(missing: &[&Tool]) -> Self {
        let mut plan = Self::default();
        for tool in missing {
            match tool.install {
                Install::Apt(packages) => plan.apt.extend(packages),
                Install::Pip(requirement) => {
                    plan.pip.insert(requirement);
                }
                Install::Cargo(krate) => {
                    plan.cargo.insert(krate);
                }
            }
        }
        plan
    }

    fn apt_args(&self) -> Vec<&'static str> {
        let mut args = vec!["install", "-y"];
        args.extend(&self.apt);
        args
    }

    fn pip_args(&self) -> Vec<&'static str> {
        let mut args = vec!["-m", "pip", "install", "--quiet"];
        args.extend(&self.pip);
        args
    }

    fn cargo_args(&self) -> Vec<&'static str> {
        let mut args = vec!["install", "--locked"];
        args.extend(&self.cargo);
        args
    }

    /// `None` when everything can be installed here; else the one command
    /// line that installs all of it by hand.
    fn by_hand(&self, host: &Host) -> Option<String> {
        let apt_possible = self.apt.is_empty() || (host.root && host.apt_get);
        let pip_possible = self.pip.is_empty() || host.python.is_some();
        if apt_possible && pip_possible {
            return None;
        }
        let quote = |arg: &str| {
            if arg.contains('[') {
                format!("'{arg}'")
            } else {
                arg.to_owned()
            }
        };
        let mut commands = Vec::new();
        if !self.apt.is_empty() {
            commands.push(format!("sudo apt-get {}", self.apt_args().join(" ")));
        }
        if !self.pip.is_empty() {
            let args: Vec<String> = self.pip_args().into_iter().map(quote).collect();
            commands.push(format!("python3 {}", args.join(" ")));
        }
        if !self.cargo.is_empty() {
            commands.push(format!("cargo {}", self.cargo_args().join(" ")));
        }
        Some(commands.join(" && "))
    }

    fn install(&self, cargo: &Cargo, host: &Host) -> Result<(), Failure> {
        if !self.apt.is_empty() {
            run(Command::new("apt-get").arg("update"))?;
            run(Command::new("apt-get")
                .args(self.apt_args())
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
        }
        if let (false, Some(python)) = (self.pip.is_empty(), host.python) {
            // A non-root user may not write to the interpreter's own packages;
            // pip's user scheme is then the fallback.
            if run(Command::new(python).args(self.pip_args())).is_err() && !host.root {
                run(Command::new(python).args(self.pip_args()).arg("--user"))?;
            }
        }
        if !self.cargo.is_empty() {
            cargo.step(&self.cargo_args())?;
        }
        Ok(())
    }
}

fn run(command: &mut Command) -> Result<(), Failure> {
    let shown = format!("{command:?}");
    eprintln!("\n==> {shown}");
    let status = command
        .status()
        .map_err(|e| Failure::Failed(format!("could not start {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Failed(format!("{shown} failed ({status})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(root: bool, apt_get: bool, python: bool) -> Host {
        Host {
            root,
            apt_get,
            python: python.then_some("python3"),
        }
    }

    #[test]
    fn one_apt_install_covers_every_missing_debian_package() {
        let missing: Vec<&Tool> = TOOLS.iter().collect();
        let plan = Plan::of(&missing);
        assert_eq!(
            plan.apt_args(),
            [
                "install",
                "-y",
                "curl",
                "pgbouncer",
                "postgresql",
                "postgresql-contrib"
            ]
        );
        assert_eq!(
            plan.pip.iter().copied().collect::<Vec<_>>(),
            [
                "aiosmtpd",
                "cryptography",
                "moto[server]",
                "schemathesis",
                "standardwebhooks"
            ]
        );
        assert_eq!(plan.cargo_args(), ["install", "--locked", "cargo-deny"]);
    }

    #[test]
    fn root_with_apt_get_installs_everything_itself() {
        let plan = Plan::of(&TOOLS.iter().collect::<Vec<_>>());
        assert_eq!(plan.by_hand(&host(true, true, true)), None);
    }

    #[test]
    fn without_root_setup_stops_with_the_one_command_to_run() {
        let plan = Plan::of(&[&POSTGRES, &MOTO]);
        assert_eq!(
            plan.by_hand(&host(false, true, true)).as_deref(),
            Some(
                "sudo apt-get install -y postgresql postgresql-contrib && \
                 python3 -m pip install --quiet 'moto[server]'"
            )
        );
    }

    #[test]
    fn pip_and_cargo_tools_need_no_root() {
        let plan = Plan::of(&[&MOTO, &TOOLS[4]]);
        assert_eq!(plan.by_hand(&host(false, false, true)), None);
        assert!(plan.by_hand(&host(false, false, false)).is_some());
    }

    #[test]
    fn setup_takes_no_arguments() {
        assert!(matches!(
            command(&["now".to_owned()]),
            Err(Failure::Usage(_))
        ));
    }
}
