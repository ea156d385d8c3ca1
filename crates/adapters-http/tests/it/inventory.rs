//! The tenant inventory: search, filters, sorting and keyset pagination.

use std::collections::HashSet;
use std::sync::Arc;

use adapters_memory::MemoryStore;
use domain::ports::{MockTenantStore, StoreError, TenantStore};
use serde_json::{Value, json};

use crate::app::{TestApp, ready, two_regions};

/// Two orgs, five tenants with distinct names, plans, regions, metadata and states.
async fn fleet() -> TestApp {
    let app = TestApp::builder().regions(two_regions()).start().await;
    app.org("signstack").await;
    app.org("tigris").await;
    let specs = [
        (
            "signstack",
            json!({"key": "acme", "name": "Acme Corp", "plan": "pro", "metadata": {"tier": "gold", "crm": "a1"}}),
        ),
        (
            "signstack",
            json!({"key": "bolt", "name": "Bolt Labs", "plan": "free", "metadata": {"tier": "silver"}}),
        ),
        (
            "signstack",
            json!({"key": "cider", "name": "cider & co", "plan": "pro", "metadata": {"tier": "gold", "crm": "c3"}}),
        ),
        (
            "tigris",
            json!({"key": "delta", "name": "Delta Air", "plan": "enterprise"}),
        ),
        (
            "tigris",
            json!({"key": "echo", "name": "Echo Acme", "plan": "free"}),
        ),
    ];
    for (org, spec) in specs {
        app.post(&format!("/v1/orgs/{org}/tenants"), &spec)
            .await
            .expect(201);
    }
    app.post(
        "/v1/orgs/signstack/tenants/bolt/suspend",
        &json!({"reason": "unpaid"}),
    )
    .await
    .expect(200);
    let path = "/v1/orgs/tigris/tenants/delta";
    app.post(&format!("{path}/deactivate"), &json!({"reason": "left"}))
        .await
        .expect(200);
    app.delete(&format!("{path}?confirm=delta"))
        .await
        .expect(200);
    app
}

async fn keys(app: &TestApp, query: &str) -> Vec<String> {
    app.all_pages(&format!("/v1/tenants{query}"))
        .await
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_matches_names_keys_and_ids() {
    let app = fleet().await;
    assert_eq!(
        keys(&app, "?q=acme").await,
        ["acme", "echo"],
        "name, case-insensitive"
    );
    assert_eq!(keys(&app, "?q=CIDER").await, ["cider"]);
    assert_eq!(
        keys(&app, "?q=bol").await,
        ["bolt"],
        "key or name substring"
    );
    let echo = app.get("/v1/orgs/tigris/tenants/echo").await.expect(200);
    let id = echo["id"].as_str().unwrap();
    assert_eq!(keys(&app, &format!("?q={id}")).await, ["echo"], "exact id");
    assert!(keys(&app, "?q=zzz").await.is_empty());
}

#[tokio::test]
async fn each_filter_narrows_the_inventory() {
    let app = fleet().await;
    assert_eq!(
        keys(&app, "").await,
        ["acme", "bolt", "cider", "echo"],
        "no tombstones by default"
    );
    assert_eq!(keys(&app, "?status=suspended").await, ["bolt"]);
    assert_eq!(
        keys(&app, "?status=active").await,
        ["acme", "cider", "echo"]
    );
    assert_eq!(keys(&app, "?status=deleted").await, ["delta"]);
    assert_eq!(keys(&app, "?plan=pro").await, ["acme", "cider"]);
    assert_eq!(
        keys(&app, "?region=eu-west").await,
        ["acme", "bolt", "cider", "echo"]
    );
    assert!(keys(&app, "?region=us-old").await.is_empty());
    assert_eq!(keys(&app, "?org=tigris").await, ["echo"]);
    let tigris = app.get("/v1/orgs/tigris").await.expect(200);
    let tigris_id = tigris["id"].as_str().unwrap();
    assert_eq!(
        keys(&app, &format!("?org={tigris_id}")).await,
        ["echo"],
        "org by id"
    );
    assert!(
        keys(&app, "?org=nowhere").await.is_empty(),
        "unknown org: empty page"
    );
    assert!(keys(&app, "?org=Not_A_Key").await.is_empty());
    assert_eq!(keys(&app, "?metadata.tier=gold").await, ["acme", "cider"]);
    assert_eq!(
        keys(&app, "?metadata.tier=gold&metadata.crm=c3").await,
        ["cider"]
    );
    assert_eq!(keys(&app, "?plan=pro&q=acme&org=signstack").await, ["acme"]);
    assert_eq!(
        keys(&app, "?q=").await.len(),
        4,
        "an empty value is no filter"
    );
}

#[tokio::test]
async fn the_org_inventory_shows_only_that_orgs_tenants() {
    let app = fleet().await;
    let listed: Vec<String> = app
        .all_pages("/v1/orgs/signstack/tenants?metadata.tier=gold&sort=-name")
        .await
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["cider", "acme"]);
    app.get("/v1/orgs/nowhere/tenants")
        .await
        .expect_problem(404, "not_found");
    app.get("/v1/orgs/signstack/tenants?org=tigris")
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test]
async fn every_sort_order_is_honoured() {
    let app = fleet().await;
    assert_eq!(
        keys(&app, "?sort=createdAt").await,
        ["acme", "bolt", "cider", "echo"]
    );
    assert_eq!(
        keys(&app, "?sort=-createdAt").await,
        ["echo", "cider", "bolt", "acme"]
    );
    // Byte order: capitals before lowercase.
    assert_eq!(
        keys(&app, "?sort=name").await,
        ["acme", "bolt", "echo", "cider"]
    );
    assert_eq!(
        keys(&app, "?sort=-name").await,
        ["cider", "echo", "bolt", "acme"]
    );
}

