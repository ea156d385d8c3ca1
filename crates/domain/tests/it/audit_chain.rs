//! Verifying an org's audit chain and signing checkpoints through
//! `Tenancy`: a trail longer than one verification page, tampering named by
//! its seq, who may verify, and what a checkpoint signs.

use std::sync::{Arc, Mutex};

use domain::audit::chain::checkpoint_message;
use domain::ports::CheckpointSigner;
use domain::{
    ApiKeyId, AuditChainError, ChainHash, Context, NamespacePrincipal, OrgPatch, OrgRef, Principal,
    Scopes,
};

use crate::support::{App, admin, name, org_caller};

/// Records what it signs; its "signature" is the message's length, repeated.
#[derive(Default)]
struct Recorder(Mutex<Vec<Vec<u8>>>);

impl CheckpointSigner for Recorder {
    fn key_id(&self) -> String {
        "recorder".into()
    }
    fn public_key(&self) -> [u8; 32] {
        [9; 32]
    }
    fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.lock().unwrap().push(message.to_vec());
        [u8::try_from(message.len() % 256).unwrap(); 64]
    }
}

#[tokio::test]
async fn a_trail_longer_than_a_verification_page_verifies_and_tampering_is_named() {
    let app = App::new();
    let org = app.org("signstack").await;
    let org_ref = OrgRef::Id(org.id);
    for n in 0..1_100 {
        app.tenancy
            .update_org(
                &admin(),
                &org_ref,
                OrgPatch {
                    name: Some(name(&format!("SignStack {n}"))),
                },
            )
            .await
            .unwrap();
    }
    let report = app
        .tenancy
        .verify_audit_chain(&admin(), &org_ref, None)
        .await
        .unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(report.checked, 1_101);
    assert_eq!(report.head.seq, 1_101);

    // Record 777 (on the second page) edited behind the store's back.
    let trail = app.trail(&org, None).await;
    let target = trail[776].id;
    assert!(app.store.tamper_with_audit_record(target, |l| {
        assert_eq!(l.seq, 777);
        l.record.actor.id.push('!');
    }));
    let report = app
        .tenancy
        .verify_audit_chain(&admin(), &org_ref, None)
        .await
        .unwrap();
    assert_eq!(report.first_broken_seq, Some(777));
    assert_eq!(report.checked, 1_101, "the rest is still read");
    assert!(!report.intact);
}

#[tokio::test]
async fn only_the_orgs_own_callers_verify_and_a_checkpoint_signs_the_documented_message() {
    let app = App::new();
    let org = app.org("signstack").await;
    let other = app.org("tigris").await;
    let org_ref = OrgRef::Id(org.id);
    assert_eq!(
        app.tenancy.audit_checkpoint(&admin(), &org_ref).await,
        Err(AuditChainError::NoSigningKey),
        "no key configured"
    );
    assert_eq!(app.tenancy.checkpoint_key(), None);

    let recorder = Arc::new(Recorder::default());
    let tenancy = app.tenancy.clone().with_checkpoint_signer(recorder.clone());
    let signed = tenancy
        .audit_checkpoint(&org_caller(&org), &org_ref)
        .await
        .unwrap();
    assert_eq!(signed.head.seq, 1, "the org's creation");
    assert_ne!(signed.head.hash, ChainHash::GENESIS);
    assert_eq!(signed.key_id, "recorder");
    assert_eq!(signed.at, app.now());
    let message = checkpoint_message(org.id, &signed.head, signed.at, "recorder");
    assert_eq!(*recorder.0.lock().unwrap(), vec![message.clone()]);
    let text = String::from_utf8(message).unwrap();
    assert_eq!(
        text,
        format!(
            r#"{{"at":"{}","hash":"{}","keyId":"recorder","orgId":"{}","seq":1}}"#,
            signed.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            signed.head.hash.to_hex(),
            org.id.as_uuid()
        )
    );
    assert_eq!(tenancy.checkpoint_key().unwrap().public_key, [9; 32]);

    // Another org's key, and a namespace key, see no org here.
    for caller in [org_caller(&other), namespace_caller(&app).await] {
        assert_eq!(
            tenancy.verify_audit_chain(&caller, &org_ref, None).await,
            Err(AuditChainError::OrgNotFound)
        );
        assert_eq!(
            tenancy.audit_checkpoint(&caller, &org_ref).await,
            Err(AuditChainError::OrgNotFound)
        );
    }
}

/// A namespace key of a tenant of "signstack".
async fn namespace_caller(app: &App) -> Context {
    let org = app
        .tenancy
        .get_org(
            &admin(),
            &OrgRef::Key(domain::OrgKey::parse("signstack").unwrap()),
        )
        .await
        .unwrap();
    let tenant = app.provision(&org, crate::support::spec("acme")).await;
    Context::new(Principal::Namespace(NamespacePrincipal {
        org_id: org.id,
        tenant_id: tenant.tenant.id,
        namespace_id: tenant.namespaces[0].id,
        key_id: ApiKeyId::from_uuid(uuid::Uuid::from_u128(8)),
        scopes: Scopes::all(),
        resources: None,
        expires_at: None,
    }))
}
