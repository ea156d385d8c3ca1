//! `cargo xtask db up|down|reset|url|tools`: a throwaway PostgreSQL cluster for
//! the Postgres tests, under `target/tenancy-pg`, run with the PostgreSQL
//! binaries installed on the machine.
//!
//! The cluster trusts every local connection (it holds nothing but test
//! databases), listens on a loopback port of its own (54329, or the next free
//! one) and on a Unix socket inside its directory, and trades durability for
//! speed (`fsync = off`). Its superuser is `postgres`, so its URL is
//! `postgres://postgres@127.0.0.1:<port>/postgres`.
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root. As root, the cluster
//! directory is handed to an unprivileged user (`postgres` when it exists, else
//! `nobody`) and every server command runs as that user through `runuser`.
//!
//! With `DATABASE_URL` set, the tests use that server instead: `up` starts
//! nothing and `url` prints it.

use std::env;
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{find_bindir, find_pgbouncer};
use crate::{Cargo, Failure};

/// The cluster's first choice of port, and how many after it to try.
const FIRST_PORT: u16 = 54329;
const PORTS_TO_TRY: u16 = 100;

/// The variables that name a server for the tests, in the order the tests read them.
pub(crate) const SERVER_VARIABLES: [&str; 2] = ["TEST_DATABASE_URL", "DATABASE_URL"];

pub(crate) fn command(cargo: &Cargo, args: &[String]) -> Result<(), Failure> {
    let Some((sub, rest)) = args.split_first() else {
        return Err(Failure::Usage(
            "`db` needs a command: up, down, reset, url or tools".into(),
        ));
    };
    if let Some(arg) = rest.first() {
        return Err(Failure::Usage(format!(
            "`db {sub}` takes no arguments (got `{arg}`)"
        )));
    }
    match sub.as_str() {
        "up" => {
            if let Some(url) = configured("DATABASE_URL") {
                eprintln!(
                    "xtask: DATABASE_URL is set: the tests use that server; nothing to start"
                );
                println!("{url}");
                return Ok(());
            }
            let cluster = Cluster::locate(cargo)?;
            cluster.up()?;
            println!("{}", cluster.url()?);
            Ok(())
        }
        "down" => Cluster::locate(cargo)?.down(),
        "reset" => {
            let cluster = Cluster::locate(cargo)?;
            cluster.down()?;
            cluster.wipe()?;
            if configured("DATABASE_URL").is_none() {
                cluster.up()?;
                println!("{}", cluster.url()?);
            }
            Ok(())
        }
        "url" => {
            if let Some(url) = configured("DATABASE_URL") {
                println!("{url}");
                return Ok(());
            }
            let cluster = Cluster::locate(cargo)?;
            let url = cluster.url()?;
            if !cluster.is_running()? {
                eprintln!("xtask: the cluster is not running: `cargo xtask db up` starts it");
            }
            println!("{url}");
            Ok(())
        }
        "tools" => tools(),
        other => Err(Failure::Usage(format!("unknown `db` command `{other}`"))),
    }
}

/// A variable's value when it is set and not empty.
pub(crate) fn configured(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.is_empty())
}

/// Prints where the server binaries and PgBouncer are; fails naming what is missing.
fn tools() -> Result<(), Failure> {
    let bindir = find_bindir();
    let pgbouncer = find_pgbouncer();
    if let Some(dir) = &bindir {
        eprintln!("initdb, pg_ctl: {}", dir.display());
    }
    if let Some(path) = &pgbouncer {
        eprintln!("pgbouncer: {}", path.display());
    }
    match (bindir, pgbouncer) {
        (Some(_), Some(_)) => Ok(()),
        (bindir, pgbouncer) => {
            let missing: Vec<&str> = [
                bindir
                    .is_none()
                    .then_some("the PostgreSQL server (initdb, pg_ctl)"),
                pgbouncer.is_none().then_some("PgBouncer"),
            ]
            .into_iter()
            .flatten()
            .collect();
            Err(Failure::Failed(format!(
                "not installed: {} (`cargo xtask setup` installs them)",
                missing.join(" and ")
            )))
        }
    }
}

/// The unprivileged user server commands run as when xtask runs as root.
struct User {
    name: String,
    owner: String,
}

pub(crate) struct Cluster {
    dir: PathBuf,
    bindir: PathBuf,
    run_as: Option<User>,
}

/// Where the cluster lives: `target/tenancy-pg`, unless (as root) the
/// unprivileged user that runs the server cannot reach the workspace, as when it
/// was cloned into a private directory (`mktemp -d`, a CI runner's home). Then a
/// directory of its own under the system temp dir, named after the workspace so
/// each checkout keeps one cluster and `db down` finds it again.
fn cluster_dir(cargo: &Cargo, run_as: Option<&User>) -> PathBuf {
    let in_target = cargo.target_dir().join("tenancy-pg");
    let Some(user) = run_as else {
        return in_target;
    };
    // `test -x` on the workspace root needs every parent to let the user through.
    let reachable = Command::new("runuser")
        .args(["-u", &user.name, "--", "test", "-x"])
        .arg(&cargo.root)
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        return in_target;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    cargo.root.hash(&mut hasher);
    env::temp_dir().join(format!("tenancy-pg-{:016x}", hasher.finish()))
}