#[tokio::test]
async fn pages_follow_their_cursor_in_every_order() {
    let app = fleet().await;
    for sort in ["createdAt", "-createdAt", "name", "-name"] {
        let whole = keys(&app, &format!("?sort={sort}")).await;
        let mut paged = Vec::new();
        let mut url = format!("/v1/tenants?sort={sort}&limit=1");
        loop {
            let page = app.get(&url).await.expect(200);
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1);
            paged.extend(items.iter().map(|t| t["key"].as_str().unwrap().to_owned()));
            match page["nextCursor"].as_str() {
                Some(c) => url = format!("/v1/tenants?sort={sort}&limit=1&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(paged, whole, "{sort}");
    }
}

#[tokio::test]
async fn bad_listing_parameters_are_invalid_queries() {
    let app = fleet().await;
    let cases = [
        ("?status=archived", "status"),
        ("?sort=size", "sort"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=ten", "limit"),
        ("?plan=Pro!", "plan"),
        ("?region=x", "region"),
        ("?color=blue", "color"),
        ("?status=active&status=suspended", "status"),
        ("?metadata.=x", "metadata."),
    ];
    for (query, field) in cases {
        let problem = app
            .get(&format!("/v1/tenants{query}"))
            .await
            .expect_problem(400, "invalid_query");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem:#}");
    }
    let all = app
        .get("/v1/tenants?status=archived&limit=0&color=blue")
        .await
        .expect_problem(400, "invalid_query");
    assert_eq!(
        all["errors"].as_array().unwrap().len(),
        3,
        "every error at once"
    );
}

#[tokio::test]
async fn foreign_or_forged_cursors_are_refused() {
    let app = fleet().await;
    let page = app.get("/v1/tenants?limit=1").await.expect(200);
    let cursor = page["nextCursor"].as_str().unwrap();
    app.get(&format!("/v1/tenants?limit=1&sort=name&cursor={cursor}"))
        .await
        .expect_problem(400, "invalid_cursor");
    app.get("/v1/tenants?cursor=not-a-cursor")
        .await
        .expect_problem(400, "invalid_cursor");
    app.get("/v1/orgs?cursor=not-a-cursor")
        .await
        .expect_problem(400, "invalid_cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_while_tenants_are_added_neither_skips_nor_repeats() {
    let app = Arc::new(TestApp::start().await);
    app.org("signstack").await;
    let mut existing = HashSet::new();
    for i in 0..40 {
        let tenant = app.tenant("signstack", &format!("before-{i:02}")).await;
        existing.insert(tenant["id"].as_str().unwrap().to_owned());
    }

    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                app.tenant("signstack", &format!("during-{i:02}")).await;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen: Vec<String> = Vec::new();
    let mut url = "/v1/tenants?limit=7".to_owned();
    loop {
        let page = app.get(&url).await.expect(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(
            items
                .iter()
                .map(|t: &Value| t["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => url = format!("/v1/tenants?limit=7&cursor={c}"),
            None => break,
        }
    }
    writer.await.expect("the writer finishes");

    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no id repeats");
    let missing: Vec<_> = existing.difference(&unique).collect();
    assert!(missing.is_empty(), "skipped: {missing:?}");
}

// Before the domain refused them, each of these reached the store and was
// answered: "assertion `left == right` failed ... left: (200, ...)".
#[tokio::test]
async fn searches_and_filters_that_would_read_every_tenant_are_refused_with_400() {
    let app = fleet().await;
    let long_value = "g".repeat(513);
    let cases = [
        ("?q=ac".to_owned(), "q"),
        (format!("?q={}", "a".repeat(201)), "q"),
        (format!("?metadata.tier={long_value}"), "metadata.tier"),
    ];
    for (query, field) in cases {
        for path in ["/v1/tenants", "/v1/orgs/signstack/tenants"] {
            let problem = app
                .get(&format!("{path}{query}"))
                .await
                .expect_problem(400, "invalid_query");
            assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem:#}");
        }
    }
    app.get("/v1/tenants?q=acm").await.expect(200);
}

/// A tenant port whose inventory always ran out of its time.
fn too_broad_tenants(store: Arc<MemoryStore>) -> MockTenantStore {
    let mut mock = MockTenantStore::new();
    mock.expect_get_tenant()
        .returning(move |scope, r| ready(store.get_tenant(scope, r)));
    mock.expect_list_tenants()
        .returning(|_, _| Err(StoreError::QueryTooBroad));
    mock
}

// Before `QueryTooBroad` had a problem of its own, the statement timeout of an
// inventory query answered 503 `unavailable`, as if the server were at fault.
#[tokio::test]
async fn an_inventory_query_stopped_for_reading_too_much_answers_422_search_too_broad() {
    let store = Arc::new(MemoryStore::new());
    let app = TestApp::builder()
        .store(store.clone())
        .tenants(Arc::new(too_broad_tenants(store)))
        .start()
        .await;
    app.org("signstack").await;
    for path in [
        "/v1/tenants?q=common",
        "/v1/orgs/signstack/tenants?q=common",
    ] {
        let reply = app.get(path).await;
        let problem = reply.expect_problem(422, "search_too_broad");
        assert!(
            problem["detail"].as_str().unwrap().contains("narrow"),
            "{problem:#}"
        );
    }
}
