//! The migrations apply to an empty database, once, and leave every table
//! under row-level security with only the grants the runtime role needs.

use std::collections::BTreeSet;

use adapters_postgres::testing::TestDatabase;
use adapters_postgres::{Database, DatabaseConfig, MIGRATOR, migrate};
use sqlx::PgPool;

use crate::fixtures::{TABLES, TABLES_CHECKED_BY_CONTRACT, TABLES_WITHOUT_ID};

/// Everything the migrations create and record, as sorted lines.
async fn schema_fingerprint(owner: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT line FROM ( \
           SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, \
                         data_type, is_nullable, column_default) AS line \
             FROM information_schema.columns WHERE table_schema = 'public' \
           UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
           UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) \
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
           UNION ALL SELECT format('policy %s.%s %s %s %s', tablename, policyname, cmd, qual, \
                                   with_check) FROM pg_policies \
           UNION ALL SELECT format('trigger %s', tgname) FROM pg_trigger WHERE NOT tgisinternal \
           UNION ALL SELECT format('grant %s.%s %s', table_name, privilege_type, grantee) \
             FROM information_schema.role_table_grants WHERE table_schema = 'public' \
           UNION ALL SELECT format('extension %s', extname) FROM pg_extension \
           UNION ALL SELECT format('migration %s %s %s %s', version, encode(checksum, 'hex'), \
                                   installed_on, success) FROM _sqlx_migrations \
         ) everything ORDER BY line",
    )
    .fetch_all(owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_migrations_apply_to_an_empty_database() {
    let test = TestDatabase::empty().await;
    migrate(test.owner_url()).await.unwrap();
    let owner = test.owner_pool().await;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&owner)
            .await
            .unwrap();
    let embedded: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied, embedded);
    let tables: BTreeSet<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(&owner)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let expected: BTreeSet<String> = TABLES
        .iter()
        .chain(&TABLES_WITHOUT_ID)
        .chain(&TABLES_CHECKED_BY_CONTRACT)
        .map(|t| (*t).to_owned())
        .collect();
    assert_eq!(tables, expected);
}

#[tokio::test]
async fn applying_the_migrations_again_changes_nothing() {
    let test = TestDatabase::empty().await;
    migrate(test.owner_url()).await.unwrap();
    let owner = test.owner_pool().await;
    let first = schema_fingerprint(&owner).await;
    assert!(first.iter().any(|line| line.starts_with("policy ")));
    migrate(test.owner_url()).await.unwrap();
    assert_eq!(schema_fingerprint(&owner).await, first);
}

#[tokio::test]
async fn every_table_forces_row_level_security_and_has_policies() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let tables: Vec<(String, bool, bool, i64)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
           AND c.relname <> '_sqlx_migrations' \
         ORDER BY 1",
    )
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(
        tables.len(),
        TABLES.len() + TABLES_WITHOUT_ID.len() + TABLES_CHECKED_BY_CONTRACT.len()
    );
    for (table, enabled, forced, policies) in tables {
        assert!(
            enabled && forced,
            "{table}: row-level security enabled and forced"
        );
        assert!(
            policies > 0,
            "{table}: without a policy nothing is visible at all"
        );
    }
}

