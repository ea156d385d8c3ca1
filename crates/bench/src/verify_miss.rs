//! Verification when the cache misses (docs/benchmarks.md#targets: ≥ 0.5 × `pgbench -S`
//! transactions/s on the same database): `PgStore::find_key` — the one query a
//! cache miss costs, as the runtime role — from `connections` concurrent
//! callers, against `pgbench -S` with as many clients on the same database in
//! the same run, alternating, `rounds` times.
//!
//! Each round also has `pgbench` drive the lookup's own statement (prepared, as
//! the runtime role): what the server alone can do, so that the gap between
//! it and `find_key` is the client's share (sqlx, tokio, the decoding, and the
//! CPU they take from the server on the same machine).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, PgStore};
use domain::KeyHash;
use domain::ports::ApiKeyStore;
use sha2::{Digest, Sha256};

use crate::Measuring;

pub struct Options {
    keys: u64,
    tenants: u64,
    m: Measuring,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            keys: 100_000,
            tenants: 10_000,
            m: Measuring::DEFAULT,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "keys" => options.keys = crate::number(name, value)?,
                "tenants" => options.tenants = crate::number(name, value)?,
                other if options.m.set(other, value)? => {}
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.keys < 1_000
            || options.tenants == 0
            || options.tenants > options.keys
            || options.m.has_zero()
        {
            return Err(
                "need at least 1000 keys, 1 to --keys tenants, one connection, one second \
                 and one round"
                    .into(),
            );
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

/// The hash the seed stores for key number `i`: SHA-256 of its decimal digits,
/// as Postgres's `sha256()` computes it in the seed.
fn hash_of(i: u64) -> KeyHash {
    KeyHash::from_bytes(Sha256::digest(i.to_string().as_bytes()).into())
}

async fn scenario(o: Options) -> Result<(), String> {
    let database = TestDatabase::new().await;
    let owner = database.owner_pool().await;
    eprintln!("seeding {} tenants and {} keys…", o.tenants, o.keys);
    seed(&owner, o.tenants, o.keys).await?;
    let db = Database::connect(&DatabaseConfig {
        max_connections: u32::try_from(o.m.connections).unwrap_or(u32::MAX),
        lookup_connections: u32::try_from(o.m.connections).unwrap_or(u32::MAX),
        ..DatabaseConfig::new(database.runtime_url())
    })
    .await
    .map_err(|e| e.to_string())?;
    let store = Arc::new(PgStore::new(db));
    let ok = store
        .find_key(&hash_of(1))
        .await
        .map_err(|e| e.to_string())?;
    if ok.is_none() {
        return Err("a seeded key was not found".into());
    }
    let pgbench = Pgbench::find();
    pgbench.init(database.owner_url())?;
    let script = std::env::temp_dir().join(format!("tenancy-bench-{}.sql", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "\\set i random(1, {})\n{}\n",
            o.keys, "SELECT * FROM tenancy_find_key(sha256(convert_to(:i::text, 'UTF8')));"
        ),
    )
    .map_err(|e| format!("could not write the pgbench script: {e}"))?;
    let script_arg = script.to_string_lossy().into_owned();

    let mut rounds = Vec::new();
    for round in 1..=o.m.rounds {
        eprintln!("round {round} of {}: find_key…", o.m.rounds);
        let lookups = measure(&store, &o).await?;
        eprintln!("round {round}: pgbench -S…");
        let select_only = pgbench.run(database.owner_url(), &o.m, &["-S"])?;
        eprintln!("round {round}: pgbench -M prepared -f (the lookup's statement)…");
        let statement = pgbench.run(
            database.runtime_url(),
            &o.m,
            &["-M", "prepared", "-f", &script_arg],
        )?;
        rounds.push((select_only, statement, lookups));
    }
    let _ = std::fs::remove_file(&script);

    println!(
        "## Verification on a cache miss: {} tenants, {} keys, {} connections, {} s each, \
         {} rounds\n",
        o.tenants, o.keys, o.m.connections, o.m.seconds, o.m.rounds
    );
    println!(
        "| round | `pgbench -S`, tps | `tenancy_find_key` driven by `pgbench -M prepared` \
         as `tenancy_app`, tps | `PgStore::find_key`, lookups/s | ratio to `-S` |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (i, (select_only, statement, lookups)) in rounds.iter().enumerate() {
        println!(
            "| {} | {select_only:.0} | {statement:.0} | {lookups:.0} | **{:.2}** |",
            i + 1,
            lookups / select_only
        );
    }
    let ratios: Vec<f64> = rounds.iter().map(|(s, _, l)| l / s).collect();
    let server: Vec<f64> = rounds.iter().map(|(s, st, _)| st / s).collect();
    println!(
        "\nRatio {} (target, docs/benchmarks.md#targets: ≥ 0.5); the statement alone, driven by pgbench: {} \
         of `-S`.",
        range(&ratios),
        range(&server)
    );
    Ok(())
}

/// `min–max` of `values`, two decimals.
pub(crate) fn range(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if (max - min).abs() < 0.005 {
        format!("{min:.2}")
    } else {
        format!("{min:.2}–{max:.2}")
    }
}

async fn measure(store: &Arc<PgStore>, o: &Options) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..o.m.connections {
        let (store, stop, done, keys) = (
            Arc::clone(store),
            Arc::clone(&stop),
            Arc::clone(&done),
            o.keys,
        );
        workers.push(tokio::spawn(async move {
            let mut i = worker * 7919;
            while !stop.load(Ordering::Relaxed) {
                i = (i + 104_729) % keys;
                let found = store
                    .find_key(&hash_of(i + 1))
                    .await
                    .map_err(|e| e.to_string())?;
                if found.is_none() {
                    return Err(format!("key {} not found", i + 1));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, String>(())
        }));
    }
    crate::rate_of(workers, &stop, &done, o.m.seconds).await
}

/// The installed `pgbench` (next to `pg_config`'s binaries, else on `PATH`).
pub(crate) struct Pgbench {
    program: String,
}

impl Pgbench {
    pub(crate) fn find() -> Self {
        let bindir = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
        Self {
            program: bindir.map_or_else(|| "pgbench".into(), |dir| format!("{dir}/pgbench")),
        }
    }

    fn output(&self, url: &str, args: &[&str]) -> Result<std::process::Output, String> {
        Command::new(&self.program)
            .args(args)
            .arg(url)
            .output()
            .map_err(|e| format!("could not run pgbench: {e}"))
    }

    /// `pgbench -i -s 10`: its own tables in the same database, as the owner.
    pub(crate) fn init(&self, url: &str) -> Result<(), String> {
        let init = self.output(url, &["-i", "-s", "10", "-q"])?;
        if init.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            ))
        }
    }

