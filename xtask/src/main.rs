//! Project automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`). Standard library only, so it builds in seconds and
//! never drifts with the workspace's dependencies.
//!
//! Every command is one arm of the `match` in [`run`]; a new one slots in the
//! same way. The tools the commands need are found in `tools.rs` and installed
//! by `setup.rs`.

mod db;
mod kms;
mod purity;
mod setup;
mod tools;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
Usage: cargo xtask <command> [args]

Commands:
  ci        what CI runs, in order, stopping at the first failure: `setup`,
              formatting, domain purity, `cargo deny check`, clippy and
              `cargo doc` (warnings are errors), every test
  setup     finds the tools the tests need (the PostgreSQL server, PgBouncer,
              curl, moto_server, cargo-deny, Python's standardwebhooks,
              aiosmtpd, cryptography and schemathesis) and
              installs what is missing: as root with apt-get, with pip, with
              `cargo install --locked`; otherwise stops with the one command to
              run. XTASK_TOOL_DIRS (PATH syntax), when set, is where it looks
              instead of the PATH and the usual places, to try the installs on a
              machine that has the tools
  test      every test of the workspace (`cargo test --workspace --locked`);
              extra args are passed on, e.g. `cargo xtask test -p domain -- lifecycle`
              (with `-p`, only those packages). `ci` and `test` give the Postgres tests
              a server: TEST_DATABASE_URL or DATABASE_URL when set, else the throwaway
              cluster (`db up` before, `db down` after if they started it)
  db up     start a throwaway PostgreSQL cluster in target/tenancy-pg (created on
              first use, with the installed server binaries) and print its URL;
              does nothing when DATABASE_URL is set
  db down   stop it
  db reset  stop it, delete it and start a new one
  db url    print its URL (or DATABASE_URL), e.g.
              `export TEST_DATABASE_URL=$(cargo xtask db url)`
  db tools  where initdb, pg_ctl and pgbouncer are; fails if one is missing
  kms tools where moto_server is (the AWS KMS tests' local stand-in for AWS);
              installs PyPI's `moto[server]` with pip when it is missing
  purity    fail if the domain crate depends, even indirectly, on an I/O or
              runtime crate (tokio, sqlx, axum, hyper, reqwest, tower, mio)
  bench verify [options]
            builds release binaries, starts `tenancy serve` and a bare axum
              baseline, seeds 1,000 tenants and 100,000 keys, and prints
              requests/s, p50, p99 and the ratios (options: `tenancy-bench help`);
              then the cache-miss path on PostgreSQL against `pgbench -S`
  bench inventory [--tenants N]
            loads 1,000,000 tenants into a fresh database (the throwaway cluster
              unless a server is configured) and prints p50/p99 per inventory page
              read through the store as the runtime role
  bench verify-miss [--rounds N]
            the verification cache-miss path on PostgreSQL against `pgbench -S`
              on the same database
  bench provision [--connections N] [--seconds N] [--rounds N]
            `Tenancy::provision` on PostgreSQL against pgbench's tpcb-like
              script on the same database
  bench invalidation
            two `tenancy serve` instances on one database: the delay from a
              suspension or revocation through one to the other refusing the key
  bench webhooks [--rate N] [--seconds N] [--burst N]
            one `tenancy serve` on PostgreSQL and a local receiver: outbox-to-
              delivery delay at a fixed event rate, then deliveries/s over a burst
  bench micro
            the criterion micro-benchmarks (`cargo bench -p bench --bench verify`)
  help      this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("xtask: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command did not succeed.
#[derive(Debug)]
enum Failure {
    /// The command line was wrong: usage is printed and the exit code is 2.
    Usage(String),
    /// A step ran and failed; the message says which.
    Failed(String),
}

fn run(args: &[String]) -> Result<(), Failure> {
    let Some((command, rest)) = args.split_first() else {
        return Err(Failure::Usage("no command given".to_owned()));
    };
    match command.as_str() {
        "ci" => {
            no_extra_args("ci", rest)?;
            ci()
        }
        "setup" => setup::command(rest),
        "test" => test(rest),
        "db" => db::command(&Cargo::new(), rest),
        "kms" => kms::command(rest),
        "purity" => {
            no_extra_args("purity", rest)?;
            purity::check(&Cargo::new())
        }
        "bench" => bench(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(Failure::Usage(format!("unknown command `{other}`"))),
    }
}

fn no_extra_args(command: &str, rest: &[String]) -> Result<(), Failure> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Failure::Usage(format!(
            "`{command}` takes no arguments (got `{arg}`)"
        ))),
    }
}

