//! KEK rotation: a new version, then every tenant's data key rewrapped online
//! in batches while secrets keep being read and written; then the old
//! version's retirement.

use domain::kms::KekVersion;
use domain::ports::DataKeyStore;
use domain::{
    IdempotencyKey, Idempotent, OrgRef, RequestFingerprint, RetireError, RewrapProgress,
    SecretName, SecretOwner, SecretValue, StoredResponse, TenantRef,
};

use crate::support::{App, admin, spec};

fn name(raw: &str) -> SecretName {
    SecretName::parse(raw).expect("a valid secret name")
}

fn value(raw: &str) -> SecretValue {
    SecretValue::new(raw.to_owned()).expect("a valid secret value")
}

#[tokio::test]
async fn rotation_rewraps_every_data_key_while_secrets_keep_opening() {
    let app = App::new();
    let org = app.org("signstack").await;
    let org_ref = OrgRef::Id(org.id);
    let mut tenants = Vec::new();
    for i in 0..7 {
        let tenant = app
            .provision(&org, spec(&format!("tenant-{i}")))
            .await
            .tenant;
        let tenant_ref = TenantRef::Id(tenant.id);
        let owner = SecretOwner::Tenant {
            org: &org_ref,
            tenant: &tenant_ref,
        };
        app.tenancy
            .put_secret(
                &admin(),
                owner,
                name("smtp-password"),
                value(&format!("pw-{i}-0123456789")),
            )
            .await
            .expect("storing a secret");
        tenants.push(tenant_ref);
    }
    // The org's data key too: it seals a response stored for replays.
    let response = StoredResponse {
        status: 201,
        headers: Vec::new(),
        body: b"{\"secret\":\"tny_live_example\"}".to_vec(),
    };
    let ctx = admin();
    let begin = || {
        app.tenancy.begin_idempotent(
            &ctx,
            &org_ref,
            IdempotencyKey::parse("req-1").expect("a valid key"),
            RequestFingerprint::of("POST", "/v1/orgs/signstack/tenants", b"{}"),
        )
    };
    let Idempotent::Proceed(request) = begin().await.expect("claiming a key") else {
        panic!("a fresh key replayed");
    };
    app.tenancy
        .complete_idempotent(request, &response, None)
        .await
        .expect("storing the response");
    let before = app.store.data_keys(None, 100).await.unwrap();
    assert_eq!(before.len(), 7);
    let first = before[0].wrapped.kek_version();
    assert!(before.iter().all(|k| k.wrapped.kek_version() == first));

    let info = app.tenancy.rotate_kek().await.expect("rotating the KEK");
    assert!(info.current_version > first);

    // Readers and a writer keep going while the rewrap runs, batch by batch.
    let mut batches: Vec<RewrapProgress> = Vec::new();
    let rewrap = app.tenancy.rewrap_data_keys(3, |p| batches.push(p));
    let traffic = async {
        for round in 0..5 {
            for (i, tenant) in tenants.iter().enumerate() {
                let owner = SecretOwner::Tenant {
                    org: &org_ref,
                    tenant,
                };
                let shown = app
                    .tenancy
                    .get_secret(&admin(), owner, &name("smtp-password"), true)
                    .await
                    .expect("reading a secret during the rewrap");
                assert!(shown.value.is_some(), "revealed");
                if i == round {
                    app.tenancy
                        .put_secret(
                            &admin(),
                            owner,
                            name("webhook"),
                            value("whsec-during-rewrap"),
                        )
                        .await
                        .expect("writing a secret during the rewrap");
                }
            }
            tokio::task::yield_now().await;
        }
    };
    let (done, ()) = tokio::join!(rewrap, traffic);
    let done = done.expect("the rewrap completes");
    assert_eq!(done.target, info.current_version);
    assert_eq!(done.seen, 8, "seven tenants' keys and the org's");
    assert_eq!(done.rewrapped, 8);
    assert_eq!(
        batches.iter().map(|b| b.seen).collect::<Vec<_>>(),
        [3, 6, 7, 8],
        "progress after every batch: the tenants', then the org's"
    );

    let after = app.store.data_keys(None, 100).await.unwrap();
    assert_eq!(after.len(), 7);
    assert!(
        after
            .iter()
            .all(|k| k.wrapped.kek_version() == info.current_version),
        "every envelope carries the new version"
    );
    for (i, tenant) in tenants.iter().enumerate() {
        let owner = SecretOwner::Tenant {
            org: &org_ref,
            tenant,
        };
        let shown = app
            .tenancy
            .get_secret(&admin(), owner, &name("smtp-password"), true)
            .await
            .expect("reading after the rewrap");
        assert_eq!(
            shown.value.as_ref().map(SecretValue::expose),
            Some(format!("pw-{i}-0123456789").as_str())
        );
    }
    let org_keys = app.store.org_data_keys(None, 100).await.unwrap();
    assert_eq!(org_keys.len(), 1);
    assert_eq!(org_keys[0].1.kek_version(), info.current_version);
    match begin().await.expect("replaying after the rewrap") {
        Idempotent::Replay(replayed) => assert_eq!(replayed, response),
        Idempotent::Proceed(_) => panic!("a completed key ran again"),
    }
    // A second run finds nothing to do.
    let again = app.tenancy.rewrap_data_keys(3, |_| {}).await.unwrap();
    assert_eq!((again.seen, again.rewrapped), (8, 0));
}

