//! Cross-instance invalidation (docs/benchmarks.md#targets: a suspension or revocation is visible
//! on every instance, p99 ≤ 50 ms): two `tenancy serve` processes on one fresh
//! database. Every key is first cached by instance B; then, one tenant at a
//! time, the change goes through instance A and B's verification is polled in a
//! tight loop from A's answer until B refuses the key. The figure is that
//! delay, A's answer to B's first refusal, as the clients of B would see it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use hdrhistogram::Histogram;
use hyper::Method;
use serde_json::{Value, json};

use crate::child::{Keyring, Server, serve_command};
use crate::client::{Call, Connection, created, expect_ok};
use crate::seed::ADMIN_TOKEN;

const ORG: &str = "bench";

/// How long B may keep accepting a key before the key counts as an error.
const GIVE_UP: Duration = Duration::from_secs(5);

pub struct Options {
    tenancy: PathBuf,
    tenants: usize,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            tenancy: PathBuf::new(),
            tenants: 200,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "tenancy" => options.tenancy = PathBuf::from(value),
                "tenants" => options.tenants = crate::number(name, value)? as usize,
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.tenancy.as_os_str().is_empty() {
            return Err("--tenancy is required".into());
        }
        if options.tenants == 0 {
            return Err("need at least one tenant".into());
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

/// `tenancy serve` on the runtime role of `database`, with `keyring`.
fn instance(tenancy: &Path, database: &TestDatabase, keyring: &Keyring) -> Result<Server, String> {
    Server::start(serve_command(tenancy, database, keyring))
}

/// One provisioned tenant: what the changes and the polling need.
struct Provisioned {
    tenant: String,
    namespace: String,
    key_id: String,
    verify: Call,
}

/// Delays, in microseconds, and the keys B never refused in time.
struct Delays {
    histogram: Histogram<u64>,
    errors: usize,
}

impl Delays {
    fn new() -> Self {
        Self {
            // 1 µs to 60 s, three significant digits.
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            errors: 0,
        }
    }

    fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1e3
    }

    fn row(&self, change: &str) {
        println!(
            "| {change} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            self.histogram.len(),
            self.ms(0.5),
            self.ms(0.9),
            self.ms(0.99),
            self.histogram.max() as f64 / 1e3,
            self.errors
        );
    }
}

async fn scenario(o: Options) -> Result<(), String> {
    let database = TestDatabase::new().await;
    let keyring = Keyring::create(&o.tenancy)?;
    let a = instance(&o.tenancy, &database, &keyring)?;
    let b = instance(&o.tenancy, &database, &keyring)?;
    let mut to_a = Connection::open(a.address).await?;

    let org = Call::json(
        Method::POST,
        "/v1/orgs",
        Some(ADMIN_TOKEN),
        &json!({"key": ORG, "name": "Benchmark"}),
    );
    created(to_a.send(&org).await?, "creating the org")?;
    eprintln!("provisioning {} tenants through A…", 2 * o.tenants);
    let mut suspended = Vec::with_capacity(o.tenants);
    let mut revoked = Vec::with_capacity(o.tenants);
    for i in 0..o.tenants {
        suspended.push(provision(&mut to_a, &format!("suspend-{i:06}")).await?);
        revoked.push(provision(&mut to_a, &format!("revoke-{i:06}")).await?);
    }

    eprintln!("caching every key in B…");
    let mut to_b = Connection::open(b.address).await?;
    for tenant in suspended.iter().chain(&revoked) {
        // Twice: the second answer comes from the cache.
        for _ in 0..2 {
            let code = verdict(&mut to_b, &tenant.verify).await?;
            if code != "valid" {
                return Err(format!("{}'s key is {code} on B", tenant.tenant));
            }
        }
    }

    eprintln!("suspending through A, polling B…");
    let mut suspensions = Delays::new();
    for tenant in &suspended {
        let suspend = Call::json(
            Method::POST,
            &format!("/v1/orgs/{ORG}/tenants/{}/suspend", tenant.tenant),
            Some(ADMIN_TOKEN),
            &json!({"reason": "benchmark"}),
        );
        expect_ok(to_a.send(&suspend).await?, "suspending")?;
        propagation(&mut to_b, tenant, "tenant_suspended", &mut suspensions).await?;
    }

    eprintln!("revoking through A, polling B…");
    let mut revocations = Delays::new();
    for tenant in &revoked {
        let revoke = Call::json(
            Method::DELETE,
            &format!(
                "/v1/orgs/{ORG}/tenants/{}/namespaces/{}/api-keys/{}",
                tenant.tenant, tenant.namespace, tenant.key_id
            ),
            Some(ADMIN_TOKEN),
            &Value::Null,
        );
        expect_ok(to_a.send(&revoke).await?, "revoking")?;
        propagation(&mut to_b, tenant, "revoked", &mut revocations).await?;
    }

    println!(
        "## Invalidation across instances: two instances on one database, {} changes of each kind\n",
        o.tenants
    );
    println!(
        "Delay from A's answer to B's first refusal of the key (B polled in a tight loop; \
         errors: B still accepted the key after {} s).\n",
        GIVE_UP.as_secs()
    );
    println!("| change through A | count | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    suspensions.row("suspend tenant → B says `tenant_suspended`");
    revocations.row("revoke key → B says `revoked`");
    println!();
    println!(
        "Target (docs/benchmarks.md#targets): p99 ≤ 50 ms → suspension {:.2} ms, revocation {:.2} ms.",
        suspensions.ms(0.99),
        revocations.ms(0.99)
    );
    drop((a, b));
    Ok(())
}

/// Provisions tenant `key` with its default namespace through `to_a`.
async fn provision(to_a: &mut Connection, key: &str) -> Result<Provisioned, String> {
    let call = Call::json(
        Method::POST,
        &format!("/v1/orgs/{ORG}/tenants"),
        Some(ADMIN_TOKEN),
        &json!({"key": key, "name": key}),
    );
    let body = created(to_a.send(&call).await?, "provisioning")?;
    let text = |value: &Value, what: &str| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("a provisioning answer without {what}: {body}"))
    };
    let secret = text(&body["secret"], "a secret")?;
    Ok(Provisioned {
        tenant: key.to_owned(),
        namespace: text(&body["namespaces"][0]["key"], "a namespace")?,
        key_id: text(&body["apiKey"]["id"], "a key id")?,
        verify: Call::json(
            Method::POST,
            "/v1/keys/verify",
            None,
            &json!({ "key": secret }),
        ),
    })
}

/// Polls B until it answers `refusal` for `tenant`'s key, from now (A has just
/// answered); records the delay, or an error after [`GIVE_UP`].
async fn propagation(
    to_b: &mut Connection,
    tenant: &Provisioned,
    refusal: &str,
    delays: &mut Delays,
) -> Result<(), String> {
    let changed = Instant::now();
    loop {
        let code = verdict(to_b, &tenant.verify).await?;
        let delay = changed.elapsed();
        if code == refusal {
            let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX).max(1);
            delays.histogram.record(micros).map_err(|e| e.to_string())?;
            return Ok(());
        }
        if code != "valid" {
            return Err(format!(
                "B answered {code} for {}'s key, expected valid or {refusal}",
                tenant.tenant
            ));
        }
        if delay > GIVE_UP {
            delays.errors += 1;
            return Ok(());
        }
    }
}

/// B's verdict code for one verification call.
async fn verdict(to_b: &mut Connection, verify: &Call) -> Result<String, String> {
    let body = expect_ok(to_b.send(verify).await?, "verifying")?;
    body["code"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("a verification answer without a code: {body}"))
}
