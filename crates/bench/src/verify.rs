//! The verification scenario (docs/benchmarks.md#targets): Tenancy's `POST /v1/keys/verify` and an
//! authenticated `GET /v1/namespace`, against a bare axum handler returning the
//! same bodies, all driven by the same generator in the same run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use serde_json::json;

use crate::child::Server;
use crate::client::{Call, Connection};
use crate::load::{self, Outcome};
use crate::seed::{self, ADMIN_TOKEN};

pub struct Options {
    tenancy: PathBuf,
    tenants: usize,
    keys: usize,
    connections: usize,
    seconds: u64,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            tenancy: PathBuf::new(),
            tenants: 1_000,
            keys: 100_000,
            connections: 32,
            seconds: 10,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "tenancy" => options.tenancy = PathBuf::from(value),
                "tenants" => options.tenants = crate::number(name, value)? as usize,
                "keys" => options.keys = crate::number(name, value)? as usize,
                "connections" => options.connections = crate::number(name, value)? as usize,
                "seconds" => options.seconds = crate::number(name, value)?,
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.tenancy.as_os_str().is_empty() {
            return Err("--tenancy is required".into());
        }
        if options.tenants == 0 || options.keys < options.tenants || options.connections == 0 {
            return Err("need at least one tenant, one key per tenant and one connection".into());
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

async fn scenario(o: Options) -> Result<(), String> {
    let mut command = Command::new(&o.tenancy);
    command
        .arg("serve")
        .env("TENANCY_LISTEN", "127.0.0.1:0")
        .env("TENANCY_ADMIN_TOKEN", ADMIN_TOKEN)
        // Quiet, but for the `listening on` line the harness waits for.
        .env("TENANCY_LOG", "warn,tenancy=info")
        .env_remove("DATABASE_URL");
    let tenancy = Server::start(command)?;
    let idle_rss = tenancy.rss_kib();
    eprintln!("seeding {} tenants and {} keys…", o.tenants, o.keys);
    let secrets = seed::seed(tenancy.address, o.tenants, o.keys, o.connections).await?;
    let seeded_rss = tenancy.rss_kib();

    // The baseline answers with exactly the bodies Tenancy answers with.
    let mut probe = Connection::open(tenancy.address).await?;
    let verify_calls: Vec<Call> = secrets
        .iter()
        .map(|s| Call::json(Method::POST, "/v1/keys/verify", None, &json!({ "key": s })))
        .collect();
    let namespace_calls: Vec<Call> = secrets
        .iter()
        .map(|s| {
            Call::json(
                Method::GET,
                "/v1/namespace",
                Some(s),
                &serde_json::Value::Null,
            )
        })
        .collect();
    let (_, verify_body) = probe.send(&verify_calls[0]).await?;
    let (_, namespace_body) = probe.send(&namespace_calls[0]).await?;
    let dir = std::env::temp_dir().join(format!("tenancy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (verify_file, namespace_file) = (dir.join("verify.json"), dir.join("namespace.json"));
    std::fs::write(&verify_file, &verify_body).map_err(|e| e.to_string())?;
    std::fs::write(&namespace_file, &namespace_body).map_err(|e| e.to_string())?;
    let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    command
        .arg("bare")
        .arg("--verify-body")
        .arg(&verify_file)
        .arg("--namespace-body")
        .arg(&namespace_file);
    let bare = Server::start(command)?;

    let verify_calls = Arc::new(verify_calls);
    let namespace_calls = Arc::new(namespace_calls);
    let warmup = Duration::from_secs(2);
    let measure = Duration::from_secs(o.seconds);
    let closed = |server: &Server, calls: &Arc<Vec<Call>>| {
        load::run(
            server.address,
            Arc::clone(calls),
            o.connections,
            warmup,
            measure,
            None,
        )
    };

    eprintln!("measuring at the maximum rate…");
    let bare_verify = closed(&bare, &verify_calls).await?;
    let tenancy_verify = closed(&tenancy, &verify_calls).await?;
    let bare_namespace = closed(&bare, &namespace_calls).await?;
    let tenancy_namespace = closed(&tenancy, &namespace_calls).await?;
    let half = tenancy_verify.rate() / 2.0;
    eprintln!("measuring latency at half of Tenancy's maximum ({half:.0} requests/s)…");
    let tenancy_half = load::run(
        tenancy.address,
        Arc::clone(&verify_calls),
        o.connections,
        warmup,
        measure,
        Some(half),
    )
    .await?;
    let bare_half = load::run(
        bare.address,
        Arc::clone(&verify_calls),
        o.connections,
        warmup,
        measure,
        Some(half),
    )
    .await?;
    let loaded_rss = tenancy.rss_kib();
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "## Verification: {} keys over {} tenants, {} connections, {} s per run\n",
        secrets.len(),
        o.tenants,
        o.connections,
        o.seconds
    );
    println!("| run | requests/s | p50 ms | p99 ms | errors | ratio to bare |");
    println!("|---|---:|---:|---:|---:|---:|");
    row("bare axum, POST /v1/keys/verify", &bare_verify, None);
    row(
        "Tenancy, POST /v1/keys/verify",
        &tenancy_verify,
        Some(&bare_verify),
    );
    row("bare axum, GET /v1/namespace", &bare_namespace, None);
    row(
        "Tenancy, GET /v1/namespace (authenticated)",
        &tenancy_namespace,
        Some(&bare_namespace),
    );
    row(
        &format!("bare axum, verify at {half:.0}/s"),
        &bare_half,
        None,
    );
    row(
        &format!("Tenancy, verify at {half:.0}/s (half max)"),
        &tenancy_half,
        None,
    );
    println!();
    println!(
        "Targets (docs/benchmarks.md#targets): verify ratio ≥ 0.80 → {:.2}; p99 ≤ 1 ms at half the maximum rate → {:.3} ms.",
        tenancy_verify.rate() / bare_verify.rate(),
        tenancy_half.percentile_ms(0.99)
    );
    let mib = |kib: Option<u64>| {
        kib.map_or("n/a".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "Server RSS: idle {}, after seeding {}, after the load {}.",
        mib(idle_rss),
        mib(seeded_rss),
        mib(loaded_rss)
    );
    Ok(())
}

fn row(name: &str, outcome: &Outcome, baseline: Option<&Outcome>) {
    let ratio = baseline.map_or("—".to_owned(), |b| {
        format!("{:.2}", outcome.rate() / b.rate())
    });
    println!(
        "| {name} | {:.0} | {:.3} | {:.3} | {} | {ratio} |",
        outcome.rate(),
        outcome.percentile_ms(0.5),
        outcome.percentile_ms(0.99),
        outcome.errors
    );
}
