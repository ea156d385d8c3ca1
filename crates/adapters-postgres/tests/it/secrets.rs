//! Tenant secrets on PostgreSQL through the real use cases: no table holds a
//! secret's bytes in clear, and deleting the tenant leaves copies of its
//! secret rows that nothing can decrypt.

use std::sync::Arc;

use adapters_memory::{ManualClock, MemoryKms, MemoryStore};
use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use domain::kms::{EncryptionContext, Kms, Sealed, WrappedKey, open};
use domain::ports::{DataKeyStore, DataScope};
use domain::{
    Context, IdempotencyKey, Idempotent, LifecycleAction, Name, NewOrg, OrgKey, OrgRef, Ports,
    ProvisionTenant, Reason, RequestFingerprint, SecretName, SecretOwner, SecretValue, Settings,
    StoredResponse, Tenancy, TenantKey, TenantRef,
};
use sqlx::{PgPool, Row};

const VALUE: &str = "pg-canary-Xk29-webhook-signing-secret";
/// A free-text reason and a name: personal data the audit trail must not
/// keep in clear.
const REASON: &str = "pg-canary-Rq71 Ada asked to pause";
const OLD_NAME: &str = "pg-canary-Nm55 Acme of Ada";

async fn tenancy_on(test: &TestDatabase, kms: Arc<MemoryKms>) -> (Tenancy, Arc<PgStore>) {
    let store = Arc::new(PgStore::new(test.runtime().await));
    let harness = Arc::new(MemoryStore::new());
    let ports = Ports {
        orgs: store.clone(),
        tenants: store.clone(),
        namespaces: store.clone(),
        keys: store.clone(),
        audit: store.clone(),
        events: store.clone(),
        webhooks: store.clone(),
        deliveries: store.clone(),
        members: store.clone(),
        settings: store.clone(),
        library: store.clone(),
        data_keys: store.clone(),
        tenant_secrets: store.clone(),
        idempotency: store.clone(),
        registrations: store.clone(),
        kms,
        ..harness.ports(Arc::new(ManualClock::default()))
    };
    (Tenancy::new(ports, Settings::default()), store)
}

/// Every row of every table, as text (bytea as hex), with the table's name.
async fn every_row(owner: &PgPool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        // The owner is subject to forced row-level security: see everything.
        let mut tx = owner.begin().await.unwrap();
        sqlx::query("SET LOCAL app.scope = 'platform'")
            .execute(&mut *tx)
            .await
            .unwrap();
        let found = sqlx::query(&format!("SELECT t::text AS row FROM {table} t"))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        for row in found {
            rows.push((table.clone(), row.get::<String, _>("row")));
        }
    }
    rows
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn provision(tenancy: &Tenancy) -> domain::Tenant {
    let admin = Context::platform_admin();
    tenancy
        .create_org(
            &admin,
            NewOrg {
                key: OrgKey::parse("signstack").unwrap(),
                name: Name::parse("SignStack").unwrap(),
            },
        )
        .await
        .unwrap();
    tenancy
        .provision(
            &admin,
            &OrgRef::Key(OrgKey::parse("signstack").unwrap()),
            ProvisionTenant {
                key: TenantKey::parse("acme").unwrap(),
                name: Name::parse("Acme").unwrap(),
                plan: None,
                region: None,
                owner: None,
                metadata: domain::Metadata::default(),
                namespaces: Vec::new(),
            },
        )
        .await
        .unwrap()
        .tenant
}

