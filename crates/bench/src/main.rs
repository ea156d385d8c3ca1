//! `tenancy-bench`: measures Tenancy against a bare axum handler, in one run.
//!
//! Every figure it prints is a ratio to, or next to, a baseline measured by the
//! same load generator on the same machine in the same run, so the numbers mean
//! something on any machine. Run it through `cargo xtask bench <scenario>`, which
//! builds the release binaries first.
//!
//! ```text
//! tenancy-bench verify --tenancy <path to the tenancy binary> [options]
//! tenancy-bench bare --verify-body <file> --namespace-body <file>   (the baseline server)
//! ```

mod bare;
mod child;
mod client;
mod invalidation;
mod inventory;
mod load;
mod provision;
mod seed;
mod verify;
mod verify_miss;
mod webhooks;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: tenancy-bench <scenario> [options]

Scenarios:
  verify   key verification over HTTP (POST /v1/keys/verify and an authenticated
           GET /v1/namespace) against a bare axum handler returning the same bodies
    --tenancy PATH       the tenancy binary to start (required)
    --tenants N          tenants to provision (default 1000)
    --keys N             API keys in all, spread over the tenants (default 100000)
    --connections N      concurrent connections of the load generator (default 32)
    --seconds N          measuring time of each run (default 10)
  verify-miss  the cache-miss path (`PgStore::find_key` on PostgreSQL) against
           `pgbench -S`, and the lookup's statement driven by pgbench, on the same
           database (needs TEST_DATABASE_URL: run it through `cargo xtask bench
           verify-miss`)
    --tenants N          tenants to seed (default 10000)
    --keys N             keys to seed, spread over the tenants (default 100000)
    --connections N      concurrent callers and pgbench clients (default 8)
    --seconds N          measuring time of each run (default 10)
    --rounds N           alternating rounds of every run (default 3)
  provision  `Tenancy::provision` on PostgreSQL (tenant, namespace, key, data key
           and audit in one transaction) against pgbench's tpcb-like script on the
           same database (needs TEST_DATABASE_URL: run it through `cargo xtask
           bench provision`)
    --connections N      concurrent callers and pgbench clients (default 8)
    --seconds N          measuring time of each run (default 10)
    --rounds N           alternating rounds of both runs (default 3)
  inventory  tenant listing pages over a large inventory in PostgreSQL, read
           through the store as the runtime role (needs TEST_DATABASE_URL: run it
           through `cargo xtask bench inventory`)
    --tenants N          tenants to load (default 1000000)
    --iterations N       pages measured per case (default 200)
  invalidation  how long a suspension or revocation through one instance takes
           to be refused by another instance on the same database (LISTEN/NOTIFY;
           needs TEST_DATABASE_URL: run it through `cargo xtask bench invalidation`)
    --tenancy PATH       the tenancy binary to start (required)
    --tenants N          changes of each kind (default 200)
  webhooks  outbox to delivery at a fixed event rate, then deliveries/s over a
           burst, to a receiver in this process (PostgreSQL: run it through
           `cargo xtask bench webhooks`)
    --tenancy PATH       the tenancy binary to start (required)
    --rate N             events per second of the latency run (default 200)
    --seconds N          length of the latency run (default 10)
    --burst N            events of the throughput run (default 5000)
  bare     the baseline server (started by `verify` itself)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("verify") => verify::Options::parse(&args[1..]).and_then(verify::run),
        Some("bare") => bare::Options::parse(&args[1..]).and_then(bare::run),
        Some("verify-miss") => verify_miss::Options::parse(&args[1..]).and_then(verify_miss::run),
        Some("provision") => provision::Options::parse(&args[1..]).and_then(provision::run),
        Some("inventory") => inventory::Options::parse(&args[1..]).and_then(inventory::run),
        Some("invalidation") => {
            invalidation::Options::parse(&args[1..]).and_then(invalidation::run)
        }
        Some("webhooks") => webhooks::Options::parse(&args[1..]).and_then(webhooks::run),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing scenario\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tenancy-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--name value` pairs.
pub(crate) fn flags(args: &[String]) -> Result<Vec<(&str, &str)>, String> {
    args.chunks(2)
        .map(|pair| match pair {
            [name, value] if name.starts_with("--") => Ok((&name[2..], value.as_str())),
            _ => Err(format!("expected `--name value` pairs, got {pair:?}")),
        })
        .collect()
}

/// How the scenarios that alternate with pgbench measure: `connections`
/// concurrent callers (and as many pgbench clients), `seconds` per
/// measurement, `rounds` rounds (`--connections`, `--seconds`, `--rounds`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measuring {
    pub(crate) connections: u64,
    pub(crate) seconds: u64,
    pub(crate) rounds: u64,
}

impl Measuring {
    pub(crate) const DEFAULT: Self = Self {
        connections: 8,
        seconds: 10,
        rounds: 3,
    };

    /// Takes the option `name` if it is one of these (`Ok(false)` if not).
    pub(crate) fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let field = match name {
            "connections" => &mut self.connections,
            "seconds" => &mut self.seconds,
            "rounds" => &mut self.rounds,
            _ => return Ok(false),
        };
        *field = number(name, value)?;
        Ok(true)
    }

    /// Whether any of them is zero.
    pub(crate) fn has_zero(&self) -> bool {
        self.connections == 0 || self.seconds == 0 || self.rounds == 0
    }
}

pub(crate) fn number(name: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("--{name} takes a whole number, got {value:?}"))
}

/// The rate at which `workers` count into `done`: after a 2 s warm-up, over
/// `seconds`; then raises `stop` and waits for them (the first error wins).
pub(crate) async fn rate_of(
    workers: Vec<tokio::task::JoinHandle<Result<(), String>>>,
    stop: &std::sync::atomic::AtomicBool,
    done: &std::sync::atomic::AtomicU64,
    seconds: u64,
) -> Result<f64, String> {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let counted = done.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    Ok(counted as f64 / elapsed.as_secs_f64())
}