/// Mirrors CI. Setup comes first so a fresh machine needs nothing by hand; then
/// the cheap checks, so a formatting slip fails in seconds, not after a full build.
fn ci() -> Result<(), Failure> {
    let cargo = Cargo::new();
    setup::ensure(&cargo, setup::TOOLS)?;
    cargo.step(&["fmt", "--all", "--check"])?;
    purity::check(&cargo)?;
    cargo.step(&DENY)?;
    cargo.step(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    let mut doc = Cargo::new();
    doc.env.push(("RUSTDOCFLAGS".into(), "-D warnings".into()));
    doc.step(&["doc", "--no-deps", "--workspace", "--locked"])?;
    with_test_database(cargo, |cargo| {
        cargo.step(&["test", "--workspace", "--locked"])
    })?;
    eprintln!("\nxtask: ci passed");
    Ok(())
}

/// `cargo deny check` of everything deny.toml checks but the RUSTSEC advisories:
/// cargo-deny fetches their database from GitHub, which CI's machine cannot
/// reach (deny.toml says more).
const DENY: [&str; 5] = ["deny", "check", "licenses", "bans", "sources"];

fn test(extra: &[String]) -> Result<(), Failure> {
    let args = test_args(extra);
    with_test_database(Cargo::new(), |cargo| cargo.step(&args))
}

/// `cargo test --workspace --locked` and `extra`, without `--workspace` when
/// `extra` picks packages (cargo would ignore the pick).
fn test_args(extra: &[String]) -> Vec<&str> {
    let picks_packages = extra
        .iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.starts_with("-p") || arg.starts_with("--package"));
    let mut args = vec!["test"];
    if !picks_packages {
        args.push("--workspace");
    }
    args.push("--locked");
    args.extend(extra.iter().map(String::as_str));
    args
}

/// Runs `steps` with a PostgreSQL server for the Postgres tests: the one the
/// environment names, else the throwaway cluster, whose URL goes to the tests
/// as `TEST_DATABASE_URL`. A cluster started here is stopped afterwards, so
/// nothing keeps running that was not running before.
fn with_test_database(
    mut cargo: Cargo,
    steps: impl FnOnce(&Cargo) -> Result<(), Failure>,
) -> Result<(), Failure> {
    if db::SERVER_VARIABLES
        .iter()
        .any(|name| db::configured(name).is_some())
    {
        return steps(&cargo);
    }
    let cluster = db::Cluster::locate(&cargo)?;
    let started = cluster.up()?;
    cargo.env.push(("TEST_DATABASE_URL".into(), cluster.url()?));
    let outcome = steps(&cargo);
    if started {
        cluster.down()?;
    }
    outcome
}

/// Benchmarks are always built in release mode: debug figures mean nothing.
/// Scenarios that need PostgreSQL get it as `with_test_database` gives it to tests.
fn bench(args: &[String]) -> Result<(), Failure> {
    let cargo = Cargo::new();
    let Some((scenario, rest)) = args.split_first() else {
        return Err(Failure::Usage(
            "`bench` needs a scenario: verify, verify-miss, provision, inventory, invalidation, \
             webhooks or micro"
                .into(),
        ));
    };
    let scenario = scenario.as_str();
    if scenario == "micro" {
        let mut args = vec!["bench", "--locked", "-p", "bench", "--bench", "verify"];
        args.extend(rest.iter().map(String::as_str));
        return cargo.step(&args);
    }
    if ![
        "verify",
        "verify-miss",
        "provision",
        "inventory",
        "invalidation",
        "webhooks",
    ]
    .contains(&scenario)
    {
        return Err(Failure::Usage(format!("unknown benchmark `{scenario}`")));
    }
    cargo.step(&[
        "build",
        "--release",
        "--locked",
        "--bin",
        "tenancy",
        "--bin",
        "tenancy-bench",
    ])?;
    let release = cargo.target_dir().join("release");
    let bench = BenchBinary {
        program: release.join("tenancy-bench"),
        tenancy: release.join("tenancy"),
    };
    match scenario {
        // Over HTTP on the in-memory store, then (docs/benchmarks.md#targets) the cache-miss path
        // on PostgreSQL against `pgbench -S`.
        "verify" => {
            bench.run(&[], "verify", true, rest)?;
            with_test_database(cargo, |cargo| {
                bench.run(&cargo.env, "verify-miss", false, &[])
            })
        }
        "invalidation" | "webhooks" => {
            with_test_database(cargo, |cargo| bench.run(&cargo.env, scenario, true, rest))
        }
        _ => with_test_database(cargo, |cargo| bench.run(&cargo.env, scenario, false, rest)),
    }
}

