//! The audit chain on PostgreSQL (issue #14, acceptance 7): migration 0040
//! chains the rows written before it; editing any stored row (as the owner,
//! the append-only trigger disabled) makes verification name its `seq`;
//! cutting the tail off is caught against a checkpoint; a deleted (shredded)
//! tenant's events still verify.

use std::borrow::Cow;
use std::sync::Arc;

use adapters_memory::{ManualClock, MemoryKms, MemoryStore};
use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{MIGRATOR, PgStore, migrate};
use domain::audit::chain::verify;
use domain::ports::{AuditLog, CheckpointSigner, DataScope};
use domain::{
    ChainHead, Context, LifecycleAction, Name, NewOrg, OrgId, OrgKey, OrgRef, Ports,
    ProvisionTenant, Reason, Settings, Tenancy, TenantKey, TenantPatch, TenantRef,
};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use uuid::Uuid;

use crate::fixtures::{insert_audit, platform, seed};

/// Checkpoints here are about the chain, not the signature (the HTTP tests
/// check signatures with the real key).
struct UnsignedCheckpoints;

impl CheckpointSigner for UnsignedCheckpoints {
    fn key_id(&self) -> String {
        "test".into()
    }
    fn public_key(&self) -> [u8; 32] {
        [0; 32]
    }
    fn sign(&self, _: &[u8]) -> [u8; 64] {
        [0; 64]
    }
}

async fn tenancy_on(test: &TestDatabase) -> Tenancy {
    let store = Arc::new(PgStore::new(test.runtime().await));
    let harness = Arc::new(MemoryStore::new());
    let ports = Ports {
        orgs: store.clone(),
        tenants: store.clone(),
        namespaces: store.clone(),
        keys: store.clone(),
        audit: store.clone(),
        library: store.clone(),
        data_keys: store.clone(),
        tenant_secrets: store.clone(),
        idempotency: store,
        kms: Arc::new(MemoryKms::default()),
        ..harness.ports(Arc::new(ManualClock::default()))
    };
    Tenancy::new(ports, Settings::default()).with_checkpoint_signer(Arc::new(UnsignedCheckpoints))
}

/// An org with two tenants and a history of clear (org) and sealed (tenant)
/// events; one tenant deleted, so its details are shredded.
async fn history(tenancy: &Tenancy) -> (OrgRef, OrgId) {
    let admin = Context::platform_admin().with_request_id("req-\"1\"");
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
    let org_ref = OrgRef::Id(org.id);
    for key in ["acme", "bolt"] {
        tenancy
            .provision(
                &admin,
                &org_ref,
                ProvisionTenant {
                    key: TenantKey::parse(key).unwrap(),
                    name: Name::parse(&format!("Ada's \"{key}\"")).unwrap(),
                    plan: None,
                    region: None,
                    owner: None,
                    metadata: domain::Metadata::default(),
                    namespaces: Vec::new(),
                },
            )
            .await
            .unwrap();
    }
    let acme = TenantRef::Key(TenantKey::parse("acme").unwrap());
    tenancy
        .update_tenant(
            &admin,
            &org_ref,
            &acme,
            TenantPatch {
                name: Some(Name::parse("Acme é€").unwrap()),
                ..TenantPatch::default()
            },
        )
        .await
        .unwrap();
    tenancy
        .transition(
            &admin,
            &org_ref,
            &acme,
            LifecycleAction::Suspend,
            Reason::parse("Ada asked to pause").unwrap(),
        )
        .await
        .unwrap();
    let bolt = TenantRef::Key(TenantKey::parse("bolt").unwrap());
    tenancy
        .transition(
            &admin,
            &org_ref,
            &bolt,
            LifecycleAction::Deactivate,
            Reason::parse("churned").unwrap(),
        )
        .await
        .unwrap();
    tenancy
        .delete_tenant(&admin, &org_ref, &bolt, "bolt", None)
        .await
        .unwrap();
    (org_ref, org.id)
}

async fn as_owner(owner: &PgPool, statements: &[&str], org: OrgId) {
    let mut tx = owner.begin().await.unwrap();
    platform(&mut tx).await;
    for statement in statements {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(org.as_uuid())
        } else {
            query
        };
        query
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.unwrap();
}