impl Cluster {
    pub(crate) fn locate(cargo: &Cargo) -> Result<Self, Failure> {
        let bindir = find_bindir().ok_or_else(|| {
            Failure::Failed(
                "no PostgreSQL server binaries (initdb, pg_ctl) found through `pg_config --bindir`, \
                 the PATH or the usual install places. `cargo xtask setup` \
                 installs them, or set DATABASE_URL \
                 to a server of your own."
                    .into(),
            )
        })?;
        let run_as = if is_root() {
            Some(unprivileged_user()?)
        } else {
            None
        };
        let dir = cluster_dir(cargo, run_as.as_ref());
        Ok(Self {
            dir,
            bindir,
            run_as,
        })
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn port_file(&self) -> PathBuf {
        self.dir.join("port")
    }

    fn is_initialised(&self) -> bool {
        self.data().join("PG_VERSION").is_file()
    }

    /// Initialises the cluster if needed and starts it if stopped. Returns
    /// whether it started it (false: it was running already).
    pub(crate) fn up(&self) -> Result<bool, Failure> {
        if !self.is_initialised() {
            self.init()?;
        } else if self.is_running()? {
            eprintln!("xtask: the cluster in {} is running", self.dir.display());
            return Ok(false);
        }
        self.start()?;
        Ok(true)
    }

    pub(crate) fn down(&self) -> Result<(), Failure> {
        if !self.is_initialised() {
            eprintln!(
                "xtask: no cluster in {}: nothing to stop",
                self.dir.display()
            );
            return Ok(());
        }
        if !self.is_running()? {
            eprintln!(
                "xtask: the cluster in {} is not running",
                self.dir.display()
            );
            return Ok(());
        }
        eprintln!("==> stopping the cluster in {}", self.dir.display());
        let data = self.data();
        self.run_server_command(
            "pg_ctl",
            &["stop", "-D", path_str(&data)?, "-m", "fast", "-w"],
        )
    }

    fn wipe(&self) -> Result<(), Failure> {
        if self.dir.exists() {
            eprintln!("==> removing {}", self.dir.display());
            fs::remove_dir_all(&self.dir).map_err(|e| {
                Failure::Failed(format!("could not remove {}: {e}", self.dir.display()))
            })?;
        }
        Ok(())
    }

    pub(crate) fn url(&self) -> Result<String, Failure> {
        let port = fs::read_to_string(self.port_file()).map_err(|_| {
            Failure::Failed(format!(
                "no cluster in {} yet: `cargo xtask db up` creates and starts it",
                self.dir.display()
            ))
        })?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            port.trim()
        ))
    }

    pub(crate) fn is_running(&self) -> Result<bool, Failure> {
        let data = self.data();
        // `pg_ctl status` exits 0 when running, 3 when not, 4 without a data directory.
        let status = self
            .server_command("pg_ctl", &["status", "-D", path_str(&data)?])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| Failure::Failed(format!("could not run pg_ctl: {e}")))?;
        Ok(status.success())
    }

    fn init(&self) -> Result<(), Failure> {
        // A directory without PG_VERSION is an initdb that did not finish.
        self.wipe()?;
        fs::create_dir_all(self.dir.join("socket")).map_err(|e| {
            Failure::Failed(format!("could not create {}: {e}", self.dir.display()))
        })?;
        self.hand_over()?;
        eprintln!("==> initdb: a new cluster in {}", self.dir.display());
        let data = self.data();
        let data = path_str(&data)?;
        let initdb = |locale: &str| {
            self.run_server_command(
                "initdb",
                &[
                    "-D",
                    data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    locale,
                    "--no-sync",
                ],
            )
        };
        // C.UTF-8 gives byte-order collation with Unicode-aware lower() (the
        // inventory's case-insensitive search); a system without it gets C.
        if initdb("--locale=C.UTF-8").is_err() {
            eprintln!("xtask: retrying initdb without the C.UTF-8 locale");
            let _ = fs::remove_dir_all(self.data());
            initdb("--no-locale")?;
        }
        self.configure()
    }

    /// Appends the throwaway settings to `postgresql.conf` (later lines win).
    fn configure(&self) -> Result<(), Failure> {
        let socket = self.dir.join("socket");
        let socket = path_str(&socket)?;
        // A Unix socket path is limited to about 100 bytes on Linux and
        // macOS; with a deep workspace, TCP on loopback has to do.
        let sockets = if socket.len() + ".s.PGSQL.54329".len() < 100 {
            socket.replace('\'', "''")
        } else {
            eprintln!("xtask: {socket} is too long for a Unix socket; TCP only");
            String::new()
        };
        let settings = format!(
            "\n# Added by `cargo xtask db up`: a throwaway cluster for tests, fast rather\n\
             # than durable. Its port is given at start (`pg_ctl -o -p`).\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{sockets}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 200\n"
        );
        let conf = self.data().join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)
            .map_err(|e| Failure::Failed(format!("could not read {}: {e}", conf.display())))?;
        text.push_str(&settings);
        fs::write(&conf, text)
            .map_err(|e| Failure::Failed(format!("could not write {}: {e}", conf.display())))
    }

    fn start(&self) -> Result<(), Failure> {
        let port = self.choose_port()?;
        eprintln!(
            "==> starting PostgreSQL on 127.0.0.1:{port} from {}",
            self.dir.display()
        );
        let data = self.data();
        let log = self.dir.join("server.log");
        let options = format!("-p {port}");
        let started = self.run_server_command(
            "pg_ctl",
            &[
                "start",
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-w",
                "-t",
                "60",
                "-o",
                &options,
            ],
        );
        if let Err(Failure::Failed(message)) = started {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Failure::Failed(format!(
                "{message}\nlast lines of {}:\n{}\n(a cluster made by another PostgreSQL \
                 version cannot start: `cargo xtask db reset` makes a new one)",
                log.display(),
                tail.join("\n")
            )));
        }
        fs::write(self.port_file(), port.to_string())
            .map_err(|e| Failure::Failed(format!("could not record the port: {e}")))
    }

    /// The port used last time if it is still free, else the first free one
    /// from [`FIRST_PORT`] on.
    fn choose_port(&self) -> Result<u16, Failure> {
        let previous = fs::read_to_string(self.port_file())
            .ok()
            .and_then(|p| p.trim().parse().ok());
        previous
            .into_iter()
            .chain(FIRST_PORT..FIRST_PORT + PORTS_TO_TRY)
            .find(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).is_ok())
            .ok_or_else(|| {
                Failure::Failed(format!(
                    "no free loopback port in {FIRST_PORT}..{}",
                    FIRST_PORT + PORTS_TO_TRY
                ))
            })
    }

    /// As root: gives the cluster directory to the unprivileged user and checks
    /// that the user can reach it (every parent directory must let it through).
    fn hand_over(&self) -> Result<(), Failure> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        run(Command::new("chown")
            .arg("-R")
            .arg(&user.owner)
            .arg(&self.dir))?;
        let reachable = Command::new("runuser")
            .args(["-u", &user.name, "--", "test", "-w"])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if reachable {
            Ok(())
        } else {
            Err(Failure::Failed(format!(
                "running as root, the cluster runs as `{}`, who cannot write to {}: a parent \
                 directory is closed to other users. Move the workspace (or CARGO_TARGET_DIR) \
                 somewhere they can reach, or set DATABASE_URL to a server of your own.",
                user.name,
                self.dir.display()
            )))
        }
    }

    /// `program` from the server's bin directory, as the unprivileged user
    /// when running as root, from the cluster directory.
    fn server_command(&self, program: &str, args: &[&str]) -> Command {
        let binary = self.bindir.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", &user.name, "--"]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command.args(args);
        if self.dir.is_dir() {
            command.current_dir(&self.dir);
        }
        command
    }

    /// Runs a server command; its chatter on stdout is dropped, since this
    /// command's stdout carries only the URL (errors arrive on stderr).
    fn run_server_command(&self, program: &str, args: &[&str]) -> Result<(), Failure> {
        run(self.server_command(program, args).stdout(Stdio::null()))
    }
}