/// The release `tenancy-bench` and the `tenancy` binary it starts.
struct BenchBinary {
    program: PathBuf,
    tenancy: PathBuf,
}

impl BenchBinary {
    fn run(
        &self,
        env: &[(String, String)],
        scenario: &str,
        with_tenancy: bool,
        rest: &[String],
    ) -> Result<(), Failure> {
        let mut command = Command::new(&self.program);
        command.arg(scenario);
        if with_tenancy {
            command.arg("--tenancy").arg(&self.tenancy);
        }
        let status = command
            .args(rest)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .status()
            .map_err(|e| Failure::Failed(format!("could not start tenancy-bench: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure::Failed(format!(
                "the `{scenario}` benchmark failed ({status})"
            )))
        }
    }
}

/// The cargo that runs us (cargo sets `CARGO` for `cargo run`), run from the
/// workspace root whatever the caller's working directory.
struct Cargo {
    program: PathBuf,
    root: PathBuf,
    /// Variables set for every cargo it runs.
    env: Vec<(String, String)>,
}

impl Cargo {
    fn new() -> Self {
        let program = env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        // xtask sits one level below the workspace root.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives inside the workspace")
            .to_path_buf();
        Self {
            program,
            root,
            env: Vec::new(),
        }
    }

    /// Where cargo builds: `CARGO_TARGET_DIR`, else `target/` in the workspace.
    fn target_dir(&self) -> PathBuf {
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| self.root.join("target"), PathBuf::from)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .current_dir(&self.root)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs `cargo <args>` with inherited output; a non-zero exit is a failure
    /// that names the step.
    fn step(&self, args: &[&str]) -> Result<(), Failure> {
        let shown = format!("cargo {}", args.join(" "));
        eprintln!("\n==> {shown}");
        let status = self
            .command(args)
            .status()
            .map_err(|e| Failure::Failed(format!("could not start `{shown}`: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Failure::Failed(format!("`{shown}` failed ({status})")))
        }
    }

    /// Runs `cargo <args>` and returns its standard output; stderr passes through.
    fn output(&self, args: &[&str]) -> Result<String, Failure> {
        let shown = format!("cargo {}", args.join(" "));
        let output = self
            .command(args)
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| Failure::Failed(format!("could not start `{shown}`: {e}")))?;
        if !output.status.success() {
            return Err(Failure::Failed(format!(
                "`{shown}` failed ({})",
                output.status
            )));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| Failure::Failed(format!("`{shown}` printed something that is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        assert!(matches!(run(&args(&["deploy"])), Err(Failure::Usage(_))));
        assert!(matches!(run(&args(&[])), Err(Failure::Usage(_))));
    }

    #[test]
    fn test_runs_the_whole_workspace_unless_packages_are_picked() {
        let all = args(&["--", "lifecycle"]);
        assert_eq!(
            test_args(&all),
            ["test", "--workspace", "--locked", "--", "lifecycle"]
        );
        let one = args(&["-p", "domain"]);
        assert_eq!(test_args(&one), ["test", "--locked", "-p", "domain"]);
        let glued = args(&["--package=domain"]);
        assert_eq!(test_args(&glued), ["test", "--locked", "--package=domain"]);
        let after_separator = args(&["--", "-p"]);
        assert_eq!(
            test_args(&after_separator),
            ["test", "--workspace", "--locked", "--", "-p"]
        );
    }

    #[test]
    fn ci_and_purity_refuse_extra_arguments() {
        assert!(matches!(
            run(&args(&["ci", "--fast"])),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(
            run(&args(&["purity", "x"])),
            Err(Failure::Usage(_))
        ));
    }
}
