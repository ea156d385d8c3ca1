//! Webhook delivery (docs/benchmarks.md#targets: outbox-to-delivery p99 ≤
//! 100 ms at 200 events/s to a local receiver; ≥ 1,000 deliveries/s
//! sustained): one `tenancy serve` on a fresh database and a receiver in this
//! process on loopback. Events are suspensions and reactivations of a pool of
//! tenants, each request carrying its own `x-request-id`, which the event
//! carries back: an event's delay is from the moment its request was answered
//! (the change and its outbox row committed) to the moment the receiver got it.
//!
//! 1. *Latency*: requests sent open-loop at `--rate` events/s for `--seconds`.
//! 2. *Keeping pace*: `--burst` events committed as fast as 8 clients can,
//!    and how long after the last commit the receiver has every one.
//! 3. *Throughput*: `--burst` more events committed while the receiver
//!    answers 503 (so they queue up behind the endpoint's first message);
//!    then it recovers, and deliveries/s is measured from its first delivery
//!    of these to its last.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::post;
use hdrhistogram::Histogram;
use hyper::Method;
use serde_json::{Value, json};

use crate::child::{Keyring, Server, serve_command};
use crate::client::{Call, Connection, created, expect_ok};
use crate::seed::ADMIN_TOKEN;

const ORG: &str = "bench";
/// Tenants whose suspensions and reactivations make the events.
const TENANTS: usize = 64;
/// Clients committing the burst.
const BURST_CLIENTS: usize = 8;

pub struct Options {
    tenancy: PathBuf,
    rate: u64,
    seconds: u64,
    burst: usize,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            tenancy: PathBuf::new(),
            rate: 200,
            seconds: 10,
            burst: 5_000,
        };
        for (name, value) in crate::flags(args)? {
            match name {
                "tenancy" => options.tenancy = PathBuf::from(value),
                "rate" => options.rate = crate::number(name, value)?,
                "seconds" => options.seconds = crate::number(name, value)?,
                "burst" => options.burst = crate::number(name, value)? as usize,
                other => return Err(format!("unknown option --{other}")),
            }
        }
        if options.tenancy.as_os_str().is_empty() {
            return Err("--tenancy is required".into());
        }
        if options.rate == 0 || options.seconds == 0 || options.burst == 0 {
            return Err("--rate, --seconds and --burst must be positive".into());
        }
        Ok(options)
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(scenario(options))
}

/// When each request id's event arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// The receiver's state: what arrived, and whether it is answering 503.
#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arrivals,
    down: Arc<AtomicBool>,
}

async fn receive(State(receiver): State<Receiver>, body: Bytes) -> AxumStatus {
    if receiver.down.load(Ordering::SeqCst) {
        return AxumStatus::SERVICE_UNAVAILABLE;
    }
    let now = Instant::now();
    if let Ok(event) = serde_json::from_slice::<Value>(&body)
        && let Some(id) = event["data"]["requestId"].as_str()
    {
        receiver
            .arrivals
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_insert(now);
    }
    AxumStatus::NO_CONTENT
}

async fn receiver() -> Result<(SocketAddr, Receiver), String> {
    let state = Receiver::default();
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((address, state))
}

