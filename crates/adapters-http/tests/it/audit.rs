//! The audit trail and personal data: a tenant's events read normally while
//! the tenant exists, are stored sealed with its data key, and after its
//! deletion list with their ids, action, actor and time but nothing personal.

use domain::ports::{AuditLog, DataScope};
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::TestApp;

/// Text that must never outlive the tenant it belongs to.
const PERSONAL: [&str; 5] = [
    "Acme of Ada",
    "Ada Renamed Co",
    "ada@acme.example",
    "Ada asked to leave",
    "erasure request from Ada",
];

fn by_action<'a>(events: &'a [Value], action: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event in {events:?}"))
}

/// Before the fix the listing after deletion still showed the reason and the
/// old and new names in clear:
///   the trail of a deleted tenant shows "Ada Renamed Co"
#[tokio::test]
async fn a_deleted_tenants_events_stay_listed_but_their_personal_data_is_shredded() {
    let app = TestApp::start().await;
    app.org("signstack").await;
    app.post(
        "/v1/orgs/signstack/tenants",
        &json!({
            "key": "acme",
            "name": "Acme of Ada",
            "owner": {"userId": "u-ada", "email": "ada@acme.example"},
        }),
    )
    .await
    .expect(201);
    let path = "/v1/orgs/signstack/tenants/acme";
    app.patch(path, &json!({"name": "Ada Renamed Co"}))
        .await
        .expect(200);
    app.post(
        &format!("{path}/deactivate"),
        &json!({"reason": "Ada asked to leave"}),
    )
    .await
    .expect(200);
    let events = "/v1/orgs/signstack/audit-events";

    // While the tenant exists its events read normally.
    let alive = app.all_pages(events).await;
    let renamed = by_action(&alive, "tenant.updated");
    assert_eq!(renamed["changes"][0]["from"], "Acme of Ada");
    assert_eq!(renamed["changes"][0]["to"], "Ada Renamed Co");
    assert_eq!(
        by_action(&alive, "tenant.deactivated")["reason"],
        "Ada asked to leave"
    );
    // And are stored sealed: nothing personal in the store's own records.
    let tenant_id = by_action(&alive, "tenant.provisioned")["tenantId"].clone();
    let org_id = domain::OrgId::from_uuid(alive[0]["orgId"].as_str().unwrap().parse().unwrap());
    let stored = app
        .store
        .audit_records(&DataScope::Platform, org_id, None, None, 1000)
        .await
        .unwrap();
    let stored_text = format!("{stored:?}");
    for personal in PERSONAL {
        assert!(
            !stored_text.contains(personal),
            "the store holds {personal:?} in clear"
        );
    }

    app.send(
        app.request(Method::DELETE, path)
            .query(&[("confirm", "acme"), ("reason", "erasure request from Ada")]),
    )
    .await
    .expect(200);

    let after = app.get(&format!("{events}?limit=200")).await;
    for personal in PERSONAL {
        assert!(
            !after.text.contains(personal),
            "the trail of a deleted tenant shows {personal:?}"
        );
    }
    let after = app.all_pages(events).await;
    assert_eq!(after.len(), alive.len() + 1, "every event is still listed");
    for (before, now) in alive.iter().zip(&after) {
        for field in [
            "id",
            "at",
            "actor",
            "action",
            "target",
            "orgId",
            "tenantId",
            "requestId",
        ] {
            assert_eq!(before[field], now[field], "{field} changed");
        }
    }
    for event in &after {
        if event["tenantId"] == tenant_id {
            assert_eq!(event["redacted"], true, "{event}");
            assert_eq!(event["reason"], Value::Null, "{event}");
            assert_eq!(event["changes"], json!([]), "{event}");
        } else {
            assert_eq!(event["redacted"], false, "{event}");
        }
    }
    let deleted = by_action(&after, "tenant.deleted");
    assert_eq!(deleted["target"]["id"], tenant_id);
    assert_eq!(by_action(&after, "org.created")["redacted"], false);
}
