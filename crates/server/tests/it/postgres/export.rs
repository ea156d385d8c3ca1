//! The tenant export on PostgreSQL, through the real server: every page read
//! under row-level security in the org's scope, a deactivated tenant
//! included, and the export recorded in the trail.

use serde_json::{Value, json};

use super::{Api, TOKEN, create_org, provision, serve_on};
use adapters_postgres::testing::TestDatabase;

const SECRET_VALUE: &str = "pg-export-secret-value-Kd93";

#[tokio::test]
async fn a_deactivated_tenant_exports_completely_on_postgres() {
    let db = TestDatabase::new().await;
    let server = serve_on(&db);
    let api = Api::of(&server);
    create_org(&api).await;
    let acme = provision(&api, "acme").await;
    provision(&api, "globex").await;
    let (status, body) = api
        .post_as(
            &acme,
            "/v1/namespace/resources",
            json!({"key": "welcome", "type": "blueprint", "version": "1.0.0",
                   "content": {"hello": "world"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .put(
            "/v1/orgs/signstack/tenants/acme/secrets/smtp",
            json!({"value": SECRET_VALUE}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            "/v1/orgs/signstack/tenants/acme/deactivate",
            json!({"reason": "leaving"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let response = api
        .client
        .get(format!(
            "{}/v1/orgs/signstack/tenants/acme/export",
            api.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("a whole export");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_type = |kind: &str| lines.iter().filter(|l| l["type"] == kind).count();
    assert_eq!(lines[0]["type"], "tenant");
    assert_eq!(lines[0]["status"], "deactivated");
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end", "{end}");
    for (kind, n) in [
        ("namespace", 1),
        ("api_key", 1),
        ("resource", 1),
        ("secret", 1),
    ] {
        assert_eq!(of_type(kind), n, "{kind}");
        assert_eq!(end["counts"][kind], n, "{kind}");
    }
    let actions: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "audit_event")
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.first(), Some(&"tenant.provisioned"));
    assert_eq!(actions.last(), Some(&"tenant.exported"));
    assert!(actions.contains(&"tenant.deactivated"), "{actions:?}");
    assert!(!text.contains(SECRET_VALUE));
    assert!(!text.contains(&acme[12..]), "no key secret");
    assert!(!text.contains("globex"), "nothing of another tenant");
}
