//! Crash safety: `kill -9` in the middle of a provisioning load. A provisioning
//! is one transaction, so whatever the moment of the crash, the database holds
//! whole tenants or nothing of them, and every `201` the clients received is in
//! it. Checked in the database itself, then through a restarted server; and
//! every stored tenant's `tenant.provisioned` event reaches a webhook receiver
//! after the restart, signed, while no event exists without its tenant (the
//! outbox is written in the provisioning's transaction).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adapters_postgres::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::webhooks::Receiver;
use crate::{PATIENCE, Server, TempFile};

pub(crate) const TOKEN: &str = "test-admin-token-0123456789abcdef";
const ORG: &str = "crashco";
/// Concurrent clients provisioning tenants.
const CLIENTS: usize = 6;
/// Acknowledged provisionings to wait for before the kill.
const BEFORE_THE_KILL: usize = 30;
/// A bound on the load, so the clients stop even if the kill never comes.
const AT_MOST: usize = 5_000;

pub(crate) fn serve_on(db: &TestDatabase) -> Server {
    Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("DATABASE_URL", db.runtime_url()),
            ("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
        &[],
    )
}

fn tenant_key(i: usize) -> String {
    format!("crash-{i:05}")
}

/// The number in a key made by [`tenant_key`].
fn tenant_number(key: &str) -> usize {
    key.strip_prefix("crash-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a tenant nobody provisioned: {key}"))
}

/// The namespaces tenant `i`'s provisioning lists, first one first: two or three.
fn namespaces_of(i: usize) -> Vec<String> {
    let count = 2 + i % 2;
    (0..count)
        .map(|n| format!("{}-ns{n}", tenant_key(i)))
        .collect()
}

fn provisioning(i: usize) -> Value {
    let namespaces: Vec<Value> = namespaces_of(i)
        .into_iter()
        .map(|key| json!({ "key": key }))
        .collect();
    json!({
        "key": tenant_key(i),
        "name": format!("Crash Tenant {i}"),
        "metadata": {"batch": "crash"},
        "namespaces": namespaces,
    })
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// What the clients saw before the server died.
#[derive(Default)]
struct Seen {
    /// Tenant number → the id of its `201` answer.
    acknowledged: BTreeMap<usize, String>,
    /// Any answer other than `201`: none is expected.
    unexpected: Vec<(usize, StatusCode, String)>,
}

/// Provisions tenants in a loop until the server stops answering.
async fn provision_until_the_crash(
    client: reqwest::Client,
    base: String,
    next: Arc<AtomicUsize>,
    seen: Arc<Mutex<Seen>>,
) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= AT_MOST {
            return;
        }
        let answer = client
            .post(format!("{base}/v1/orgs/{ORG}/tenants"))
            .bearer_auth(TOKEN)
            .json(&provisioning(i))
            .send()
            .await;
        let Ok(response) = answer else { return };
        let status = response.status();
        // A response cut by the crash after its status line is no acknowledgement.
        let Ok(text) = response.text().await else {
            return;
        };
        let mut seen = seen.lock().unwrap();
        if status == StatusCode::CREATED {
            let body: Value = serde_json::from_str(&text).expect("a JSON body");
            let id = body["tenant"]["id"]
                .as_str()
                .expect("a tenant id")
                .to_owned();
            seen.acknowledged.insert(i, id);
        } else {
            seen.unexpected.push((i, status, text));
        }
    }
}

/// Every tenant in the database, seen as the owner in platform scope: its id,
/// its namespaces, its keys' namespaces and its audit actions, by tenant key.
#[derive(Debug)]
struct Stored {
    id: String,
    namespaces: BTreeMap<String, String>,
    key_namespaces: Vec<String>,
    actions: Vec<String>,
}