#[tokio::test]
async fn the_runtime_role_holds_only_the_grants_it_needs() {
    let test = TestDatabase::new().await;
    let owner = test.owner_pool().await;
    let grants: BTreeSet<String> = sqlx::query_scalar(
        "SELECT format('%s %s', table_name, privilege_type) \
         FROM information_schema.role_table_grants WHERE grantee = 'tenancy_app'",
    )
    .fetch_all(&owner)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let expected: BTreeSet<String> = [
        // Never deleted: orgs, tenants (tombstones) and org keys (revoked).
        "orgs SELECT",
        "orgs INSERT",
        "orgs UPDATE",
        "tenants SELECT",
        "tenants INSERT",
        "tenants UPDATE",
        "org_api_keys SELECT",
        "org_api_keys INSERT",
        "org_api_keys UPDATE",
        // Purged with their tenant.
        "namespaces SELECT",
        "namespaces INSERT",
        "namespaces UPDATE",
        "namespaces DELETE",
        "api_keys SELECT",
        "api_keys INSERT",
        "api_keys UPDATE",
        "api_keys DELETE",
        // Append-only.
        "audit_events SELECT",
        "audit_events INSERT",
        // Each org's chain head moves forward with every event, never deleted.
        "audit_chain_heads SELECT",
        "audit_chain_heads INSERT",
        "audit_chain_heads UPDATE",
        // Versions are immutable; the `latest` flag moves; purged with their tenant.
        "resources SELECT",
        "resources INSERT",
        "resources UPDATE",
        "resources DELETE",
        // Listings are never deleted; their versions never change.
        "library_listings SELECT",
        "library_listings INSERT",
        "library_listings UPDATE",
        "library_listing_versions SELECT",
        "library_listing_versions INSERT",
        // Grants are replaced as a whole.
        "library_grants SELECT",
        "library_grants INSERT",
        "library_grants DELETE",
        // Upgraded; purged with their tenant.
        "library_installs SELECT",
        "library_installs INSERT",
        "library_installs UPDATE",
        "library_installs DELETE",
        // Rewrapped after a KEK rotation; destroyed with their tenant.
        "tenant_data_keys SELECT",
        "tenant_data_keys INSERT",
        "tenant_data_keys UPDATE",
        "tenant_data_keys DELETE",
        // Replaced and deleted; purged with their tenant.
        "tenant_secrets SELECT",
        "tenant_secrets INSERT",
        "tenant_secrets UPDATE",
        "tenant_secrets DELETE",
        // Minted on first use, rewrapped after a KEK rotation; orgs stay.
        "org_data_keys SELECT",
        "org_data_keys INSERT",
        "org_data_keys UPDATE",
        // Claimed, completed, released and purged.
        "idempotency_records SELECT",
        "idempotency_records INSERT",
        "idempotency_records UPDATE",
        "idempotency_records DELETE",
        // The outbox: appended with the audit trail, marked fanned out.
        "event_outbox SELECT",
        "event_outbox INSERT",
        // The retention job's purge of old events (0044).
        "event_outbox DELETE",
        // Created, updated (secrets rotated, disabled) and deleted.
        "webhook_endpoints SELECT",
        "webhook_endpoints INSERT",
        "webhook_endpoints UPDATE",
        "webhook_endpoints DELETE",
        // Queued, claimed, recorded; deleted with their endpoint or their
        // event (the purge).
        "webhook_deliveries SELECT",
        "webhook_deliveries INSERT",
        "webhook_deliveries UPDATE",
        "webhook_deliveries DELETE",
        // Added, changed, removed or promoted to owner, purged with the tenant.
        "tenant_members SELECT",
        "tenant_members INSERT",
        "tenant_members UPDATE",
        "tenant_members DELETE",
        // Written by version, purged with their tenant.
        "settings_documents SELECT",
        "settings_documents INSERT",
        "settings_documents UPDATE",
        "settings_documents DELETE",
        // Requested, claimed (and released), purged once expired.
        "registrations SELECT",
        "registrations INSERT",
        "registrations UPDATE",
        "registrations DELETE",
        // Written by version, removed, purged with their tenant.
        "custom_domains SELECT",
        "custom_domains INSERT",
        "custom_domains UPDATE",
        "custom_domains DELETE",
        // The inventory's side tables: written by triggers, read by the store.
        "tenant_name_trigrams SELECT",
        "tenant_metadata SELECT",
    ]
    .map(String::from)
    .into();
    assert_eq!(grants, expected);
}

/// `url` with its user replaced by `role` (the test server trusts every role).
fn with_user(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (_, host) = rest.split_once('@').expect("the test URL names its user");
    format!("{scheme}://{role}@{host}")
}

#[tokio::test]
async fn a_non_superuser_owner_role_can_apply_every_migration() {
    let test = TestDatabase::empty().await;
    let server = test.owner_pool().await;
    // The owner the README sets up: it logs in, may create roles (for the
    // runtime role, when a DBA has not created it) and owns the database (so
    // it has CREATE there, enough for the trusted pg_trgm extension).
    let owner = format!("{}_owner", test.name());
    for statement in [
        format!("CREATE ROLE \"{owner}\" LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"),
        format!("ALTER DATABASE \"{}\" OWNER TO \"{owner}\"", test.name()),
    ] {
        sqlx::query(&statement).execute(&server).await.unwrap();
    }
    let migrated = migrate(&with_user(test.owner_url(), &owner)).await;
    let runtime = match &migrated {
        Ok(()) => Some(Database::connect(&DatabaseConfig::new(test.runtime_url())).await),
        Err(_) => None,
    };
    if let Some(Ok(db)) = &runtime {
        db.close().await;
    }
    let (superuser, tables_owned): (bool, i64) = sqlx::query_as(
        "SELECT r.rolsuper, (SELECT count(*) FROM pg_tables t WHERE t.tableowner = r.rolname) \
         FROM pg_roles r WHERE r.rolname = $1",
    )
    .bind(&owner)
    .fetch_one(&server)
    .await
    .unwrap();
    for statement in [
        format!("ALTER DATABASE \"{}\" OWNER TO CURRENT_USER", test.name()),
        format!("REASSIGN OWNED BY \"{owner}\" TO CURRENT_USER"),
        format!("DROP OWNED BY \"{owner}\""),
        format!("DROP ROLE \"{owner}\""),
    ] {
        sqlx::query(&statement).execute(&server).await.unwrap();
    }
    migrated.expect("the owner role migrates");
    assert!(!superuser);
    assert!(tables_owned > 0, "the owner role owns the tables");
    runtime
        .expect("migrated")
        .expect("the runtime role connects to a database the owner role migrated");
}