async fn scenario(o: Options) -> Result<(), String> {
    let database = TestDatabase::new().await;
    let keyring = Keyring::create(&o.tenancy)?;
    let mut command = serve_command(&o.tenancy, &database, &keyring);
    command.env("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true");
    let server = Server::start(command)?;
    let (receiver_address, receiver) = receiver().await?;
    let arrivals = &receiver.arrivals;
    let mut admin = Connection::open(server.address).await?;

    let org = Call::json(
        Method::POST,
        "/v1/orgs",
        Some(ADMIN_TOKEN),
        &json!({"key": ORG, "name": "Benchmark"}),
    );
    created(admin.send(&org).await?, "creating the org")?;
    let endpoint = Call::json(
        Method::POST,
        &format!("/v1/orgs/{ORG}/webhooks"),
        Some(ADMIN_TOKEN),
        &json!({"url": format!("http://{receiver_address}/hooks"),
                "eventTypes": ["tenant.suspended", "tenant.reactivated"]}),
    );
    created(admin.send(&endpoint).await?, "registering the endpoint")?;
    eprintln!("provisioning {TENANTS} tenants…");
    for i in 0..TENANTS {
        let call = Call::json(
            Method::POST,
            &format!("/v1/orgs/{ORG}/tenants"),
            Some(ADMIN_TOKEN),
            &json!({"key": tenant(i), "name": tenant(i)}),
        );
        created(admin.send(&call).await?, "provisioning")?;
    }

    let total = usize::try_from(o.rate * o.seconds).map_err(|e| e.to_string())?;
    eprintln!("latency: {total} events at {}/s…", o.rate);
    let answered = paced(server.address, total, o.rate).await?;
    let latency = delays(arrivals, &answered, Duration::from_secs(30)).await?;

    eprintln!("keeping pace: {} events committed at once…", o.burst);
    let (committed, sent) = burst(server.address, total, o.burst).await?;
    let kept_pace = wait_for(arrivals, total + o.burst, Duration::from_secs(120))
        .await
        .ok_or_else(|| "the burst was not delivered within 120 s".to_string())?;
    let lag = kept_pace.saturating_duration_since(sent + committed);

    eprintln!(
        "throughput: {} events queued behind a receiver answering 503…",
        o.burst
    );
    let before = total + o.burst;
    receiver.down.store(true, Ordering::SeqCst);
    let (queued_in, _) = burst(server.address, before, o.burst).await?;
    receiver.down.store(false, Ordering::SeqCst);
    let last = wait_for(arrivals, before + o.burst, Duration::from_secs(180))
        .await
        .ok_or_else(|| "the queue was not drained within 180 s".to_string())?;
    let first = first_arrival(arrivals, before, o.burst);
    let drain = last.saturating_duration_since(first);
    let per_second = (o.burst - 1) as f64 / drain.as_secs_f64();

    println!(
        "## Webhooks: outbox to delivery, one instance on PostgreSQL, a receiver on loopback\n"
    );
    println!("| run | events | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| {}/s for {} s, request answered → event received | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        o.rate,
        o.seconds,
        latency.len(),
        ms(&latency, 0.5),
        ms(&latency, 0.9),
        ms(&latency, 0.99),
        latency.max() as f64 / 1e3
    );
    println!();
    println!(
        "Keeping pace: {} events committed in {:.2} s by {BURST_CLIENTS} clients ({:.0} \
         commits/s); the last delivered {:.0} ms after the last commit.\n",
        o.burst,
        committed.as_secs_f64(),
        o.burst as f64 / committed.as_secs_f64(),
        lag.as_secs_f64() * 1e3,
    );
    println!(
        "Throughput: {} events queued (in {:.2} s) while the receiver answered 503, then \
         delivered in {:.2} s from its first delivery to its last: **{:.0} deliveries/s**.\n",
        o.burst,
        queued_in.as_secs_f64(),
        drain.as_secs_f64(),
        per_second
    );
    println!(
        "Targets (docs/benchmarks.md#targets): p99 ≤ 100 ms at 200 events/s → {:.2} ms; ≥ 1,000 \
         deliveries/s → {:.0}.",
        ms(&latency, 0.99),
        per_second
    );
    drop(server);
    Ok(())
}

fn tenant(i: usize) -> String {
    format!("hook-{i:04}")
}

/// The `n`-th event's request: a suspension on even rounds of its tenant, a
/// reactivation on odd ones, so every request is a valid move.
fn event_call(n: usize) -> Call {
    let action = if (n / TENANTS) % 2 == 0 {
        "suspend"
    } else {
        "reactivate"
    };
    Call::json(
        Method::POST,
        &format!("/v1/orgs/{ORG}/tenants/{}/{action}", tenant(n % TENANTS)),
        Some(ADMIN_TOKEN),
        &json!({"reason": "benchmark"}),
    )
    .with_request_id(&format!("bench-event-{n}"))
}