#[tokio::test]
async fn no_table_holds_a_stored_secret_in_clear() {
    let test = TestDatabase::new().await;
    let (tenancy, _) = tenancy_on(&test, Arc::new(MemoryKms::default())).await;
    let tenant = provision(&tenancy).await;
    let org = OrgRef::Id(tenant.org_id);
    let owner = SecretOwner::Tenant {
        org: &org,
        tenant: &TenantRef::Id(tenant.id),
    };
    let name = SecretName::parse("webhook.signing").unwrap();
    tenancy
        .put_secret(
            &Context::platform_admin(),
            owner,
            name.clone(),
            SecretValue::new(VALUE.to_owned()).unwrap(),
        )
        .await
        .unwrap();
    // A response stored for idempotent replays carries a secret too.
    let response = StoredResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!("{{\"secret\":\"{VALUE}\"}}").into_bytes(),
    };
    let ctx = Context::platform_admin();
    let begin = || {
        tenancy.begin_idempotent(
            &ctx,
            &org,
            IdempotencyKey::parse("req-1").unwrap(),
            RequestFingerprint::of("POST", "/v1/orgs/signstack/tenants", b"{}"),
        )
    };
    let Idempotent::Proceed(request) = begin().await.unwrap() else {
        panic!("a fresh key replayed");
    };
    tenancy
        .complete_idempotent(request, &response, None)
        .await
        .unwrap();
    // An audit record's reason and changes are sealed too: a reason that no
    // longer lives in the tenant's row, a name it no longer has.
    let admin = Context::platform_admin();
    let tref = TenantRef::Id(tenant.id);
    for (action, reason) in [
        (LifecycleAction::Suspend, REASON),
        (LifecycleAction::Reactivate, "back"),
    ] {
        tenancy
            .transition(&admin, &org, &tref, action, Reason::parse(reason).unwrap())
            .await
            .unwrap();
    }
    for name in [OLD_NAME, "Acme"] {
        tenancy
            .update_tenant(
                &admin,
                &org,
                &tref,
                domain::TenantPatch {
                    name: Some(Name::parse(name).unwrap()),
                    ..domain::TenantPatch::default()
                },
            )
            .await
            .unwrap();
    }
    let rows = every_row(&test.owner_pool().await).await;
    for stored in ["tenant_secrets", "idempotency_records", "org_data_keys"] {
        assert!(
            rows.iter().any(|(table, _)| table == stored),
            "nothing in {stored}: {rows:?}"
        );
    }
    for (table, row) in &rows {
        assert!(!row.contains(VALUE), "{table} holds the value: {row}");
        assert!(
            !row.contains(&hex(VALUE.as_bytes())),
            "{table} holds the value's bytes: {row}"
        );
        // Not even its masked tail's context: the last 8 characters.
        assert!(!row.contains(&VALUE[VALUE.len() - 8..]), "{table}: {row}");
        for personal in [REASON, OLD_NAME] {
            assert!(!row.contains(personal), "{table} holds {personal:?}: {row}");
            assert!(
                !row.contains(&hex(personal.as_bytes())),
                "{table} holds the bytes of {personal:?}: {row}"
            );
        }
    }
    // While the tenant exists the trail reads normally.
    let trail = tenancy
        .list_audit(
            &admin,
            &org,
            Some(&tref),
            None,
            domain::Limit::new(200).unwrap(),
        )
        .await
        .unwrap()
        .items;
    let suspended = trail
        .iter()
        .find(|r| r.action == domain::AuditAction::TenantSuspended)
        .unwrap();
    assert_eq!(suspended.details.reason().map(Reason::as_str), Some(REASON));
    assert!(trail.iter().any(|r| {
        r.details
            .changes()
            .iter()
            .any(|c| c.from.as_deref() == Some(OLD_NAME))
    }));
    // And the value still reads back through the use case.
    let read = tenancy
        .get_secret(&Context::platform_admin(), owner, &name, true)
        .await
        .unwrap();
    assert_eq!(read.value.unwrap().expose(), VALUE);
    match begin().await.unwrap() {
        Idempotent::Replay(replayed) => assert_eq!(replayed, response),
        Idempotent::Proceed(_) => panic!("a completed key ran again"),
    }
}