async fn stored_tenants(db: &TestDatabase) -> BTreeMap<String, Stored> {
    let pool = db.owner_pool().await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.scope', 'platform', true)")
        .execute(&mut *tx)
        .await
        .unwrap();

    // Nothing refers to a tenant that does not exist.
    for (table, condition) in [
        ("namespaces", "true"),
        ("api_keys", "true"),
        ("audit_events", "tenant_id IS NOT NULL"),
    ] {
        let orphans: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table}
             WHERE {condition} AND tenant_id NOT IN (SELECT id FROM tenants)"
        ))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "{table} rows of a tenant that does not exist");
    }

    let mut tenants = BTreeMap::new();
    for row in sqlx::query("SELECT id::text AS id, key FROM tenants")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    {
        tenants.insert(
            row.get::<String, _>("id"),
            (
                row.get::<String, _>("key"),
                BTreeMap::new(),
                Vec::new(),
                Vec::new(),
            ),
        );
    }
    for row in sqlx::query("SELECT tenant_id::text AS tenant, id::text AS id, key FROM namespaces")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
    {
        let tenant = tenants.get_mut(&row.get::<String, _>("tenant")).unwrap();
        tenant
            .1
            .insert(row.get::<String, _>("key"), row.get::<String, _>("id"));
    }
    for row in sqlx::query(
        "SELECT tenant_id::text AS tenant, namespace_id::text AS namespace FROM api_keys",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    {
        let tenant = tenants.get_mut(&row.get::<String, _>("tenant")).unwrap();
        tenant.2.push(row.get::<String, _>("namespace"));
    }
    for row in sqlx::query(
        "SELECT tenant_id::text AS tenant, action FROM audit_events WHERE tenant_id IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap()
    {
        let tenant = tenants.get_mut(&row.get::<String, _>("tenant")).unwrap();
        tenant.3.push(row.get::<String, _>("action"));
    }
    tx.commit().await.unwrap();
    pool.close().await;

    tenants
        .into_iter()
        .map(|(id, (key, namespaces, key_namespaces, actions))| {
            (
                key,
                Stored {
                    id,
                    namespaces,
                    key_namespaces,
                    actions,
                },
            )
        })
        .collect()
}

/// Every tenant key of the org, read through the API page by page.
async fn listed_tenants(client: &reqwest::Client, base: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client
            .get(format!("{base}/v1/orgs/{ORG}/tenants"))
            .bearer_auth(TOKEN)
            .query(&[("limit", "200")]);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("a JSON body");
        for item in page["items"].as_array().expect("items") {
            keys.insert(item["key"].as_str().expect("a key").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return keys,
        }
    }
}

#[tokio::test]
async fn a_server_killed_during_a_provisioning_load_leaves_only_whole_tenants_and_loses_none_it_acknowledged()
 {
    let db = TestDatabase::new().await;
    let mut server = serve_on(&db);
    let base = server.url("");
    let client = reqwest::Client::new();
    let (status, body) = post(
        &client,
        &base,
        "/v1/orgs",
        &json!({"key": ORG, "name": "Crash Co"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret_file = TempFile::new("crash-webhook-secret", "");
    let receiver = Receiver::start(&secret_file);
    let (status, endpoint) = post(
        &client,
        &base,
        &format!("/v1/orgs/{ORG}/webhooks"),
        &json!({"url": format!("http://127.0.0.1:{}/hooks", receiver.port),
                "eventTypes": ["tenant.provisioned"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{endpoint}");
    std::fs::write(secret_file.path(), endpoint["secret"].as_str().unwrap()).unwrap();

    let next = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(provision_until_the_crash(
                client.clone(),
                base.clone(),
                Arc::clone(&next),
                Arc::clone(&seen),
            ))
        })
        .collect();

    let deadline = Instant::now() + PATIENCE;
    while seen.lock().unwrap().acknowledged.len() < BEFORE_THE_KILL {
        assert!(
            Instant::now() < deadline,
            "fewer than {BEFORE_THE_KILL} provisionings acknowledged within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -KILL failed");
    let status = server.wait();
    assert_eq!(status.signal(), Some(9), "{:?}", server.stderr.all());
    for task in clients {
        task.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.unexpected.is_empty(), "{:?}", seen.unexpected);
    let attempted = next.load(Ordering::Relaxed).min(AT_MOST);
    assert!(
        attempted > seen.acknowledged.len(),
        "no provisioning was in flight at the kill"
    );

    let stored = stored_tenants(&db).await;
    for (key, tenant) in &stored {
        let i = tenant_number(key);
        assert!(i < attempted, "{key} was never provisioned");
        let expected: BTreeSet<String> = namespaces_of(i).into_iter().collect();
        let namespaces: BTreeSet<String> = tenant.namespaces.keys().cloned().collect();
        assert_eq!(namespaces, expected, "{key}: {tenant:?}");
        assert_eq!(
            tenant.actions,
            vec!["tenant.provisioned".to_owned()],
            "{key}: {tenant:?}"
        );
        let first = &tenant.namespaces[&namespaces_of(i)[0]];
        assert_eq!(
            tenant.key_namespaces,
            vec![first.clone()],
            "{key}: {tenant:?}"
        );
    }
    for (i, id) in &seen.acknowledged {
        let key = tenant_key(*i);
        let tenant = stored
            .get(&key)
            .unwrap_or_else(|| panic!("{key} was acknowledged with 201 and then lost"));
        assert_eq!(&tenant.id, id, "{key}");
    }

    let server = serve_on(&db);
    let base = server.url("");
    let listed = listed_tenants(&client, &base).await;
    let in_the_database: BTreeSet<String> = stored.keys().cloned().collect();
    assert_eq!(listed, in_the_database);

    let (i, id) = seen
        .acknowledged
        .iter()
        .next()
        .expect("an acknowledged tenant");
    let (status, body) = post(
        &client,
        &base,
        &format!("/v1/orgs/{ORG}/tenants"),
        &provisioning(*i),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tenant"]["id"].as_str(), Some(id.as_str()), "{body}");
    assert!(body.get("secret").is_none(), "{body}");

    // Every stored tenant's event arrives (one claimed by the killed server
    // comes once its lease ends), and none for a tenant that is not stored.
    let ids: BTreeSet<String> = stored.values().map(|t| t.id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let received = receiver.received();
        let delivered: BTreeSet<String> = received
            .iter()
            .map(|(verified, event)| {
                assert!(verified, "a signature the verifier refused: {event}");
                event["data"]["tenantId"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(delivered.is_subset(&ids), "an event without its tenant");
        if delivered == ids {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} provisioned tenants' events never arrived",
            ids.len() - delivered.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