/// Sends events `0..total` open-loop at `rate`/s (one tenant's moves stay in
/// order: a connection per tenant); answers when each was answered.
async fn paced(
    address: SocketAddr,
    total: usize,
    rate: u64,
) -> Result<HashMap<String, Instant>, String> {
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut lanes = Vec::with_capacity(TENANTS);
    for lane in 0..TENANTS {
        lanes.push(tokio::spawn(async move {
            let mut connection = Connection::open(address).await?;
            let mut answered = HashMap::new();
            for n in (lane..total).step_by(TENANTS) {
                let due = start + interval * u32::try_from(n).map_err(|e| e.to_string())?;
                tokio::time::sleep_until(due.into()).await;
                expect_ok(connection.send(&event_call(n)).await?, "a lifecycle move")?;
                answered.insert(format!("bench-event-{n}"), Instant::now());
            }
            Ok::<_, String>(answered)
        }));
    }
    let mut all = HashMap::with_capacity(total);
    for lane in lanes {
        all.extend(lane.await.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

/// Events `from..from + count` as fast as [`BURST_CLIENTS`] clients commit
/// them: how long committing took, and when it started.
async fn burst(
    address: SocketAddr,
    from: usize,
    count: usize,
) -> Result<(Duration, Instant), String> {
    let start = Instant::now();
    let mut clients = Vec::with_capacity(BURST_CLIENTS);
    // Each client owns whole tenants, so each tenant's moves stay in order.
    for client in 0..BURST_CLIENTS {
        clients.push(tokio::spawn(async move {
            let mut connection = Connection::open(address).await?;
            for n in from..from + count {
                if (n % TENANTS) % BURST_CLIENTS == client {
                    expect_ok(connection.send(&event_call(n)).await?, "a lifecycle move")?;
                }
            }
            Ok::<_, String>(())
        }));
    }
    for client in clients {
        client.await.map_err(|e| e.to_string())??;
    }
    Ok((start.elapsed(), start))
}

/// Each answered request's delay until its event arrived, in microseconds,
/// waiting up to `patience` for the last ones.
async fn delays(
    arrivals: &Arrivals,
    answered: &HashMap<String, Instant>,
    patience: Duration,
) -> Result<Histogram<u64>, String> {
    wait_for(arrivals, answered.len(), patience)
        .await
        .ok_or_else(|| "not every event arrived within the patience".to_string())?;
    let arrived = arrivals.lock().unwrap();
    let mut histogram = Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    for (id, at) in answered {
        let got = arrived
            .get(id)
            .ok_or_else(|| format!("{id} never arrived"))?;
        let micros =
            u64::try_from(got.saturating_duration_since(*at).as_micros()).unwrap_or(u64::MAX);
        histogram.record(micros.max(1)).map_err(|e| e.to_string())?;
    }
    Ok(histogram)
}

/// Waits until `count` events have arrived; the last arrival, or `None` after
/// `patience`.
async fn wait_for(arrivals: &Arrivals, count: usize, patience: Duration) -> Option<Instant> {
    let deadline = Instant::now() + patience;
    loop {
        {
            let arrived = arrivals.lock().unwrap();
            if arrived.len() >= count {
                return arrived.values().max().copied();
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The earliest arrival of events `from..from + count`.
fn first_arrival(arrivals: &Arrivals, from: usize, count: usize) -> Instant {
    let arrived = arrivals.lock().unwrap();
    (from..from + count)
        .filter_map(|n| arrived.get(&format!("bench-event-{n}")).copied())
        .min()
        .unwrap_or_else(Instant::now)
}

fn ms(histogram: &Histogram<u64>, q: f64) -> f64 {
    histogram.value_at_quantile(q) as f64 / 1e3
}