/// `tenancy kms retire`: refused for the current version and while any data
/// key (a tenant's or an org's) is wrapped by the version; after a rotation
/// and its rewrap it goes, and every secret and stored response still opens.
#[tokio::test]
async fn a_kek_version_retires_only_once_no_envelope_uses_it() {
    let app = App::new();
    let org = app.org("signstack").await;
    let org_ref = OrgRef::Id(org.id);
    let mut tenants = Vec::new();
    for i in 0..2 {
        let tenant = app
            .provision(&org, spec(&format!("tenant-{i}")))
            .await
            .tenant;
        let tenant_ref = TenantRef::Id(tenant.id);
        app.tenancy
            .put_secret(
                &admin(),
                SecretOwner::Tenant {
                    org: &org_ref,
                    tenant: &tenant_ref,
                },
                name("smtp-password"),
                value(&format!("pw-{i}")),
            )
            .await
            .unwrap();
        tenants.push(tenant_ref);
    }
    let ctx = admin();
    let begin = || {
        app.tenancy.begin_idempotent(
            &ctx,
            &org_ref,
            IdempotencyKey::parse("req-1").expect("a valid key"),
            RequestFingerprint::of("POST", "/v1/orgs/signstack/tenants", b"{}"),
        )
    };
    let Idempotent::Proceed(request) = begin().await.unwrap() else {
        panic!("a fresh key replayed");
    };
    let response = StoredResponse {
        status: 201,
        headers: Vec::new(),
        body: b"{}".to_vec(),
    };
    app.tenancy
        .complete_idempotent(request, &response, None)
        .await
        .unwrap();
    let v = |n| KekVersion::new(n).unwrap();

    assert_eq!(
        app.tenancy.retire_kek_version(v(1)).await,
        Err(RetireError::Current(v(1)))
    );
    app.tenancy.rotate_kek().await.unwrap();
    let in_use = app.tenancy.retire_kek_version(v(1)).await.unwrap_err();
    assert_eq!(
        in_use,
        RetireError::InUse {
            version: v(1),
            tenant_keys: 2,
            org_keys: 1
        }
    );
    assert!(
        in_use.to_string().contains("tenancy kms rotate"),
        "{in_use}"
    );
    assert_eq!(
        app.tenancy.retire_kek_version(v(3)).await,
        Err(RetireError::Unknown(v(3)))
    );

    app.tenancy.rewrap_data_keys(10, |_| {}).await.unwrap();
    let info = app.tenancy.retire_kek_version(v(1)).await.unwrap();
    assert_eq!((info.current_version, info.versions), (v(2), vec![v(2)]));

    // Past the cache of unwrapped keys, everything opens through the KMS.
    app.clock.advance(chrono::Duration::minutes(10));
    for (i, tenant) in tenants.iter().enumerate() {
        let shown = app
            .tenancy
            .get_secret(
                &admin(),
                SecretOwner::Tenant {
                    org: &org_ref,
                    tenant,
                },
                &name("smtp-password"),
                true,
            )
            .await
            .unwrap();
        assert_eq!(
            shown.value.as_ref().map(SecretValue::expose),
            Some(format!("pw-{i}").as_str())
        );
    }
    match begin().await.unwrap() {
        Idempotent::Replay(replayed) => assert_eq!(replayed, response),
        Idempotent::Proceed(_) => panic!("a completed key ran again"),
    }
}
