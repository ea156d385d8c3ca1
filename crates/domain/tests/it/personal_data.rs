//! What is kept of a tenant's personal data: its audit records reach the
//! store with their details sealed, from every use case that writes one, and
//! read back through `list_audit` while the tenant exists (an org's own
//! records stay clear); a response stored for idempotent replays about it
//! does not outlive it.

use chrono::Duration;
use domain::{
    AuditDetails, KeyLocation, LifecycleAction, NamespacePatch, NamespaceRef, NewApiKey,
    NewNamespace, OrgRef, SecretName, SecretOwner, SecretValue, TenantPatch, TenantRef,
};

use crate::support::{App, admin, name, namespace_key, reason, spec};

#[tokio::test]
async fn every_tenant_record_is_stored_sealed_and_lists_opened() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.provision(&org, spec("acme")).await.tenant;
    let (org_ref, tref) = (OrgRef::Id(org.id), TenantRef::Id(tenant.id));
    let ctx = admin();
    let t = &app.tenancy;
    t.update_tenant(
        &ctx,
        &org_ref,
        &tref,
        TenantPatch {
            name: Some(name("Acme of Ada")),
            ..TenantPatch::default()
        },
    )
    .await
    .unwrap();
    t.transition(
        &ctx,
        &org_ref,
        &tref,
        LifecycleAction::Suspend,
        reason("Ada asked"),
    )
    .await
    .unwrap();
    t.transition(
        &ctx,
        &org_ref,
        &tref,
        LifecycleAction::Reactivate,
        reason("back"),
    )
    .await
    .unwrap();
    let ns = t
        .create_namespace(
            &ctx,
            &org_ref,
            &tref,
            NewNamespace {
                key: namespace_key("acme-extra"),
                name: None,
                mode: domain::Mode::Live,
            },
        )
        .await
        .unwrap();
    let ns_ref = NamespaceRef::Id(ns.id);
    t.update_namespace(
        &ctx,
        &org_ref,
        &tref,
        &ns_ref,
        NamespacePatch {
            name: Some(name("Extra")),
        },
    )
    .await
    .unwrap();
    let location = KeyLocation::Namespace {
        org: org_ref.clone(),
        tenant: tref.clone(),
        namespace: ns_ref,
    };
    let issued = t
        .issue_key(
            &ctx,
            &location,
            NewApiKey {
                name: name("worker"),
                role: None,
                scopes: None,
                resources: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let rotated = t
        .rotate_key(&ctx, &location, issued.key.id, Duration::zero())
        .await
        .unwrap();
    t.revoke_key(&ctx, &location, rotated.key.id).await.unwrap();
    let owner = SecretOwner::Tenant {
        org: &org_ref,
        tenant: &tref,
    };
    let secret = SecretName::parse("smtp-password").unwrap();
    t.put_secret(
        &ctx,
        owner,
        secret.clone(),
        SecretValue::new("a value".to_owned()).unwrap(),
    )
    .await
    .unwrap();
    t.get_secret(&ctx, owner, &secret, true).await.unwrap();
    t.delete_secret(&ctx, owner, &secret).await.unwrap();

    let stored = app.stored_trail(&org, None).await;
    let listed = app.trail(&org, None).await;
    assert_eq!(stored.len(), listed.len());
    let mut tenant_records = 0;
    for (stored, listed) in stored.iter().zip(&listed) {
        assert_eq!(stored.id, listed.id);
        match stored.tenant_id {
            Some(_) => {
                tenant_records += 1;
                let AuditDetails::Sealed(bytes) = &stored.details else {
                    panic!("{} stored in clear: {stored:?}", stored.action.as_str());
                };
                let text = String::from_utf8_lossy(bytes);
                assert!(!text.contains("Ada"), "{}", stored.action.as_str());
                assert!(
                    matches!(listed.details, AuditDetails::Clear { .. }),
                    "{} listed unopened",
                    listed.action.as_str()
                );
            }
            None => assert_eq!(stored, listed, "an org record changed on its way"),
        }
    }
    // provisioned, updated, suspended, reactivated, namespace created and
    // updated, key created, rotated and revoked, secret written, revealed
    // and deleted.
    assert_eq!(tenant_records, 12);
    let suspended = listed
        .iter()
        .find(|r| r.action == domain::AuditAction::TenantSuspended)
        .unwrap();
    assert_eq!(suspended.details.reason(), Some(&reason("Ada asked")));
    let updated = listed
        .iter()
        .find(|r| r.action == domain::AuditAction::TenantUpdated)
        .unwrap();
    assert_eq!(
        updated.details.changes()[0].to.as_deref(),
        Some("Acme of Ada")
    );
}

/// A provisioning whose tenant is deleted before its response is stored for
/// replays stores nothing, and frees its key at once: a retry runs anew
/// rather than waiting out the claim's lease.
#[tokio::test]
async fn a_response_about_a_tenant_deleted_meanwhile_is_not_stored_and_frees_its_key() {
    use domain::{IdempotencyKey, Idempotent, RequestFingerprint, StoredResponse};
    let app = App::new();
    let org = app.org("signstack").await;
    let org_ref = OrgRef::Id(org.id);
    let ctx = admin();
    let begin = || {
        app.tenancy.begin_idempotent(
            &ctx,
            &org_ref,
            IdempotencyKey::parse("req-1").unwrap(),
            RequestFingerprint::of("POST", "/v1/orgs/signstack/tenants", b"{}"),
        )
    };
    let Idempotent::Proceed(request) = begin().await.unwrap() else {
        panic!("a fresh key replayed");
    };
    let tenant = app.provision(&org, spec("acme")).await.tenant;
    let tref = TenantRef::Id(tenant.id);
    app.tenancy
        .transition(
            &ctx,
            &org_ref,
            &tref,
            LifecycleAction::Deactivate,
            reason("gone"),
        )
        .await
        .unwrap();
    app.tenancy
        .delete_tenant(&ctx, &org_ref, &tref, "acme", None)
        .await
        .unwrap();
    let response = StoredResponse {
        status: 201,
        headers: Vec::new(),
        body: b"{\"secret\":\"tny_live_example\"}".to_vec(),
    };
    assert!(
        app.tenancy
            .complete_idempotent(request, &response, Some(tenant.id))
            .await
            .is_err(),
        "a response about a deleted tenant was stored"
    );
    assert!(
        matches!(begin().await.unwrap(), Idempotent::Proceed(_)),
        "the key is still held"
    );
}
