//! Self-service registration on PostgreSQL through the real use cases: a
//! link confirmed twice, or by 20 requests at once, provisions one tenant.

use std::sync::Arc;

use adapters_memory::{ManualClock, MemoryKms, MemoryMailer, MemoryStore};
use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDatabase;
use domain::settings::RegistrationSettings;
use domain::{
    Context, Email, Mailbox, Name, NewOrg, OrgKey, OrgRef, Ports, RegistrationConfig,
    RegistrationError, RegistrationRequest, RegistrationToken, Settings, SettingsTarget, Tenancy,
    TenantKey,
};
use serde_json::json;

use crate::outbox::ports_on;

async fn tenancy_on(test: &TestDatabase) -> Tenancy {
    let store = Arc::new(PgStore::new(test.runtime().await));
    let harness = Arc::new(MemoryStore::new());
    let base = Ports {
        kms: Arc::new(MemoryKms::default()),
        mailer: Arc::new(MemoryMailer::new()),
        ..harness.ports(Arc::new(ManualClock::default()))
    };
    let settings = Settings {
        registration: Some(RegistrationConfig {
            confirm_url: url::Url::parse("https://tenancy.example/confirm").unwrap(),
            mail_from: Some(Mailbox::address_only(
                Email::parse("no-reply@tenancy.example").unwrap(),
            )),
        }),
        ..Settings::default()
    };
    Tenancy::new(ports_on(&store, base), settings)
}

/// An org open for registration, and the token of one registration's link.
async fn registered(tenancy: &Tenancy) -> String {
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
    let at = OrgRef::Id(org.id);
    tenancy
        .patch_settings::<RegistrationSettings>(
            &admin,
            &SettingsTarget::Org(at.clone()),
            &json!({ "enabled": true, "defaultPlan": "starter" }),
            None,
        )
        .await
        .unwrap();
    let accepted = tenancy
        .request_registration(
            None,
            &at,
            RegistrationRequest {
                name: Name::parse("Ada's workspace").unwrap(),
                key: TenantKey::parse("acme").unwrap(),
                admin_email: Email::parse("ada@example.com").unwrap(),
                region: None,
            },
        )
        .await
        .unwrap();
    let text = accepted.mail.text();
    let at = text.find("token=").unwrap() + "token=".len();
    text[at..at + RegistrationToken::LEN].to_owned()
}

async fn tenants(test: &TestDatabase) -> i64 {
    let owner = test.owner_pool().await;
    sqlx::query_scalar("SELECT count(*) FROM tenants WHERE key = 'acme'")
        .fetch_one(&owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_link_confirmed_twice_provisions_once_and_only_its_hash_is_stored() {
    let test = TestDatabase::new().await;
    let tenancy = tenancy_on(&test).await;
    let token = registered(&tenancy).await;
    let owner = test.owner_pool().await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM registrations")
        .fetch_one(&owner)
        .await
        .unwrap();
    assert_eq!(
        stored,
        RegistrationToken::parse(&token).unwrap().hash().as_bytes()
    );
    let rows: String = sqlx::query_scalar("SELECT row_to_json(r)::text FROM registrations r")
        .fetch_one(&owner)
        .await
        .unwrap();
    assert!(!rows.contains(&token), "the token itself is stored nowhere");

    let first = tenancy.confirm_registration(None, &token).await.unwrap();
    assert!(first.created && first.api_key.is_some());
    assert_eq!(first.tenant.plan.as_str(), "starter");
    assert_eq!(
        tenancy.confirm_registration(None, &token).await,
        Err(RegistrationError::TokenUsed)
    );
    assert_eq!(tenants(&test).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_confirmations_of_one_link_give_one_tenant() {
    let test = TestDatabase::new().await;
    let tenancy = Arc::new(tenancy_on(&test).await);
    let token = registered(&tenancy).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (tenancy, token, barrier) = (tenancy.clone(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                tenancy.confirm_registration(None, &token).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(provisioned) => {
                assert!(provisioned.created && provisioned.api_key.is_some());
                created += 1;
            }
            Err(RegistrationError::TokenUsed) => {}
            Err(other) => panic!("a racing confirmation got {other:?}"),
        }
    }
    assert_eq!(created, 1, "one confirmation answers the key");
    assert_eq!(tenants(&test).await, 1, "one tenant");
}
