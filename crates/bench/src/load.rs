//! The load generator: `connections` kept-alive connections, each sending the
//! calls round-robin, either as fast as answers come back (closed loop: the
//! maximum rate) or on a fixed schedule (open loop: latency at a given rate; a
//! request that had to wait for a slow earlier answer is timed from when it was
//! due, so the slow answer also counts against the requests queued behind it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::client::{Call, Connection};

/// What one run measured.
pub struct Outcome {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latency in nanoseconds.
    pub latency: Histogram<u64>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1e6
    }
}

/// `None`: closed loop. `Some(r)`: open loop at `r` requests per second in all.
pub async fn run(
    address: SocketAddr,
    calls: Arc<Vec<Call>>,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    rate: Option<f64>,
) -> Result<Outcome, String> {
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + warmup;
    let end = measure_from + measure;
    let mut workers = Vec::new();
    for worker in 0..connections {
        let calls = Arc::clone(&calls);
        let mut connection = Connection::open(address).await?;
        workers.push(tokio::spawn(async move {
            let mut latency = new_histogram();
            let (mut requests, mut errors) = (0u64, 0u64);
            // Each worker starts at its own offset in the calls, so they do not
            // all hit the same keys in step.
            let mut next = worker * calls.len() / connections.max(1);
            let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r));
            tokio::time::sleep_until(start.into()).await;
            let mut previous_done = start;
            let mut due = start
                + interval.map_or(Duration::ZERO, |i| {
                    i.mul_f64(worker as f64 / connections as f64)
                });
            loop {
                if interval.is_some() {
                    tokio::time::sleep_until(due.into()).await;
                } else {
                    due = Instant::now();
                }
                if due >= end {
                    break;
                }
                let call = &calls[next % calls.len()];
                next += 1;
                // Latency counts from when the request was due if the connection
                // was still busy with the previous answer then (the server's
                // delay, which must not be hidden), but from the actual send if
                // only the generator's timer woke late (its own delay, which must
                // not be charged to the server).
                let sent = Instant::now();
                let began = if previous_done > due { due } else { sent };
                let answer = connection.send(call).await;
                let done = Instant::now();
                previous_done = done;
                if due >= measure_from {
                    match answer {
                        Ok((status, _)) if status.is_success() => {
                            requests += 1;
                            let nanos =
                                u64::try_from((done - began).as_nanos()).unwrap_or(u64::MAX);
                            latency.saturating_record(nanos);
                        }
                        _ => errors += 1,
                    }
                }
                if let Some(interval) = interval {
                    due += interval;
                }
            }
            (requests, errors, latency)
        }));
    }
    let mut outcome = Outcome {
        requests: 0,
        errors: 0,
        elapsed: measure,
        latency: new_histogram(),
    };
    for worker in workers {
        let (requests, errors, latency) = worker.await.map_err(|e| e.to_string())?;
        outcome.requests += requests;
        outcome.errors += errors;
        outcome.latency.add(latency).map_err(|e| e.to_string())?;
    }
    Ok(outcome)
}

fn new_histogram() -> Histogram<u64> {
    // 1 ns to 60 s, three significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}