    /// One measured run with `args` (`-S`, a script, ...) and the benchmark's
    /// clients and duration; its transactions per second. `-n`: no vacuum first.
    pub(crate) fn run(&self, url: &str, m: &Measuring, args: &[&str]) -> Result<f64, String> {
        self.tps(url, m.connections, m.seconds, args)
    }

    fn tps(&self, url: &str, clients: u64, seconds: u64, args: &[&str]) -> Result<f64, String> {
        let clients = clients.to_string();
        let seconds = seconds.to_string();
        let mut all = vec!["-n", "-c", &clients, "-j", "2", "-T", &seconds];
        all.extend_from_slice(args);
        let out = self.output(url, &all)?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                format!(
                    "no tps in pgbench's output: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    }
}

/// One org, `tenants` tenants with a namespace each, and `keys` namespace keys
/// spread over them, whose hashes are SHA-256 of their number. With 10,000
/// tenants (the default) the planner probes `tenants` and `namespaces` by
/// index as it would in a real deployment; with the 100 of earlier versions it
/// hashed whole tables into every lookup.
async fn seed(owner: &sqlx::PgPool, tenants: u64, keys: u64) -> Result<(), String> {
    let sql = |e: sqlx::Error| e.to_string();
    let mut tx = owner.begin().await.map_err(sql)?;
    for statement in [
        "SELECT set_config('app.scope', 'platform', true)",
        "INSERT INTO orgs (id, key, name, created_at, updated_at, version)
         VALUES (gen_random_uuid(), 'bench', 'Bench', now(), now(), 1)",
        "INSERT INTO tenants (id, org_id, key, name, plan, region, status, status_changed_at,
             status_changed_by_kind, status_changed_by_id, spec_digest, created_at, updated_at,
             version)
         SELECT gen_random_uuid(), (SELECT id FROM orgs), 'tenant-' || g, 'Tenant ' || g, 'free',
             'global', 'active', now(), 'platform_admin', 'admin',
             decode(md5(g::text) || md5(g::text), 'hex'), now(), now(), 1
         FROM generate_series(1, $1::bigint) g",
        "INSERT INTO namespaces (tenant_id, id, org_id, key, name, mode, created_at, updated_at,
             version)
         SELECT id, gen_random_uuid(), org_id, key || '-live', key || '-live', 'live', now(),
             now(), 1
         FROM tenants",
    ] {
        let mut query = sqlx::query(statement);
        if statement.contains("$1") {
            query = query.bind(tenants as i64);
        }
        query.execute(&mut *tx).await.map_err(sql)?;
    }
    sqlx::query(
        "WITH ns AS (SELECT row_number() OVER (ORDER BY tenant_id) - 1 AS n, tenant_id, id, org_id
                     FROM namespaces)
         INSERT INTO api_keys (tenant_id, id, org_id, namespace_id, hash, display, name, mode,
             role, scopes, created_at, created_by_kind, created_by_id, version)
         SELECT ns.tenant_id, gen_random_uuid(), ns.org_id, ns.id,
             sha256(convert_to(g::text, 'UTF8')), 'tny_live_xxx', 'key ' || g, 'live', 'admin',
             8191, now(), 'platform_admin', 'admin', 1
         FROM generate_series(1, $1::bigint) g JOIN ns ON ns.n = g % $2",
    )
    .bind(keys as i64)
    .bind(tenants as i64)
    .execute(&mut *tx)
    .await
    .map_err(sql)?;
    tx.commit().await.map_err(sql)?;
    sqlx::query("ANALYZE").execute(owner).await.map_err(sql)?;
    Ok(())
}
