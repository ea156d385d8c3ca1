//! The library over HTTP: publish, grant, try (a pin), customize (a fork),
//! upgrade, and who sees what. Who may use it at all is tested in `library_access`,
//! which shares the fixtures below.

use serde_json::{Value, json};

use crate::app::{TestApp, secret_of};

pub(crate) const LISTINGS: &str = "/v1/orgs/signstack/library/listings";

pub(crate) fn nda(version: &str, grants: Value) -> Value {
    json!({
        "key": "standard_nda",
        "title": "Standard NDA",
        "description": "Mutual NDA approved by legal.",
        "resourceType": "blueprint",
        "version": version,
        "content": {"clauses": ["confidentiality", "term"], "version": version},
        "scope": "org",
        "accessGrants": grants,
    })
}

/// An org `signstack` with tenants `acme` and `globex`; the secrets of their
/// first namespaces' admin keys (`acme-live`, `globex-live`).
pub(crate) async fn two_tenants(app: &TestApp) -> (String, String, String) {
    app.org("signstack").await;
    let org = app.org_id("signstack").await;
    let (_, acme) = app.tenant_with_key("signstack", "acme").await;
    let (_, globex) = app.tenant_with_key("signstack", "globex").await;
    (org, acme, globex)
}

#[tokio::test]
async fn the_seed_walkthrough_pins_a_tried_listing_and_keeps_a_fork_apart() {
    let app = TestApp::start().await;
    let (org, acme, globex) = two_tenants(&app).await;
    let everyone = json!([{"orgId": org, "namespaceKeys": "*"}]);

    let published = app
        .post(LISTINGS, &nda("1.2.0", everyone.clone()))
        .await
        .expect(201);
    assert_eq!(published["listing"]["latestVersion"], "1.2.0");
    assert_eq!(published["version"]["content"]["version"], "1.2.0");

    // Both tenants' namespaces see it.
    for key in [&acme, &globex] {
        let library = app.get_as(key, "/v1/namespace/library").await.expect(200);
        let keys: Vec<&str> = library["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["standard_nda"]);
        assert!(
            library["items"][0].get("accessGrants").is_none(),
            "grants stay the publisher's"
        );
    }

    // acme tries it: a pin, no copy.
    let pin = app
        .post_as(&acme, "/v1/namespace/library/standard_nda/try", &json!({}))
        .await
        .expect(201);
    assert_eq!(pin["version"], "1.2.0");
    let resources = app
        .get_as(&acme, "/v1/namespace/resources")
        .await
        .expect(200);
    assert_eq!(resources["items"], json!([]), "trying copies nothing");

    // globex customizes it: a fork with provenance.
    let fork = app
        .post_as(
            &globex,
            "/v1/namespace/library/standard_nda/customize",
            &json!({"key": "our_nda"}),
        )
        .await
        .expect(201);
    assert_eq!(fork["key"], "our_nda");
    assert_eq!(fork["version"], "1.2.0");
    assert_eq!(fork["provenance"]["listingKey"], "standard_nda");
    assert_eq!(fork["provenance"]["version"], "1.2.0");
    assert_eq!(fork["provenance"]["orgId"], org.as_str());
    assert_eq!(fork["content"]["version"], "1.2.0");

    // A new version never moves the pin and never touches the fork.
    app.post(LISTINGS, &nda("1.3.0", everyone))
        .await
        .expect(201);
    let pinned = app
        .get_as(&acme, "/v1/namespace/installs/standard_nda/content")
        .await
        .expect(200);
    assert_eq!(pinned["install"]["version"], "1.2.0");
    assert_eq!(pinned["content"]["version"], "1.2.0");
    let untouched = app
        .get_as(&globex, "/v1/namespace/resources/our_nda")
        .await
        .expect(200);
    assert_eq!(untouched["version"], "1.2.0");
    assert_eq!(untouched["content"]["version"], "1.2.0");

    // Upgrade moves it, explicitly, and says from where to where.
    let upgraded = app
        .post_as(
            &acme,
            "/v1/namespace/library/standard_nda/upgrade",
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        (upgraded["from"].as_str(), upgraded["to"].as_str()),
        (Some("1.2.0"), Some("1.3.0"))
    );
    let pinned = app
        .get_as(&acme, "/v1/namespace/installs/standard_nda/content")
        .await
        .expect(200);
    assert_eq!(pinned["content"]["version"], "1.3.0");
    let backwards = app
        .post_as(
            &acme,
            "/v1/namespace/library/standard_nda/upgrade",
            &json!({"version": "1.2.0"}),
        )
        .await
        .expect_problem(409, "downgrade_refused");
    assert_eq!(backwards["currentVersion"], "1.3.0");
    let fork_after = app
        .get_as(&globex, "/v1/namespace/resources/our_nda")
        .await
        .expect(200);
    assert_eq!(
        fork_after["content"]["version"], "1.2.0",
        "the fork never changes"
    );

    // Every step is in the audit trail.
    let trail = app.all_pages("/v1/orgs/signstack/audit-events").await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "listing.published",
        "listing.installed",
        "resource.forked",
        "install.upgraded",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    // And stored with a tenant's details sealed, listings' (org-level) clear.
    app.assert_tenant_records_sealed().await;
}

/// Who sees a listing, as a table: each row grants the listing one way and
/// says which namespaces see it; every other namespace gets `404`.
#[tokio::test]
async fn each_namespace_sees_exactly_the_listings_granted_to_it() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.org("tigris").await;
    let signstack = app.org_id("signstack").await;
    let tigris = app.org_id("tigris").await;
    let (_, acme) = app.tenant_with_key("signstack", "acme").await;
    let (_, globex) = app.tenant_with_key("signstack", "globex").await;
    let (_, initech) = app.tenant_with_key("tigris", "initech").await;
    let callers = [
        ("acme-live", &acme),
        ("globex-live", &globex),
        ("initech-live", &initech),
    ];

    struct Row {
        listing: &'static str,
        scope: &'static str,
        grants: Value,
        seen_by: &'static [&'static str],
    }
    let rows = [
        Row {
            listing: "to_everyone",
            scope: "org",
            grants: json!([{"orgId": signstack, "namespaceKeys": "*"}]),
            seen_by: &["acme-live", "globex-live"],
        },
        Row {
            listing: "to_a_list",
            scope: "org",
            grants: json!([{"orgId": signstack, "namespaceKeys": ["globex-live"]}]),
            seen_by: &["globex-live"],
        },
        Row {
            listing: "to_another_org",
            scope: "platform",
            grants: json!([{"orgId": tigris, "namespaceKeys": "*"}]),
            seen_by: &["initech-live"],
        },
        Row {
            listing: "to_nobody",
            scope: "org",
            grants: json!([]),
            seen_by: &[],
        },
        Row {
            listing: "revoked",
            scope: "org",
            grants: json!([{"orgId": signstack, "namespaceKeys": "*"}]),
            seen_by: &[],
        },
    ];
    for row in &rows {
        let body = json!({
            "key": row.listing, "title": row.listing, "resourceType": "blueprint",
            "version": "1.0.0", "content": {"row": row.listing}, "scope": row.scope,
            "accessGrants": row.grants,
        });
        app.post(LISTINGS, &body).await.expect(201);
    }
    app.put(
        &format!("{LISTINGS}/revoked/grants"),
        &json!({"accessGrants": []}),
    )
    .await
    .expect(200);

    for (ns, key) in callers {
        let library = app.get_as(key, "/v1/namespace/library").await.expect(200);
        let mut seen: Vec<&str> = library["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["key"].as_str().unwrap())
            .collect();
        seen.sort_unstable();
        let mut expected: Vec<&str> = rows
            .iter()
            .filter(|r| r.seen_by.contains(&ns))
            .map(|r| r.listing)
            .collect();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{ns} lists");
        for row in &rows {
            let path = format!("/v1/namespace/library/{}", row.listing);
            let try_path = format!("{path}/try");
            if row.seen_by.contains(&ns) {
                app.get_as(key, &path).await.expect(200);
            } else {
                app.get_as(key, &path)
                    .await
                    .expect_problem(404, "not_found");
                app.post_as(key, &try_path, &json!({}))
                    .await
                    .expect_problem(404, "not_found");
                app.post_as(key, &format!("{path}/customize"), &json!({}))
                    .await
                    .expect_problem(404, "not_found");
            }
        }
    }
    // The other org cannot read the publisher's listings through its own org key.
    let tigris_key = secret_of(&app.org_key("tigris").await);
    app.get_as(&tigris_key, LISTINGS)
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn revoking_a_grant_stops_new_installs_but_pins_keep_resolving() {
    let app = TestApp::start().await;
    let (org, acme, globex) = two_tenants(&app).await;
    app.post(
        LISTINGS,
        &nda("1.0.0", json!([{"orgId": org, "namespaceKeys": "*"}])),
    )
    .await
    .expect(201);
    app.post_as(&acme, "/v1/namespace/library/standard_nda/try", &json!({}))
        .await
        .expect(201);
    let listing = app
        .put(
            &format!("{LISTINGS}/standard_nda/grants"),
            &json!({"accessGrants": []}),
        )
        .await
        .expect(200);
    assert_eq!(listing["accessGrants"], json!([]));

    let pinned = app
        .get_as(&acme, "/v1/namespace/installs/standard_nda/content")
        .await
        .expect(200);
    assert_eq!(pinned["content"]["version"], "1.0.0");
    let installs = app
        .get_as(&acme, "/v1/namespace/installs")
        .await
        .expect(200);
    assert_eq!(installs["items"].as_array().unwrap().len(), 1);
    app.get_as(&acme, "/v1/namespace/library/standard_nda")
        .await
        .expect_problem(404, "not_found");
    app.post_as(
        &acme,
        "/v1/namespace/library/standard_nda/upgrade",
        &json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post_as(
        &globex,
        "/v1/namespace/library/standard_nda/try",
        &json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    let trail = app.all_pages("/v1/orgs/signstack/audit-events").await;
    assert!(
        trail
            .iter()
            .any(|e| e["action"] == "listing.grants_changed")
    );
}

#[tokio::test]
async fn versions_follow_semver_and_bad_versions_or_content_store_nothing() {
    let app = TestApp::start().await;
    let (org, acme, _) = two_tenants(&app).await;
    let grants = json!([{"orgId": org, "namespaceKeys": "*"}]);
    app.post(LISTINGS, &nda("1.2.0", grants.clone()))
        .await
        .expect(201);

    // The same version with the same content is a replay; with other content, a conflict.
    let replay = app
        .post(LISTINGS, &nda("1.2.0", grants.clone()))
        .await
        .expect(200);
    assert_eq!(replay["version"]["version"], "1.2.0");
    let mut other = nda("1.2.0", grants.clone());
    other["content"] = json!({"changed": true});
    app.post(LISTINGS, &other)
        .await
        .expect_problem(409, "version_conflict");
    // Not greater than the latest.
    for lower in ["1.1.9", "1.2.0-rc.1", "0.9.0"] {
        let problem = app
            .post(LISTINGS, &nda(lower, grants.clone()))
            .await
            .expect_problem(409, "version_not_increasing");
        assert_eq!(problem["currentVersion"], "1.2.0", "{lower}");
    }
    // Not a version at all.
    for invalid in ["1.2", "v1.3.0", "1.3.0+build.1", "latest", ""] {
        let problem = app
            .post(LISTINGS, &nda(invalid, grants.clone()))
            .await
            .expect_problem(400, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "version", "{invalid:?}");
    }
    // Content over 1 MiB never gets in.
    let mut huge = nda("2.0.0", grants.clone());
    huge["content"] = Value::from("x".repeat(1 << 20));
    app.post(LISTINGS, &huge)
        .await
        .expect_problem(413, "payload_too_large");

    let listing = app
        .get(&format!("{LISTINGS}/standard_nda"))
        .await
        .expect(200);
    let versions: Vec<&str> = listing["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.2.0"], "nothing refused was stored");
    let stored = app
        .get(&format!("{LISTINGS}/standard_nda/versions/1.2.0"))
        .await
        .expect(200);
    assert_eq!(stored["content"]["version"], "1.2.0");

    // The same rules hold for a namespace's own resources.
    let resource = |version: &str, content: Value| json!({"key": "welcome", "type": "blueprint", "version": version, "content": content});
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("1.0.0", json!({"a": 1, "b": 2})),
    )
    .await
    .expect(201);
    // Another spelling of the same JSON is the same content.
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("1.0.0", json!({"b": 2, "a": 1})),
    )
    .await
    .expect(200);
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("1.0.0", json!({"a": 2})),
    )
    .await
    .expect_problem(409, "version_conflict");
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("0.1.0", json!({})),
    )
    .await
    .expect_problem(409, "version_not_increasing");
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("two", json!({})),
    )
    .await
    .expect_problem(400, "validation_failed");
    let mut other_type = resource("2.0.0", json!({}));
    other_type["type"] = json!("workflow");
    app.post_as(&acme, "/v1/namespace/resources", &other_type)
        .await
        .expect_problem(409, "conflict");
    app.post_as(
        &acme,
        "/v1/namespace/resources",
        &resource("1.1.0", json!({"a": 3})),
    )
    .await
    .expect(201);
    let latest = app
        .get_as(&acme, "/v1/namespace/resources/welcome")
        .await
        .expect(200);
    assert_eq!(latest["version"], "1.1.0");
    let first = app
        .get_as(&acme, "/v1/namespace/resources/welcome/versions/1.0.0")
        .await
        .expect(200);
    assert_eq!(first["content"], json!({"a": 1, "b": 2}));
    app.get_as(&acme, "/v1/namespace/resources/welcome/versions/1.0.1")
        .await
        .expect_problem(404, "not_found");
}