/// Runs `edit` on the org's rows with the append-only trigger disabled, as
/// the owner (the test server's superuser), `$1` being the org's id.
async fn rewrite(owner: &PgPool, org: OrgId, edit: &str) {
    as_owner(
        owner,
        &[
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
            edit,
            "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only",
        ],
        org,
    )
    .await;
}

#[tokio::test]
async fn editing_any_stored_event_makes_verify_name_its_seq() {
    let test = TestDatabase::new().await;
    let tenancy = tenancy_on(&test).await;
    let (org_ref, org) = history(&tenancy).await;
    let admin = Context::platform_admin();
    let report = tenancy
        .verify_audit_chain(&admin, &org_ref, None)
        .await
        .unwrap();
    assert!(report.intact, "{report:?}");
    let total = report.checked;
    assert!(total >= 6, "{total} events");
    let owner = test.owner_pool().await;
    as_owner(
        &owner,
        &["CREATE TABLE audit_backup AS SELECT * FROM audit_events WHERE org_id = $1"],
        org,
    )
    .await;
    // What each kind of row (clear org event 1, sealed tenant events after)
    // lets one change, and which seq it is changed at.
    let edits: [(u64, &str); 14] = [
        (1, "action = 'org.updated'"),
        (1, "actor_id = actor_id || ' '"),
        (2, "actor_kind = 'system'"),
        (2, "at = at + interval '1 microsecond'"),
        (3, "target_type = 'namespace'"),
        (3, "target_id = org_id"),
        (4, "request_id = NULL"),
        (1, "request_id = 'req-2'"),
        (
            1,
            "changes = '[{\"field\":\"name\",\"from\":null,\"to\":\"x\"}]'",
        ),
        (1, "reason = 'because'"),
        (4, "sealed_details = sealed_details || '\\x00'::bytea"),
        (5, "hash = sha256(hash)"),
        (total, "org_id = org_id, id = gen_random_uuid()"),
        (2, "tenant_id = (SELECT id FROM tenants WHERE key = 'bolt')"),
    ];
    for (seq, set) in edits {
        rewrite(
            &owner,
            org,
            &format!("UPDATE audit_events SET {set} WHERE org_id = $1 AND chain_seq = {seq}"),
        )
        .await;
        let report = tenancy
            .verify_audit_chain(&admin, &org_ref, None)
            .await
            .unwrap();
        assert_eq!(report.first_broken_seq, Some(seq), "{set}: {report:?}");
        assert!(!report.intact);
        assert_eq!(report.checked, total);
        rewrite(
            &owner,
            org,
            "UPDATE audit_events a SET id = b.id, tenant_id = b.tenant_id, at = b.at, \
             actor_kind = b.actor_kind, actor_id = b.actor_id, action = b.action, \
             target_type = b.target_type, target_id = b.target_id, request_id = b.request_id, \
             reason = b.reason, changes = b.changes, sealed_details = b.sealed_details, \
             hash = b.hash FROM audit_backup b \
             WHERE a.org_id = $1 AND b.org_id = a.org_id AND b.chain_seq = a.chain_seq",
        )
        .await;
        let restored = tenancy
            .verify_audit_chain(&admin, &org_ref, None)
            .await
            .unwrap();
        assert!(restored.intact, "restored after {set}");
    }

    // A row removed from the middle: its seq is the first missing.
    rewrite(
        &owner,
        org,
        "DELETE FROM audit_events WHERE org_id = $1 AND chain_seq = 3",
    )
    .await;
    let report = tenancy
        .verify_audit_chain(&admin, &org_ref, None)
        .await
        .unwrap();
    assert_eq!(report.first_broken_seq, Some(3));
}

