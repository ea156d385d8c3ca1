//! Provisioning (docs/benchmarks.md#targets: ≥ 0.5 × `pgbench`'s tpcb-like transactions/s on the
//! same database): `Tenancy::provision` on the PostgreSQL ports, from
//! `connections` concurrent callers each provisioning tenants of their own
//! keys, against `pgbench`'s default (tpcb-like) script with as many clients on
//! the same database, alternating, `rounds` times.
//!
//! One provision is what the API's `POST .../tenants` does below HTTP: the org
//! looked up, the replay check by tenant key, a data key generated and wrapped
//! by the local keyring KMS, then one transaction writing the tenant, its live
//! namespace, its first API key, the wrapped data key and the audit event.
//! The audit append also links the org's hash chain (a trigger) and writes the
//! outbox event, so the "+ outbox" of docs/benchmarks.md#targets is in it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use adapters_kms::LocalKeyring;
use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, PgStore};
use adapters_system::{OsSecrets, SystemClock, UuidV7Ids};
use chrono::{DateTime, Utc};
use domain::ports::{IdGenerator, KeyUsage};
use domain::{
    ApiKeyId, Context, Metadata, Name, NewOrg, OrgKey, OrgRef, Ports, Principal, ProvisionTenant,
    Settings, Tenancy, TenantKey,
};

use crate::Measuring;
use crate::verify_miss::Pgbench;

pub struct Options {
    m: Measuring,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            m: Measuring::DEFAULT,
        };
        for (name, value) in crate::flags(args)? {
            if !options.m.set(name, value)? {
                return Err(format!("unknown option --{name}"));
            }
        }
        if options.m.has_zero() {
            return Err("need one connection, one second and one round".into());
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

/// Key uses are not what this measures.
struct NoUsage;

impl KeyUsage for NoUsage {
    fn key_used(&self, _: ApiKeyId, _: DateTime<Utc>) {}
}

async fn scenario(o: Options) -> Result<(), String> {
    let database = TestDatabase::new().await;
    let db = Database::connect(&DatabaseConfig {
        max_connections: u32::try_from(o.m.connections).unwrap_or(u32::MAX),
        ..DatabaseConfig::new(database.runtime_url())
    })
    .await
    .map_err(|e| e.to_string())?;
    let store = Arc::new(PgStore::new(db));
    let ids = Arc::new(UuidV7Ids);
    let ports = Ports {
        orgs: store.clone(),
        tenants: store.clone(),
        namespaces: store.clone(),
        keys: store.clone(),
        audit: store.clone(),
        events: store.clone(),
        webhooks: store.clone(),
        deliveries: store.clone(),
        members: store.clone(),
        settings: store.clone(),
        custom_domains: store.clone(),
        library: store.clone(),
        data_keys: store.clone(),
        tenant_secrets: store.clone(),
        idempotency: store.clone(),
        registrations: store,
        // Provisioning sends no email.
        mailer: Arc::new(adapters_mail::LogMailer::new()),
        clock: Arc::new(SystemClock),
        ids: ids.clone(),
        entropy: Arc::new(OsSecrets),
        key_usage: Arc::new(NoUsage),
        kms: Arc::new(LocalKeyring::ephemeral(Arc::new(OsSecrets))),
        // Provisioning checks no custom domain: a resolver that asks nobody.
        dns: Arc::new(adapters_memory::MemoryDns::new()),
    };
    let tenancy = Arc::new(Tenancy::new(ports, Settings::default()));
    let org = tenancy
        .create_org(
            &Context::platform_admin(),
            NewOrg {
                key: OrgKey::parse("bench").map_err(|e| e.to_string())?,
                name: Name::parse("Bench").map_err(|e| e.to_string())?,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    // The SaaS backend provisions with its org key: org scope, as in production.
    let ctx = Arc::new(Context::new(Principal::Org {
        org_id: org.id,
        key_id: ApiKeyId::from_uuid(ids.new_id()),
        expires_at: None,
    }));

    let pgbench = Pgbench::find();
    eprintln!("pgbench -i -s 10…");
    pgbench.init(database.owner_url())?;

    let serial = Arc::new(AtomicU64::new(0));
    let org = OrgRef::Id(org.id);
    let mut rounds = Vec::new();
    for round in 1..=o.m.rounds {
        eprintln!("round {round} of {}: provision…", o.m.rounds);
        let provisions = measure(&tenancy, &ctx, &org, &serial, &o).await?;
        eprintln!("round {round}: pgbench (tpcb-like)…");
        let tpcb = pgbench.run(database.owner_url(), &o.m, &[])?;
        rounds.push((tpcb, provisions));
    }

    println!(
        "## Provisioning: {} connections, {} s each, {} rounds\n",
        o.m.connections, o.m.seconds, o.m.rounds
    );
    println!("| round | `pgbench` tpcb-like, tps | `Tenancy::provision`, provisions/s | ratio |");
    println!("|---|---:|---:|---:|");
    for (i, (tpcb, provisions)) in rounds.iter().enumerate() {
        println!(
            "| {} | {tpcb:.0} | {provisions:.0} | **{:.2}** |",
            i + 1,
            provisions / tpcb
        );
    }
    let ratios: Vec<f64> = rounds.iter().map(|(t, p)| p / t).collect();
    println!(
        "\nRatio {} (target, docs/benchmarks.md#targets: ≥ 0.5). One provision: tenant, namespace, key, data \
         key, audit event (chained) and outbox event in one transaction.",
        crate::verify_miss::range(&ratios)
    );
    Ok(())
}

async fn measure(
    tenancy: &Arc<Tenancy>,
    ctx: &Arc<Context>,
    org: &OrgRef,
    serial: &Arc<AtomicU64>,
    o: &Options,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..o.m.connections {
        let (tenancy, ctx, org, serial, stop, done) = (
            Arc::clone(tenancy),
            Arc::clone(ctx),
            org.clone(),
            Arc::clone(serial),
            Arc::clone(&stop),
            Arc::clone(&done),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = serial.fetch_add(1, Ordering::Relaxed);
                let request = ProvisionTenant {
                    key: TenantKey::parse(&format!("bench-{n}")).map_err(|e| e.to_string())?,
                    name: Name::parse(&format!("Bench tenant {n}")).map_err(|e| e.to_string())?,
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: Metadata::default(),
                    namespaces: Vec::new(),
                };
                let provisioned = tenancy
                    .provision(&ctx, &org, request)
                    .await
                    .map_err(|e| e.to_string())?;
                if !provisioned.created || provisioned.api_key.is_none() {
                    return Err(format!("tenant bench-{n} was not created"));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, String>(())
        }));
    }
    crate::rate_of(workers, &stop, &done, o.m.seconds).await
}
