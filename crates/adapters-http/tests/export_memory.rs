//! A tenant export holds flat memory: the live heap's high-water mark while a
//! tenant with 100,000 audit events is exported through the real router (the
//! domain's walk, the lines, the streamed body, read chunk by chunk) stays
//! under a fixed bound, and no higher than for 1,000 events plus slack.
//!
//! Its own test binary, against the one-binary-per-crate habit, on purpose:
//! the counting global allocator sees every thread of the process, so no
//! other test may run beside this one, and the export runs on a
//! current-thread runtime so that nothing but it allocates while measured.
//! It measures bytes, never time.

use std::alloc::System;
use std::sync::Arc;

use adapters_http::{HttpConfig, RequestLimits, router};
use adapters_memory::{ManualClock, MemoryStore};
use axum::body::Body;
use axum::http::Request;
use domain::ports::{AuditLog, Clock, DataScope};
use domain::{
    AuditAction, AuditDetails, AuditId, AuditRecord, Change, Context, Metadata, Name, NewOrg,
    OrgKey, OrgRef, ProvisionTenant, Settings, TargetKind, Tenancy, TenantKey,
};
use futures_util::StreamExt;
use peakmem_alloc::{INSTRUMENTED_SYSTEM, PeakMemAlloc, PeakMemAllocTrait};
use tower::ServiceExt;
use uuid::Uuid;

#[global_allocator]
static HEAP: &PeakMemAlloc<System> = &INSTRUMENTED_SYSTEM;

const TOKEN: &str = "export-memory-admin-token";

/// The bound the brief sets for the largest export's live heap growth.
const BOUND: usize = 8 << 20;

/// Exports a tenant holding `events` audit events besides its own; returns
/// the live heap's high-water mark over the export, in bytes above where it
/// stood when the request was sent.
async fn peak_while_exporting(events: u32) -> usize {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::default());
    let tenancy = Tenancy::new(store.ports(clock.clone()), Settings::default());
    let admin = Context::platform_admin();
    let org = tenancy
        .create_org(
            &admin,
            NewOrg {
                key: OrgKey::parse("signstack").unwrap(),
                name: Name::parse("SignStack").unwrap(),
            },
        )
        .await
        .unwrap();
    let acme = tenancy
        .provision(
            &admin,
            &OrgRef::Id(org.id),
            ProvisionTenant {
                key: TenantKey::parse("acme").unwrap(),
                name: Name::parse("Acme").unwrap(),
                plan: None,
                region: None,
                owner: None,
                metadata: Metadata::default(),
                namespaces: vec![],
            },
        )
        .await
        .unwrap()
        .tenant;
    // Events written straight to the trail: the use cases would take minutes
    // for 100,000 of them in a debug build, and the export reads them the same.
    let at = clock.now();
    for i in 0..events {
        let record = AuditRecord {
            // Far from the ids the store's generator hands out.
            id: AuditId::from_uuid(Uuid::from_u128((0xe << 120) + u128::from(i))),
            at,
            actor: domain::Actor::platform_admin(),
            action: AuditAction::TenantUpdated,
            target_kind: TargetKind::Tenant,
            target_id: acme.id.as_uuid(),
            org_id: org.id,
            tenant_id: Some(acme.id),
            request_id: Some(format!("req-{i}")),
            details: AuditDetails::changes_only(vec![Change {
                field: "name",
                from: Some(format!("Acme {i}")),
                to: Some(format!("Acme {}", i + 1)),
            }]),
        };
        store.append(&DataScope::Platform, &record).await.unwrap();
    }
    let app = router(
        tenancy,
        HttpConfig {
            admin_token: TOKEN.to_owned(),
            base_domain: None,
            trusted_proxies: Default::default(),
            readiness: None,
            limits: RequestLimits::default(),
        },
    );
    let request = Request::get("/v1/orgs/signstack/tenants/acme/export")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();

    // The trail's vector and index have room for the export's own record at
    // both sizes (1,002 and 100,002 records so far), so appending it moves
    // nothing: what is measured is the export.
    HEAP.reset_peak_memory();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body().into_data_stream();
    let (mut bytes, mut lines) = (0usize, 0usize);
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.expect("the export streams to its end");
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        // Keep only the last line, to check it is `end`.
        tail.extend_from_slice(&chunk);
        if let Some(cut) = tail[..tail.len() - 1].iter().rposition(|b| *b == b'\n') {
            tail.drain(..=cut);
        }
    }
    let peak = HEAP.get_peak_memory();

    let end: serde_json::Value = serde_json::from_slice(&tail).expect("the last line is JSON");
    assert_eq!(end["type"], "end", "{end}");
    // Its own events, plus provisioning's and the export's records.
    let expected = u64::from(events) + 2;
    assert_eq!(end["counts"]["audit_event"], expected, "{end}");
    assert!(lines as u64 > expected, "{lines} lines");
    eprintln!("{events} events: {bytes} bytes streamed, live heap peak {peak} bytes");
    peak
}

#[tokio::test(flavor = "current_thread")]
async fn exporting_100_000_audit_events_holds_no_more_memory_than_exporting_1_000() {
    let small = peak_while_exporting(1_000).await;
    let large = peak_while_exporting(100_000).await;
    assert!(
        large < BOUND,
        "exporting 100,000 events took {large} bytes of live heap, over {BOUND}"
    );
    // Flat: a hundred times the events, not noticeably more memory. The
    // slack is for allocator rounding and the store's own bookkeeping.
    assert!(
        large <= small + (1 << 20),
        "the export's memory grows with its size: {small} bytes for 1,000 events, \
         {large} for 100,000"
    );
}
