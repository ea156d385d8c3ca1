//! Verification when the cache misses (SPEC §8: ≥ 0.5 × `pgbench -S`
//! transactions/s on the same database): `PgStore::find_key` — the one query a
//! cache miss costs, in its scoped transaction, as the runtime role — from
//! `connections` concurrent callers, against `pgbench -S` with as many clients
//! on the same database in the same run.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, PgStore};
use domain::KeyHash;
use domain::ports::ApiKeyStore;
use sha2::{Digest, Sha256};

pub struct Options {
    keys: u64,
    connections: u64,
    seconds: u64,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            keys: 100_000,
            connections: 8,
            seconds: 10,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "keys" => options.keys = crate::number(name, value)?,
                "connections" => options.connections = crate::number(name, value)?,
                "seconds" => options.seconds = crate::number(name, value)?,
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.keys < 1_000 || options.connections == 0 || options.seconds == 0 {
            return Err("need at least 1000 keys, one connection and one second".into());
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
    eprintln!("seeding {} keys…", o.keys);
    seed(&owner, o.keys).await?;
    let db = Database::connect(&DatabaseConfig {
        max_connections: u32::try_from(o.connections).unwrap_or(u32::MAX),
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

    eprintln!("measuring find_key…");
    let lookups = measure(&store, &o).await?;
    eprintln!("measuring pgbench -S…");
    let pgbench = pgbench(database.owner_url(), &o)?;

    println!(
        "## Verification on a cache miss: {} keys, {} connections, {} s each\n",
        o.keys, o.connections, o.seconds
    );
    println!("| run | per second |");
    println!("|---|---:|");
    println!("| `pgbench -S` (select-only), transactions | {pgbench:.0} |");
    println!("| `PgStore::find_key` as the runtime role, lookups | {lookups:.0} |");
    println!("\nRatio {:.2} (target, SPEC §8: ≥ 0.5).", lookups / pgbench);
    Ok(())
}

async fn measure(store: &Arc<PgStore>, o: &Options) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..o.connections {
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
    // Warm up, then count over the measuring window only.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let counted = done.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.map_err(|e| e.to_string())??;
    }
    Ok(counted as f64 / elapsed.as_secs_f64())
}

/// `pgbench -S` on the same database (its own tables, scale 10), as the owner.
fn pgbench(url: &str, o: &Options) -> Result<f64, String> {
    let bindir = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let program = bindir.map_or_else(|| "pgbench".into(), |dir| format!("{dir}/pgbench"));
    let run = |args: &[&str]| {
        Command::new(&program)
            .args(args)
            .arg(url)
            .output()
            .map_err(|e| format!("could not run pgbench: {e}"))
    };
    let init = run(&["-i", "-s", "10", "-q"])?;
    if !init.status.success() {
        return Err(format!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        ));
    }
    let clients = o.connections.to_string();
    let seconds = o.seconds.to_string();
    let out = run(&["-S", "-n", "-c", &clients, "-j", "2", "-T", &seconds])?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench's output: {text}"))
}

/// One org, 100 tenants with a namespace each, and `keys` namespace keys whose
/// hashes are SHA-256 of their number.
async fn seed(owner: &sqlx::PgPool, keys: u64) -> Result<(), String> {
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
         FROM generate_series(1, 100) g",
        "INSERT INTO namespaces (tenant_id, id, org_id, key, name, mode, created_at, updated_at,
             version)
         SELECT id, gen_random_uuid(), org_id, key || '-live', key || '-live', 'live', now(),
             now(), 1
         FROM tenants",
    ] {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
    }
    sqlx::query(
        "WITH ns AS (SELECT row_number() OVER (ORDER BY tenant_id) - 1 AS n, tenant_id, id, org_id
                     FROM namespaces)
         INSERT INTO api_keys (tenant_id, id, org_id, namespace_id, hash, display, name, mode,
             role, scopes, created_at, created_by_kind, created_by_id, version)
         SELECT ns.tenant_id, gen_random_uuid(), ns.org_id, ns.id,
             sha256(convert_to(g::text, 'UTF8')), 'tny_live_xxx', 'key ' || g, 'live', 'admin',
             8191, now(), 'platform_admin', 'admin', 1
         FROM generate_series(1, $1::bigint) g JOIN ns ON ns.n = g % 100",
    )
    .bind(keys as i64)
    .execute(&mut *tx)
    .await
    .map_err(sql)?;
    tx.commit().await.map_err(sql)?;
    sqlx::query("ANALYZE").execute(owner).await.map_err(sql)?;
    Ok(())
}