#[tokio::test]
async fn a_cut_tail_is_caught_against_the_last_checkpoint_and_shows_as_a_gap_once_appended() {
    let test = TestDatabase::new().await;
    let tenancy = tenancy_on(&test).await;
    let (org_ref, org) = history(&tenancy).await;
    let admin = Context::platform_admin();
    let checkpoint = tenancy.audit_checkpoint(&admin, &org_ref).await.unwrap();
    let kept = checkpoint.head;
    assert!(kept.seq >= 6);
    let owner = test.owner_pool().await;
    rewrite(
        &owner,
        org,
        &format!(
            "DELETE FROM audit_events WHERE org_id = $1 AND chain_seq > {}",
            kept.seq - 2
        ),
    )
    .await;
    let without = tenancy
        .verify_audit_chain(&admin, &org_ref, None)
        .await
        .unwrap();
    assert!(without.intact, "a shorter chain is a chain: {without:?}");
    assert_eq!(without.head.seq, kept.seq - 2);
    let against = tenancy
        .verify_audit_chain(&admin, &org_ref, Some(kept))
        .await
        .unwrap();
    assert!(against.truncated && !against.intact, "{against:?}");
    assert_eq!(against.first_broken_seq, None);

    // The head table still holds the removed tail's head: the next event
    // links after it, and the removed numbers show as a gap.
    tenancy
        .update_tenant(
            &admin,
            &org_ref,
            &TenantRef::Key(TenantKey::parse("acme").unwrap()),
            TenantPatch {
                name: Some(Name::parse("Acme 3").unwrap()),
                ..TenantPatch::default()
            },
        )
        .await
        .unwrap();
    let report = tenancy
        .verify_audit_chain(&admin, &org_ref, None)
        .await
        .unwrap();
    assert_eq!(report.first_broken_seq, Some(kept.seq - 1));
    assert_eq!(report.head.seq, kept.seq + 1);
}

#[tokio::test]
async fn a_deleted_tenants_shredded_events_still_verify() {
    let test = TestDatabase::new().await;
    let tenancy = tenancy_on(&test).await;
    let (org_ref, _) = history(&tenancy).await;
    let admin = Context::platform_admin();
    let page = tenancy
        .list_audit(
            &admin,
            &org_ref,
            Some(&TenantRef::Key(TenantKey::parse("bolt").unwrap())),
            None,
            domain::Limit::new(200).unwrap(),
        )
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    assert!(
        page.items
            .iter()
            .all(|r| r.details == domain::AuditDetails::Shredded),
        "bolt's key is destroyed: {:?}",
        page.items
    );
    let report = tenancy
        .verify_audit_chain(&admin, &org_ref, None)
        .await
        .unwrap();
    assert!(report.intact, "{report:?}");
}

/// `url` with its user replaced by `role` (the test server trusts every role).
fn with_user(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (_, host) = rest.split_once('@').expect("the test URL names its user");
    format!("{scheme}://{role}@{host}")
}

#[tokio::test]
async fn the_migration_chains_the_events_written_before_it_for_a_non_superuser_owner() {
    let test = TestDatabase::empty().await;
    let server = test.owner_pool().await;
    let owner_role = format!("{}_owner", test.name());
    for statement in [
        format!("CREATE ROLE \"{owner_role}\" LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"),
        format!(
            "ALTER DATABASE \"{}\" OWNER TO \"{owner_role}\"",
            test.name()
        ),
    ] {
        sqlx::query(&statement).execute(&server).await.unwrap();
    }
    let owner_url = with_user(test.owner_url(), &owner_role);
    let result = backfill(&test, &owner_url).await;
    for statement in [
        format!("ALTER DATABASE \"{}\" OWNER TO CURRENT_USER", test.name()),
        format!("REASSIGN OWNED BY \"{owner_role}\" TO CURRENT_USER"),
        format!("DROP OWNED BY \"{owner_role}\""),
        format!("DROP ROLE \"{owner_role}\""),
    ] {
        sqlx::query(&statement).execute(&server).await.unwrap();
    }
    result.unwrap_or_else(|e| panic!("{e}"));
}

