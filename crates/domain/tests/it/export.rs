//! `Tenancy::export_tenant`: the walk's frame (tenant first, `End` last with
//! counts, then nothing), keyset pages that neither skip nor repeat, the
//! `tenant.exported` record, and an export cut when its tenant is deleted
//! under it. What the records hold is tested over HTTP (adapters-http).

use domain::ports::{AuditLog, DataScope};
use domain::{
    AuditAction, AuditDetails, AuditId, AuditRecord, ExportRecord, ListError, OrgRef, TargetKind,
    Tenant, TenantExport, TenantRef, TenantStatus,
};
use uuid::Uuid;

use crate::support::{App, admin, org_caller};

/// Every batch of an export, until it answers `None`.
async fn drain(export: &mut TenantExport) -> Vec<Vec<ExportRecord>> {
    let mut batches = Vec::new();
    while let Some(batch) = export.next_batch().await.expect("a batch") {
        batches.push(batch);
    }
    batches
}

/// Appends `n` records about `tenant` straight to the trail.
async fn events(app: &App, tenant: &Tenant, n: u32) {
    for i in 0..n {
        let record = AuditRecord {
            id: AuditId::from_uuid(Uuid::from_u128((0xe << 120) + u128::from(i))),
            at: app.now(),
            actor: domain::Actor::platform_admin(),
            action: AuditAction::TenantUpdated,
            target_kind: TargetKind::Tenant,
            target_id: tenant.id.as_uuid(),
            org_id: tenant.org_id,
            tenant_id: Some(tenant.id),
            request_id: None,
            details: AuditDetails::changes_only(Vec::new()),
        };
        app.store
            .append(&DataScope::Platform, &record)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_export_walks_every_page_once_and_ends_with_its_counts() {
    let app = App::new();
    let org = app.org("signstack").await;
    let acme = app.tenant_in(&org, "acme", TenantStatus::Suspended).await;
    let beta = app.tenant_in(&org, "beta", TenantStatus::Active).await;
    // More than two pages of acme's, interleaved with one of beta's.
    events(&app, &acme, 250).await;
    events(&app, &beta, 1).await;
    events(&app, &acme, 170).await;

    let mut export = app
        .tenancy
        .export_tenant(
            &org_caller(&org),
            &OrgRef::Id(org.id),
            &TenantRef::Key(acme.key.clone()),
        )
        .await
        .expect("an export");
    let batches = drain(&mut export).await;
    assert!(export.next_batch().await.unwrap().is_none(), "over");
    assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 200));
    let records: Vec<ExportRecord> = batches.into_iter().flatten().collect();

    assert_eq!(records.first(), Some(&ExportRecord::Tenant(acme.clone())));
    let exported: Vec<AuditRecord> = records
        .iter()
        .filter_map(|r| match r {
            ExportRecord::AuditEvent(e) => Some(e.record.clone()),
            _ => None,
        })
        .collect();
    let seqs: Vec<u64> = records
        .iter()
        .filter_map(|r| match r {
            ExportRecord::AuditEvent(e) => Some(e.seq),
            _ => None,
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "each event carries its place in the chain, in order: {seqs:?}"
    );
    let trail = app.trail(&org, Some(acme.id)).await;
    assert_eq!(exported, trail, "the tenant's whole trail, in order, once");
    let last_event = trail.last().unwrap();
    assert_eq!(last_event.action, AuditAction::TenantExported);
    assert_eq!(last_event.actor, org_caller(&org).actor());
    assert_eq!(last_event.target_id, acme.id.as_uuid());

    let Some(ExportRecord::End(counts)) = records.last() else {
        panic!("no End record last: {:?}", records.last());
    };
    assert_eq!(counts.tenants, 1);
    assert_eq!(counts.namespaces, 1);
    assert_eq!(counts.api_keys, 1, "the first key");
    assert_eq!(counts.audit_events, trail.len() as u64);
    assert_eq!(
        records.len() as u64,
        counts.tenants + counts.namespaces + counts.api_keys + counts.audit_events + 1
    );
}

#[tokio::test]
async fn a_tenant_deleted_during_its_export_cuts_it_before_its_end() {
    let app = App::new();
    let org = app.org("signstack").await;
    let acme = app.tenant_in(&org, "acme", TenantStatus::Deactivated).await;
    let (org_ref, acme_ref) = (OrgRef::Id(org.id), TenantRef::Id(acme.id));
    let mut export = app
        .tenancy
        .export_tenant(&admin(), &org_ref, &acme_ref)
        .await
        .expect("a deactivated tenant exports");
    let first = export.next_batch().await.unwrap().unwrap();
    assert_eq!(first, vec![ExportRecord::Tenant(acme.clone())]);

    app.tenancy
        .delete_tenant(&admin(), &org_ref, &acme_ref, "acme", None)
        .await
        .unwrap();
    let cut = loop {
        match export.next_batch().await {
            Ok(Some(batch)) => assert!(
                !batch.iter().any(|r| matches!(r, ExportRecord::End(_))),
                "no End for an export whose tenant went away: {batch:?}"
            ),
            Ok(None) => panic!("the export ended without an error"),
            Err(e) => break e,
        }
    };
    assert_eq!(cut, ListError::TenantNotFound);
    assert!(
        export.next_batch().await.unwrap().is_none(),
        "over after an error"
    );

    // And a deleted tenant cannot start one, nor is the attempt recorded.
    let before = app.trail(&org, Some(acme.id)).await;
    assert_eq!(
        app.tenancy
            .export_tenant(&admin(), &org_ref, &acme_ref)
            .await
            .map(|_| ()),
        Err(ListError::TenantNotFound)
    );
    assert_eq!(app.trail(&org, Some(acme.id)).await, before);
}
