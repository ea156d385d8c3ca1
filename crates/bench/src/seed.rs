//! Fills a fresh server through its public API: one org, `tenants` tenants
//! (each provisioning returns its first key) and more namespace keys until
//! there are `keys` in all.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::Method;
use serde_json::json;

use crate::client::{Call, Connection};

pub const ADMIN_TOKEN: &str = "bench-admin-token-not-a-secret-at-all";
const ORG: &str = "bench";

fn tenant_key(i: usize) -> String {
    format!("tenant-{i:06}")
}

/// Returns the secrets of every key created, in creation order.
pub async fn seed(
    address: SocketAddr,
    tenants: usize,
    keys: usize,
    connections: usize,
) -> Result<Vec<String>, String> {
    let mut admin = Connection::open(address).await?;
    let org = Call::json(
        Method::POST,
        "/v1/orgs",
        Some(ADMIN_TOKEN),
        &json!({"key": ORG, "name": "Benchmark"}),
    );
    expect_created(admin.send(&org).await?, "creating the org")?;

    let mut secrets = in_parallel(address, connections, tenants, |i| {
        Call::json(
            Method::POST,
            &format!("/v1/orgs/{ORG}/tenants"),
            Some(ADMIN_TOKEN),
            &json!({"key": tenant_key(i), "name": format!("Tenant {i}")}),
        )
    })
    .await?;
    let extra = keys.saturating_sub(tenants);
    secrets.extend(
        in_parallel(address, connections, extra, move |i| {
            let t = tenant_key(i % tenants);
            Call::json(
                Method::POST,
                &format!("/v1/orgs/{ORG}/tenants/{t}/namespaces/{t}-live/api-keys"),
                Some(ADMIN_TOKEN),
                &json!({"name": format!("key {i}")}),
            )
        })
        .await?,
    );
    Ok(secrets)
}

/// Sends `count` calls made by `make` over `connections` connections and
/// returns the `secret` of each answer, in call order.
async fn in_parallel(
    address: SocketAddr,
    connections: usize,
    count: usize,
    make: impl Fn(usize) -> Call + Send + Sync + 'static,
) -> Result<Vec<String>, String> {
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (make, next) = (Arc::clone(&make), Arc::clone(&next));
        let mut connection = Connection::open(address).await?;
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(got);
                }
                let answer = connection.send(&make(i)).await?;
                let body = expect_created(answer, "seeding")?;
                let secret = body["secret"]
                    .as_str()
                    .ok_or("a creation answer without a secret")?
                    .to_owned();
                got.push((i, secret));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for worker in workers {
        all.extend(worker.await.map_err(|e| e.to_string())??);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, secret)| secret).collect())
}

fn expect_created(
    (status, body): (hyper::StatusCode, bytes::Bytes),
    what: &str,
) -> Result<serde_json::Value, String> {
    if status != hyper::StatusCode::CREATED {
        return Err(format!(
            "{what}: expected 201, got {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{what}: {e}"))
}
