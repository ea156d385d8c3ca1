//! Who may publish and use the library: platform listings need the admin,
//! forks count against the resource quota, keys reach it only within their
//! scopes and resources, and a namespace never sees another tenant's resources
//! or installs. The fixtures are `library`'s.

use serde_json::json;

use crate::app::{TestApp, secret_of};
use crate::library::{LISTINGS, nda, two_tenants};

#[tokio::test]
async fn org_listings_stay_in_their_org_and_platform_listings_need_the_admin() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.org("tigris").await;
    let tigris = app.org_id("tigris").await;
    let org_key = secret_of(&app.org_key("signstack").await);
    let to_tigris = json!([{"orgId": tigris, "namespaceKeys": "*"}]);

    let problem = app
        .post(LISTINGS, &nda("1.0.0", to_tigris.clone()))
        .await
        .expect_problem(400, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "accessGrants[0].orgId");
    let mut platform = nda("1.0.0", to_tigris.clone());
    platform["scope"] = json!("platform");
    app.post_as(&org_key, LISTINGS, &platform)
        .await
        .expect_problem(403, "forbidden");
    let unknown = json!([{"orgId": "00000000-0000-0000-0000-000000000001", "namespaceKeys": "*"}]);
    let mut to_nowhere = nda("1.0.0", unknown);
    to_nowhere["scope"] = json!("platform");
    app.post(LISTINGS, &to_nowhere)
        .await
        .expect_problem(400, "validation_failed");
    for bad in [json!("all"), json!([]), json!(["Not A Key"]), json!(7)] {
        let grants = json!([{"orgId": tigris, "namespaceKeys": bad}]);
        app.post(LISTINGS, &nda("1.0.0", grants))
            .await
            .expect_problem(400, "validation_failed");
    }
    let listings = app.get(LISTINGS).await.expect(200);
    assert_eq!(listings["items"], json!([]), "nothing refused was stored");

    app.post(LISTINGS, &platform).await.expect(201);
    // An org key may not republish or regrant a platform listing.
    let mut next = platform.clone();
    next["version"] = json!("1.1.0");
    app.post_as(&org_key, LISTINGS, &next)
        .await
        .expect_problem(403, "forbidden");
    app.put_as(
        &org_key,
        &format!("{LISTINGS}/standard_nda/grants"),
        &json!({"accessGrants": []}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn forks_count_against_the_resource_quota() {
    let app = TestApp::builder().max_resources(2).start().await;
    let (org, acme, _) = two_tenants(&app).await;
    app.post(
        LISTINGS,
        &nda("1.0.0", json!([{"orgId": org, "namespaceKeys": "*"}])),
    )
    .await
    .expect(201);
    let own = json!({"key": "welcome", "type": "blueprint", "version": "1.0.0", "content": {}});
    app.post_as(&acme, "/v1/namespace/resources", &own)
        .await
        .expect(201);
    app.post_as(
        &acme,
        "/v1/namespace/library/standard_nda/customize",
        &json!({}),
    )
    .await
    .expect(201);
    // A new version of an existing resource is no new resource.
    let mut next = own.clone();
    next["version"] = json!("1.1.0");
    app.post_as(&acme, "/v1/namespace/resources", &next)
        .await
        .expect(201);
    let problem = app
        .post_as(
            &acme,
            "/v1/namespace/library/standard_nda/customize",
            &json!({"key": "second"}),
        )
        .await
        .expect_problem(403, "quota_exceeded");
    assert_eq!(
        (
            problem["quota"].as_str(),
            problem["used"].as_u64(),
            problem["limit"].as_u64()
        ),
        (Some("max_resources"), Some(2), Some(2))
    );
    let third = json!({"key": "third", "type": "blueprint", "version": "1.0.0", "content": {}});
    app.post_as(&acme, "/v1/namespace/resources", &third)
        .await
        .expect_problem(403, "quota_exceeded");
    // Trying in place copies nothing, so the quota does not stop it.
    app.post_as(&acme, "/v1/namespace/library/standard_nda/try", &json!({}))
        .await
        .expect(201);
    let resources = app
        .get_as(&acme, "/v1/namespace/resources")
        .await
        .expect(200);
    assert_eq!(resources["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn keys_reach_the_library_only_within_their_scopes_and_resources() {
    let app = TestApp::start().await;
    let (org, _, _) = two_tenants(&app).await;
    app.post(
        LISTINGS,
        &nda("1.0.0", json!([{"orgId": org, "namespaceKeys": "*"}])),
    )
    .await
    .expect(201);
    // A member key reads the library but cannot install from it.
    let member = app
        .post(
            "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys",
            &json!({"name": "member", "role": "member"}),
        )
        .await
        .expect(201);
    let member = secret_of(&member);
    app.get_as(&member, "/v1/namespace/library")
        .await
        .expect(200);
    app.post_as(
        &member,
        "/v1/namespace/library/standard_nda/try",
        &json!({}),
    )
    .await
    .expect_problem(403, "missing_scope");
    // A key restricted to some resources touches only those.
    let restricted = app
        .post(
            "/v1/orgs/signstack/tenants/acme/namespaces/acme-live/api-keys",
            &json!({"name": "restricted", "role": "admin", "resources": ["allowed"]}),
        )
        .await
        .expect(201);
    let restricted = secret_of(&restricted);
    let body =
        |key: &str| json!({"key": key, "type": "blueprint", "version": "1.0.0", "content": {}});
    app.post_as(&restricted, "/v1/namespace/resources", &body("allowed"))
        .await
        .expect(201);
    app.post_as(&restricted, "/v1/namespace/resources", &body("other"))
        .await
        .expect_problem(403, "forbidden");
    app.post_as(
        &restricted,
        "/v1/namespace/library/standard_nda/customize",
        &json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post_as(&member, "/v1/namespace/resources", &body("other"))
        .await
        .expect(201);
    let seen = app
        .get_as(&restricted, "/v1/namespace/resources")
        .await
        .expect(200);
    let keys: Vec<&str> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["allowed"]);
    app.get_as(&restricted, "/v1/namespace/resources/other")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_namespace_never_sees_another_tenants_resources_or_installs() {
    let app = TestApp::start().await;
    let (org, acme, globex) = two_tenants(&app).await;
    app.post(
        LISTINGS,
        &nda(
            "1.0.0",
            json!([{"orgId": org, "namespaceKeys": ["acme-live"]}]),
        ),
    )
    .await
    .expect(201);
    let body =
        json!({"key": "secret_plan", "type": "blueprint", "version": "1.0.0", "content": {"s": 1}});
    app.post_as(&acme, "/v1/namespace/resources", &body)
        .await
        .expect(201);
    app.post_as(&acme, "/v1/namespace/library/standard_nda/try", &json!({}))
        .await
        .expect(201);

    app.get_as(&globex, "/v1/namespace/resources/secret_plan")
        .await
        .expect_problem(404, "not_found");
    let listed = app
        .get_as(&globex, "/v1/namespace/resources")
        .await
        .expect(200);
    assert_eq!(listed["items"], json!([]));
    let installs = app
        .get_as(&globex, "/v1/namespace/installs")
        .await
        .expect(200);
    assert_eq!(installs["items"], json!([]));
    app.get_as(&globex, "/v1/namespace/installs/standard_nda/content")
        .await
        .expect_problem(404, "not_found");
    // The same key in globex is globex's own.
    app.post_as(&globex, "/v1/namespace/resources", &body)
        .await
        .expect(201);
}