/// Migrates to 0031, writes events of two orgs interleaved, migrates the
/// rest and checks each org's chain.
async fn backfill(test: &TestDatabase, owner_url: &str) -> Result<(), String> {
    let before = Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|m| m.version <= 31)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    let owner = PgPool::connect(owner_url)
        .await
        .map_err(|e| e.to_string())?;
    before.run(&owner).await.map_err(|e| e.to_string())?;
    let world = seed(&owner).await;
    let (a, b) = (world.org_a.id, world.org_b.id);
    let mut tx = owner.begin().await.unwrap();
    platform(&mut tx).await;
    for n in 0..5u128 {
        insert_audit(&mut tx, Uuid::from_u128(0xF000 + n), a, None)
            .await
            .unwrap();
        insert_audit(&mut tx, Uuid::from_u128(0xF100 + n), b, None)
            .await
            .unwrap();
    }
    // Details in clear with what must be escaped, and sealed ones.
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, tenant_id, at, actor_kind, actor_id, action, \
             target_type, target_id, request_id, reason, changes) \
         VALUES ($1, $2, NULL, '2026-01-01T00:00:00.5Z', 'org_key', 'k\"1', 'org.updated', 'org', \
             $2, 'req\\1', 'why \"not\"', \
             '[{\"field\":\"name\",\"from\":\"A\\u0001é\\n\",\"to\":null}]')",
    )
    .bind(Uuid::from_u128(0xF200))
    .bind(a)
    .execute(&mut *tx)
    .await
    .unwrap();
    let tenant = world.tenant_a().id;
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, tenant_id, at, actor_kind, actor_id, action, \
             target_type, target_id, sealed_details) \
         VALUES ($1, $2, $3, now(), 'system', 'retention', 'tenant.updated', 'tenant', $3, \
             '\\x00ff10'::bytea)",
    )
    .bind(Uuid::from_u128(0xF201))
    .bind(a)
    .bind(tenant)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let counts: Vec<i64> = {
        let mut tx = owner.begin().await.unwrap();
        platform(&mut tx).await;
        let mut counts = Vec::new();
        for org in [a, b] {
            counts.push(
                sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE org_id = $1")
                    .bind(org)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap(),
            );
        }
        counts
    };
    owner.close().await;

    migrate(owner_url).await.map_err(|e| e.to_string())?;

    let store = PgStore::new(test.runtime().await);
    for (n, (org, count)) in [(a, counts[0]), (b, counts[1])].into_iter().enumerate() {
        let org = OrgId::from_uuid(org);
        let links = store
            .audit_chain(&DataScope::Platform, org, 0, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let records = store
            .audit_records(&DataScope::Platform, org, None, None, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let report = verify(&links, None);
        if !report.intact || i64::try_from(report.checked).unwrap() != count {
            return Err(format!("org {org:?}: {report:?} over {count} rows"));
        }
        let chained: Vec<_> = links.into_iter().map(|l| l.record).collect();
        if chained != records {
            return Err("the chain does not follow the order written".into());
        }
        // The head table the migration filled: the next event links on.
        let mut tx = store_tx(test).await;
        insert_audit(
            &mut tx,
            Uuid::from_u128(0xF300 + n as u128),
            org.as_uuid(),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        let links = store
            .audit_chain(&DataScope::Platform, org, 0, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let report = verify(&links, None);
        let expected = ChainHead {
            seq: u64::try_from(count).unwrap() + 1,
            hash: links.last().unwrap().hash,
        };
        if !report.intact || report.head != expected {
            return Err(format!("after one more event: {report:?}"));
        }
    }
    Ok(())
}

async fn store_tx(test: &TestDatabase) -> sqlx::Transaction<'static, sqlx::Postgres> {
    test.runtime()
        .await
        .scoped_transaction(&DataScope::Platform)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_scope_sees_and_moves_only_its_own_orgs_chain_head() {
    let test = TestDatabase::new().await;
    let world = seed(&test.owner_pool().await).await;
    let db = test.runtime().await;
    let a = world.tenant_a();
    let b = world.org_b.id;
    let heads = |scope: DataScope| {
        let db = db.clone();
        async move {
            let mut tx = db.scoped_transaction(&scope).await.unwrap();
            let orgs: Vec<Uuid> =
                sqlx::query_scalar("SELECT org_id FROM audit_chain_heads ORDER BY org_id")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            orgs
        }
    };
    let (org_a, org_b) = (OrgId::from_uuid(a.org), OrgId::from_uuid(b));
    assert_eq!(heads(DataScope::Platform).await, vec![a.org, b]);
    assert_eq!(heads(DataScope::Org(org_b)).await, vec![b]);
    assert_eq!(
        heads(a.scope()).await,
        vec![a.org],
        "a tenant sees its org's head"
    );
    // A scope cannot move another org's head (nor read it to link to it).
    let mut tx = db.scoped_transaction(&DataScope::Org(org_a)).await.unwrap();
    let moved =
        sqlx::query("UPDATE audit_chain_heads SET chain_seq = chain_seq + 1 WHERE org_id = $1")
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap();
    assert_eq!(moved.rows_affected(), 0);
    let inserted = sqlx::query(
        "INSERT INTO audit_chain_heads (org_id, chain_seq, hash) VALUES ($1, 1, sha256(''))",
    )
    .bind(b)
    .execute(&mut *tx)
    .await;
    assert!(
        inserted.is_err(),
        "another org's head is out of the org scope"
    );
}