#[tokio::test]
async fn copies_of_a_deleted_tenants_secret_rows_can_no_longer_be_decrypted() {
    let test = TestDatabase::new().await;
    let kms = Arc::new(MemoryKms::default());
    let (tenancy, store) = tenancy_on(&test, kms.clone()).await;
    let tenant = provision(&tenancy).await;
    let admin = Context::platform_admin();
    let org = OrgRef::Id(tenant.org_id);
    let tref = TenantRef::Id(tenant.id);
    let owner = SecretOwner::Tenant {
        org: &org,
        tenant: &tref,
    };
    let name = SecretName::parse("smtp-password").unwrap();
    tenancy
        .put_secret(
            &admin,
            owner,
            name.clone(),
            SecretValue::new(VALUE.to_owned()).unwrap(),
        )
        .await
        .unwrap();
    let owner_pool = test.owner_pool().await;
    // The copy an attacker (or a stale backup) keeps of the secret rows.
    let copied: Vec<Vec<u8>> = {
        let mut tx = owner_pool.begin().await.unwrap();
        sqlx::query("SET LOCAL app.scope = 'platform'")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT sealed FROM tenant_secrets WHERE tenant_id = $1")
            .bind(tenant.id.as_uuid())
            .fetch_all(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(copied.len(), 1);
    // Before the deletion the copy opens with the tenant's key: the test
    // below is not vacuous.
    let context = EncryptionContext::Tenant(tenant.id);
    let wrapped = store
        .data_key(&DataScope::Platform, tenant.id)
        .await
        .unwrap()
        .unwrap();
    let key = kms.unwrap(&wrapped, &context).await.unwrap();
    let aad = domain::secret::secret_aad(tenant.id, &name, 1);
    let sealed = Sealed::from_bytes(&copied[0]).unwrap();
    assert_eq!(
        open(&key, &sealed, &aad).unwrap().as_slice(),
        VALUE.as_bytes()
    );
    drop(key);

    tenancy
        .transition(
            &admin,
            &org,
            &tref,
            LifecycleAction::Deactivate,
            Reason::parse("offboarding").unwrap(),
        )
        .await
        .unwrap();
    let listed_before = tenancy
        .list_audit(&admin, &org, None, None, domain::Limit::new(200).unwrap())
        .await
        .unwrap()
        .items;
    tenancy
        .delete_tenant(
            &admin,
            &org,
            &tref,
            "acme",
            Some(Reason::parse(REASON).unwrap()),
        )
        .await
        .unwrap();

    // The wrapped key is gone from every table; no stored key opens the copy.
    assert_eq!(
        store
            .data_key(&DataScope::Platform, tenant.id)
            .await
            .unwrap(),
        None
    );
    for (table, row) in every_row(&owner_pool).await {
        assert!(
            !row.contains(&hex(&wrapped.to_bytes())),
            "{table} still holds the wrapped key"
        );
        assert!(
            !row.contains(&hex(&copied[0])),
            "{table} still holds the secret"
        );
        assert!(!row.contains(REASON), "{table} holds the deletion's reason");
        assert!(!row.contains("offboarding"), "{table} holds a reason");
    }
    let left: Vec<WrappedKey> = store
        .data_keys(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.wrapped)
        .collect();
    for other in left {
        if let Ok(key) = kms.unwrap(&other, &context).await {
            assert!(open(&key, &sealed, &aad).is_err());
        }
    }
    // The use case has nothing left to decrypt it with, and says not found.
    assert!(
        tenancy
            .get_secret(&admin, owner, &name, true)
            .await
            .is_err()
    );
    // The audit trail keeps every event, the deletion too, but the details
    // of the tenant's can no longer be read.
    let trail = tenancy
        .list_audit(&admin, &org, None, None, domain::Limit::new(200).unwrap())
        .await
        .unwrap()
        .items;
    assert_eq!(trail.len(), listed_before.len() + 1);
    for (before, after) in listed_before.iter().zip(&trail) {
        assert_eq!((before.id, before.action), (after.id, after.action));
    }
    assert_eq!(
        trail.last().map(|r| r.action),
        Some(domain::AuditAction::TenantDeleted)
    );
    for record in &trail {
        let expected_shredded = record.tenant_id == Some(tenant.id);
        assert_eq!(
            record.details == domain::AuditDetails::Shredded,
            expected_shredded,
            "{record:?}"
        );
    }
}

/// An `admin` key stored before secrets had scopes of their own holds the
/// bits of the 13 scopes of then (8191, what the fixtures insert); read back,
/// it holds its role's scopes as the role is now, so it can still reveal.
/// Read as the bare stored bits (the old code, with the scopes added) it
/// fails: `left: 8191, right: 32767`.
#[tokio::test]
async fn an_admin_key_stored_before_the_secret_scopes_holds_them() {
    use domain::ports::ApiKeyStore;
    use domain::{KeyHash, Principal, Scope};

    let test = TestDatabase::new().await;
    let world = crate::fixtures::seed(&test.owner_pool().await).await;
    let a = world.tenant_a();
    let store = PgStore::new(test.runtime().await);
    let hash: [u8; 32] = crate::fixtures::hash_of(a.key).try_into().unwrap();
    let found = store
        .find_key(&KeyHash::from_bytes(hash))
        .await
        .unwrap()
        .expect("the seeded key");
    assert_eq!(found.key.access.scopes.bits(), u16::MAX >> 1);
    let Principal::Namespace(principal) = found.principal() else {
        panic!("a namespace key");
    };
    assert!(principal.has(Scope::SecretsRead));
    assert!(principal.has(Scope::SecretsReveal));
}

/// The reveal checks read the calling key's mode from the store in the key's
/// own tenant scope: a live admin key reveals on PostgreSQL too, and an
/// admin key of a test-mode namespace is refused.
#[tokio::test]
async fn a_live_admin_key_reveals_through_the_tenant_scope_and_a_test_key_does_not() {
    use domain::ports::ApiKeyStore;
    use domain::{
        KeyLocation, Mode, NamespaceKey, NamespaceRef, NewApiKey, NewNamespace, Role, SecretError,
    };

    let test = TestDatabase::new().await;
    let (tenancy, store) = tenancy_on(&test, Arc::new(MemoryKms::default())).await;
    let tenant = provision(&tenancy).await;
    let org_ref = OrgRef::Key(OrgKey::parse("signstack").unwrap());
    let tenant_ref = TenantRef::Id(tenant.id);
    let admin = Context::platform_admin();
    tenancy
        .put_secret(
            &admin,
            SecretOwner::Tenant {
                org: &org_ref,
                tenant: &tenant_ref,
            },
            SecretName::parse("smtp").unwrap(),
            SecretValue::new(VALUE.to_owned()).unwrap(),
        )
        .await
        .unwrap();
    let caller = async |location: KeyLocation| {
        let issued = tenancy
            .issue_key(
                &admin,
                &location,
                NewApiKey {
                    name: Name::parse("k").unwrap(),
                    role: Some(Role::Admin),
                    scopes: None,
                    resources: None,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        let found = store.find_key(&issued.key.hash).await.unwrap().unwrap();
        Context::new(found.principal())
    };
    let live = caller(KeyLocation::Namespace {
        org: org_ref.clone(),
        tenant: tenant_ref.clone(),
        namespace: NamespaceRef::Key(NamespaceKey::parse("acme-live").unwrap()),
    })
    .await;
    let shown = tenancy
        .get_secret(
            &live,
            SecretOwner::Own,
            &SecretName::parse("smtp").unwrap(),
            true,
        )
        .await
        .unwrap();
    assert_eq!(shown.value.unwrap().expose(), VALUE);

    tenancy
        .create_namespace(
            &admin,
            &org_ref,
            &tenant_ref,
            NewNamespace {
                key: NamespaceKey::parse("acme-test").unwrap(),
                name: None,
                mode: Mode::Test,
            },
        )
        .await
        .unwrap();
    let test_key = caller(KeyLocation::Namespace {
        org: org_ref.clone(),
        tenant: tenant_ref.clone(),
        namespace: NamespaceRef::Key(NamespaceKey::parse("acme-test").unwrap()),
    })
    .await;
    assert_eq!(
        tenancy
            .get_secret(
                &test_key,
                SecretOwner::Own,
                &SecretName::parse("smtp").unwrap(),
                true,
            )
            .await,
        Err(SecretError::TestKey)
    );
}
