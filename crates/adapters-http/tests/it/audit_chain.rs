//! The audit chain over HTTP (issue #14): events carry their `seq` and
//! `hash`; `verify` names the first broken `seq` of a tampered store and
//! catches a cut tail against a kept checkpoint; checkpoints verify with
//! ed25519-dalek from the published public key alone; the list filters.

use domain::{AuditId, AuditLink, ChainHash, OrgId};
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::app::TestApp;

const EVENTS: &str = "/v1/orgs/signstack/audit-events";

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An org with org-level and tenant events, one tenant deleted (its
/// details shredded).
async fn history(app: &TestApp) {
    app.org("signstack").await;
    app.post(
        "/v1/orgs/signstack/tenants",
        &json!({"key": "acme", "name": "Acme of Ada", "owner": {"userId": "u-ada", "email": "ada@acme.example"}}),
    )
    .await
    .expect(201);
    app.tenant("signstack", "bolt").await;
    app.patch(
        "/v1/orgs/signstack/tenants/acme",
        &json!({"name": "Acme \"2\" é"}),
    )
    .await
    .expect(200);
    app.post(
        "/v1/orgs/signstack/tenants/bolt/deactivate",
        &json!({"reason": "churned"}),
    )
    .await
    .expect(200);
    app.send(
        app.request(Method::DELETE, "/v1/orgs/signstack/tenants/bolt")
            .query(&[("confirm", "bolt")]),
    )
    .await
    .expect(200);
    app.org("tigris").await;
}

async fn verify(app: &TestApp, query: &str) -> Value {
    app.get(&format!("{EVENTS}/verify{query}"))
        .await
        .expect(200)
}

#[tokio::test]
async fn events_carry_their_link_and_an_untouched_chain_verifies_even_after_a_deletion() {
    let app = TestApp::start().await;
    history(&app).await;
    let events = app.all_pages(&format!("{EVENTS}?limit=2")).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(
        events
            .iter()
            .any(|e| e["tenantId"].is_string() && e["redacted"] == true),
        "bolt's events are shredded: {events:?}"
    );
    let report = verify(&app, "").await;
    let last = events.last().unwrap();
    assert_eq!(
        report,
        json!({
            "intact": true,
            "checked": events.len(),
            "head": {"seq": last["seq"], "hash": last["hash"]},
            "firstBrokenSeq": null,
            "truncated": false,
        })
    );
    // Another org's chain is its own, from 1.
    let tigris = app.get("/v1/orgs/tigris/audit-events").await.expect(200);
    assert_eq!(tigris["items"][0]["seq"], 1);
    let empty_checkpoint = app
        .get("/v1/orgs/tigris/audit-events/checkpoint")
        .await
        .expect(200);
    assert_eq!(empty_checkpoint["seq"], 1);
}

#[tokio::test]
async fn a_stored_event_edited_behind_the_apis_back_is_named_by_its_seq() {
    let app = TestApp::start().await;
    history(&app).await;
    let events = app.all_pages(EVENTS).await;
    let edits: Vec<fn(&mut AuditLink)> = vec![
        |l| l.record.actor.id.push('x'),
        |l| l.record.at += chrono::Duration::microseconds(1),
        |l| l.record.request_id = None,
        |l| l.hash = ChainHash::from_bytes([1; 32]),
        |l| match &mut l.record.details {
            domain::AuditDetails::Sealed(bytes) => bytes[0] ^= 1,
            domain::AuditDetails::Clear { changes, .. } => changes.clear(),
            domain::AuditDetails::Shredded => unreachable!("stored forms only"),
        },
    ];
    for (n, edit) in edits.into_iter().enumerate() {
        let event = &events[n % events.len()];
        let id = AuditId::from_uuid(event["id"].as_str().unwrap().parse().unwrap());
        let mut before = None;
        assert!(app.store.tamper_with_audit_record(id, |l| {
            before = Some(l.clone());
            edit(l);
        }));
        let report = verify(&app, "").await;
        assert_eq!(report["firstBrokenSeq"], event["seq"], "edit {n}: {report}");
        assert_eq!(report["intact"], false);
        let before = before.unwrap();
        app.store.tamper_with_audit_record(id, |l| *l = before);
        assert_eq!(verify(&app, "").await["intact"], true);
    }
}

#[tokio::test]
async fn checkpoints_verify_with_the_public_key_alone_and_catch_a_cut_tail() {
    let app = TestApp::start().await;
    history(&app).await;
    let checkpoint = app.get(&format!("{EVENTS}/checkpoint")).await.expect(200);
    let key = app.get("/v1/audit/signing-key").await.expect(200);
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(key["keyId"], checkpoint["keyId"]);

    // The signed message, rebuilt from the answer as the docs say: the
    // canonical JSON (sorted keys, no spaces) of every field but the signature.
    let mut fields = checkpoint.as_object().unwrap().clone();
    let signature = fields.remove("signature").unwrap();
    let sorted: Map<String, Value> = fields.into_iter().collect();
    let message = serde_json::to_vec(&Value::Object(sorted)).unwrap();
    let public: [u8; 32] = hex_bytes(key["publicKey"].as_str().unwrap())
        .try_into()
        .unwrap();
    let public = VerifyingKey::from_bytes(&public).unwrap();
    let signature: [u8; 64] = hex_bytes(signature.as_str().unwrap()).try_into().unwrap();
    let signature = Signature::from_bytes(&signature);
    public
        .verify(&message, &signature)
        .expect("the checkpoint verifies with the published key");
    let mut forged = checkpoint.clone();
    forged["seq"] = json!(checkpoint["seq"].as_u64().unwrap() - 1);
    let mut forged_fields = forged.as_object().unwrap().clone();
    forged_fields.remove("signature");
    let forged_message = serde_json::to_vec(&Value::Object(forged_fields)).unwrap();
    assert!(public.verify(&forged_message, &signature).is_err());

    let seq = checkpoint["seq"].as_u64().unwrap();
    let kept = format!("?seq={seq}&hash={}", checkpoint["hash"].as_str().unwrap());
    assert_eq!(verify(&app, &kept).await["intact"], true);
    // Later events keep the checkpoint valid.
    app.tenant("signstack", "cobalt").await;
    assert_eq!(verify(&app, &kept).await["truncated"], false);

    // The last three events removed from the store: the chain alone still
    // verifies, the checkpoint does not.
    let org = OrgId::from_uuid(checkpoint["orgId"].as_str().unwrap().parse().unwrap());
    app.store.remove_audit_records_after(org, seq - 2);
    let alone = verify(&app, "").await;
    assert_eq!(alone["intact"], true);
    assert_eq!(alone["head"]["seq"], seq - 2);
    let against = verify(&app, &kept).await;
    assert_eq!(against["truncated"], true);
    assert_eq!(against["intact"], false);
    assert_eq!(against["firstBrokenSeq"], Value::Null);
    // The next event links to the removed head: the gap is named.
    app.tenant("signstack", "delta").await;
    assert_eq!(verify(&app, "").await["firstBrokenSeq"], seq - 1);
}

#[tokio::test]
async fn audit_events_are_filtered_by_tenant_action_actor_and_time() {
    let app = TestApp::start().await;
    history(&app).await;
    let org_key = app.org_key("signstack").await;
    let secret = org_key["secret"].as_str().unwrap();
    app.request_as(secret, Method::PATCH, "/v1/orgs/signstack/tenants/acme")
        .json(&json!({"name": "Acme by key"}))
        .send()
        .await
        .unwrap();
    let all = app.all_pages(EVENTS).await;
    let actions = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let provisioned = app
        .all_pages(&format!("{EVENTS}?action=tenant.provisioned&limit=1"))
        .await;
    assert_eq!(actions(&provisioned), ["tenant.provisioned"; 2]);
    let acme = app.all_pages(&format!("{EVENTS}?tenant=acme")).await;
    assert!(acme.iter().all(|e| e["tenantId"] == acme[0]["tenantId"]));
    assert_eq!(acme.len(), 3, "{acme:?}");
    let key_id = org_key["apiKey"]["id"].as_str().unwrap();
    let by_key = app.all_pages(&format!("{EVENTS}?actor={key_id}")).await;
    assert_eq!(actions(&by_key), ["tenant.updated"]);
    let at = all[1]["at"].as_str().unwrap();
    let encoded = at.replace('+', "%2B");
    let since = app.all_pages(&format!("{EVENTS}?since={encoded}")).await;
    let until = app.all_pages(&format!("{EVENTS}?until={encoded}")).await;
    assert_eq!(
        since.len() + until.len(),
        all.len(),
        "since and until split the trail"
    );
    assert!(since.iter().all(|e| e["at"].as_str().unwrap() >= at));

    for bad in [
        "?action=tenant.exploded",
        "?since=yesterday",
        "?until=2026-13-01T00:00:00Z",
        "?limit=0",
        "?other=1",
    ] {
        app.get(&format!("{EVENTS}{bad}"))
            .await
            .expect_problem(400, "invalid_query");
    }
}

#[tokio::test]
async fn verify_refuses_half_a_checkpoint_and_the_chain_is_the_orgs_business_only() {
    let app = TestApp::start().await;
    history(&app).await;
    for bad in [
        "?seq=3",
        "?hash=00",
        &format!("?seq=x&hash={}", "0".repeat(64)),
        &format!("?seq=1&hash={}", "g".repeat(64)),
    ] {
        app.get(&format!("{EVENTS}/verify{bad}"))
            .await
            .expect_problem(400, "invalid_query");
    }
    // Another org's key reads no chain of this org; a namespace key none.
    let tigris = app.org_key("tigris").await;
    let tigris = tigris["secret"].as_str().unwrap();
    for path in [format!("{EVENTS}/verify"), format!("{EVENTS}/checkpoint")] {
        app.get_as(tigris, &path)
            .await
            .expect_problem(404, "not_found");
    }
    let (_, ns_key) = app.tenant_with_key("signstack", "echo").await;
    app.get_as(&ns_key, &format!("{EVENTS}/verify"))
        .await
        .expect_problem(403, "forbidden");
    let own = app.org_key("signstack").await;
    let own = own["secret"].as_str().unwrap();
    assert_eq!(
        app.get_as(own, &format!("{EVENTS}/verify"))
            .await
            .expect(200)["intact"],
        true
    );
    app.get_as(own, &format!("{EVENTS}/checkpoint"))
        .await
        .expect(200);
}