fn run(command: &mut Command) -> Result<(), Failure> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|e| Failure::Failed(format!("could not start {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::Failed(format!("{shown} failed ({status})")))
    }
}

fn path_str(path: &Path) -> Result<&str, Failure> {
    path.to_str()
        .ok_or_else(|| Failure::Failed(format!("{} is not valid UTF-8", path.display())))
}

fn id(args: &[&str]) -> Option<String> {
    let output = Command::new("id")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

pub(crate) fn is_root() -> bool {
    id(&["-u"]).as_deref() == Some("0")
}

/// `postgres` when the system has that user (a PostgreSQL package made it),
/// else `nobody`.
fn unprivileged_user() -> Result<User, Failure> {
    for name in ["postgres", "nobody"] {
        if let (Some(uid), Some(gid)) = (id(&["-u", name]), id(&["-g", name])) {
            if Command::new("runuser").arg("--help").output().is_err() {
                return Err(Failure::Failed(
                    "running as root, the cluster must run as another user, which needs \
                     `runuser` (util-linux); or set DATABASE_URL to a server of your own"
                        .into(),
                ));
            }
            return Ok(User {
                name: name.to_owned(),
                owner: format!("{uid}:{gid}"),
            });
        }
    }
    Err(Failure::Failed(
        "running as root, the cluster must run as an unprivileged user, and neither \
         `postgres` nor `nobody` exists; or set DATABASE_URL to a server of your own"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_needs_a_known_command_without_arguments() {
        let cargo = Cargo::new();
        let args = |raw: &[&str]| raw.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(matches!(command(&cargo, &[]), Err(Failure::Usage(_))));
        assert!(matches!(
            command(&cargo, &args(&["drop"])),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(
            command(&cargo, &args(&["up", "--now"])),
            Err(Failure::Usage(_))
        ));
    }
}
