//! Two orgs and their tenants, seeded with raw SQL by the owner, so that every
//! isolation test has a neighbour whose rows it must never see.
//!
//! Ids are small numbers that say whose row it is: `0xA…` belongs to org A,
//! `0xB…` to org B.

use std::collections::BTreeSet;

use adapters_postgres::DataScope;
use domain::{OrgId, TenantId};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

/// Every table that holds tenant or org data, each with an `id` column, or
/// (the inventory's side tables, [`SIDE_TABLES`]) a `tenant_id`.
pub const TABLES: [&str; 11] = [
    "orgs",
    "tenants",
    "namespaces",
    "api_keys",
    "org_api_keys",
    "audit_events",
    "resources",
    "library_listings",
    "library_installs",
    "tenant_name_trigrams",
    "tenant_metadata",
];

/// The inventory's side tables (0013, 0014): rows per tenant, written by
/// triggers on `tenants`, read by tenant id here.
pub const SIDE_TABLES: [&str; 2] = ["tenant_name_trigrams", "tenant_metadata"];

/// The tables without an `id` of their own (rows keyed by their listing), which
/// the isolation tests read by listing.
pub const TABLES_WITHOUT_ID: [&str; 2] = ["library_grants", "library_listing_versions"];

/// Tables not seeded here: their isolation is checked by the store contract
/// (`secrets::another_tenants_secrets_and_data_key_are_invisible_and_untouchable`,
/// `idempotency::another_orgs_records_are_invisible_and_untouchable`,
/// `data_keys::an_org_data_key_is_stored_once_and_seen_by_its_org_only`,
/// `events::events_resume_after_an_event_and_filter_by_type_time_and_scope`,
/// `webhooks::another_orgs_endpoints_are_invisible_and_untouchable`,
/// `deliveries::redelivery_and_recovery_requeue_exactly_the_chosen_messages`,
/// `members::another_tenants_members_are_invisible_and_untouchable`,
/// `settings::another_orgs_and_tenants_documents_are_invisible_and_untouchable`,
/// `registrations::registrations_are_an_orgs_own_and_refused_outside_its_scope`,
/// `domains::another_orgs_and_tenants_domains_are_invisible_and_untouchable`),
/// which runs on PostgreSQL as the runtime role, so row-level security is
/// what it exercises. `audit_chain_heads` (written by the linking trigger in
/// every scope, the contract) is checked by
/// `audit_chain::a_scope_sees_and_moves_only_its_own_orgs_chain_head`.
pub const TABLES_CHECKED_BY_CONTRACT: [&str; 12] = [
    "tenant_data_keys",
    "tenant_secrets",
    "org_data_keys",
    "idempotency_records",
    "audit_chain_heads",
    "event_outbox",
    "webhook_endpoints",
    "webhook_deliveries",
    "tenant_members",
    "settings_documents",
    "registrations",
    "custom_domains",
];

/// One tenant and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct SeededTenant {
    pub org: Uuid,
    pub id: Uuid,
    pub namespace: Uuid,
    pub key: Uuid,
    pub audit: Uuid,
    pub resource: Uuid,
    pub install: Uuid,
}

impl SeededTenant {
    fn numbered(org: Uuid, base: u128) -> Self {
        Self {
            org,
            id: Uuid::from_u128(base),
            namespace: Uuid::from_u128(base + 0x10),
            key: Uuid::from_u128(base + 0x20),
            audit: Uuid::from_u128(base + 0x40),
            resource: Uuid::from_u128(base + 0x60),
            install: Uuid::from_u128(base + 0x70),
        }
    }

    pub fn scope(&self) -> DataScope {
        DataScope::Tenant {
            org: OrgId::from_uuid(self.org),
            tenant: TenantId::from_uuid(self.id),
        }
    }
}

/// One org, its own key and org-level audit event, and its tenants.
#[derive(Debug, Clone)]
pub struct SeededOrg {
    pub id: Uuid,
    pub org_key: Uuid,
    pub audit: Uuid,
    /// A library listing of the org, granted to all its namespaces; each of its
    /// tenants has installed it.
    pub listing: Uuid,
    pub tenants: Vec<SeededTenant>,
}

impl SeededOrg {
    pub fn scope(&self) -> DataScope {
        DataScope::Org(OrgId::from_uuid(self.id))
    }
}

/// Org A with tenants A1 and A2; org B with tenant B1.
#[derive(Debug, Clone)]
pub struct World {
    pub org_a: SeededOrg,
    pub org_b: SeededOrg,
}

impl World {
    pub fn tenant_a(&self) -> SeededTenant {
        self.org_a.tenants[0]
    }

    pub fn tenant_b(&self) -> SeededTenant {
        self.org_b.tenants[0]
    }

    /// The ids of `table` that belong to `org` (all of its tenants' too).
    pub fn ids_of_org(&self, org: &SeededOrg, table: &str) -> BTreeSet<Uuid> {
        match table {
            "orgs" => [org.id].into(),
            "org_api_keys" => [org.org_key].into(),
            "library_listings" => [org.listing].into(),
            "audit_events" => org
                .tenants
                .iter()
                .map(|t| t.audit)
                .chain([org.audit])
                .collect(),
            _ => org
                .tenants
                .iter()
                .flat_map(|t| self.ids_of_tenant(t, table))
                .collect(),
        }
    }

    /// The ids of `table` that a tenant scope may see: the tenant's own rows
    /// and its org's row.
    pub fn ids_of_tenant(&self, tenant: &SeededTenant, table: &str) -> BTreeSet<Uuid> {
        match table {
            "orgs" => [tenant.org].into(),
            "tenants" | "tenant_name_trigrams" | "tenant_metadata" => [tenant.id].into(),
            "namespaces" => [tenant.namespace].into(),
            "api_keys" => [tenant.key].into(),
            "org_api_keys" => BTreeSet::new(),
            "audit_events" => [tenant.audit].into(),
            "resources" => [tenant.resource].into(),
            "library_installs" => [tenant.install].into(),
            // Granted to the tenant's org.
            "library_listings" => [self.org_of(tenant).listing].into(),
            other => panic!("no table {other}"),
        }
    }

    pub fn org_of(&self, tenant: &SeededTenant) -> &SeededOrg {
        if tenant.org == self.org_a.id {
            &self.org_a
        } else {
            &self.org_b
        }
    }

    pub fn all_ids(&self, table: &str) -> BTreeSet<Uuid> {
        let mut ids = self.ids_of_org(&self.org_a, table);
        ids.extend(self.ids_of_org(&self.org_b, table));
        ids
    }
}

/// Seeds both orgs as the owner, in platform scope (the owner is subject to
/// row-level security too, unless it is a superuser).
pub async fn seed(owner: &PgPool) -> World {
    let org = |base: u128, tenants: &[u128]| {
        let id = Uuid::from_u128(base);
        SeededOrg {
            id,
            org_key: Uuid::from_u128(base + 0x30),
            audit: Uuid::from_u128(base + 0x40),
            listing: Uuid::from_u128(base + 0x50),
            tenants: tenants
                .iter()
                .map(|t| SeededTenant::numbered(id, *t))
                .collect(),
        }
    };
    let world = World {
        org_a: org(0xA000, &[0xA100, 0xA200]),
        org_b: org(0xB000, &[0xB100]),
    };
    let mut tx = owner.begin().await.unwrap();
    platform(&mut tx).await;
    for org in [&world.org_a, &world.org_b] {
        insert_org(&mut tx, org.id, &key_of(org.id)).await.unwrap();
        insert_org_key(&mut tx, org.id, org.org_key).await.unwrap();
        insert_audit(&mut tx, org.audit, org.id, None)
            .await
            .unwrap();
        insert_listing(&mut tx, org.id, org.listing, &key_of(org.listing))
            .await
            .unwrap();
        for t in &org.tenants {
            insert_tenant(&mut tx, org.id, t.id, &key_of(t.id))
                .await
                .unwrap();
            insert_namespace(&mut tx, org.id, t.id, t.namespace, &key_of(t.namespace))
                .await
                .unwrap();
            insert_key(&mut tx, org.id, t.id, t.namespace, t.key)
                .await
                .unwrap();
            insert_audit(&mut tx, t.audit, org.id, Some(t.id))
                .await
                .unwrap();
            insert_resource(&mut tx, org.id, t.id, t.namespace, t.resource)
                .await
                .unwrap();
            insert_install(&mut tx, org.id, t, org.listing, &key_of(org.listing))
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    world
}

/// A key for a row: `k-` and the id's last hex digits.
pub fn key_of(id: Uuid) -> String {
    format!("k-{:x}", id.as_u128())
}

/// Sets platform scope for the rest of the transaction.
pub async fn platform(conn: &mut PgConnection) {
    sqlx::query("SELECT set_config('app.scope', 'platform', true)")
        .execute(conn)
        .await
        .unwrap();
}

/// The ids of every row of `table` that `conn` can see: `SELECT *`, no filter
/// (the tenant ids of a side table's rows). Not prepared by name, so that it
/// also runs through PgBouncer.
pub async fn visible_ids(conn: &mut PgConnection, table: &str) -> BTreeSet<Uuid> {
    let column = if SIDE_TABLES.contains(&table) {
        "tenant_id"
    } else {
        "id"
    };
    sqlx::query(&format!("SELECT * FROM {table}"))
        .persistent(false)
        .fetch_all(conn)
        .await
        .unwrap_or_else(|e| panic!("SELECT * FROM {table}: {e}"))
        .iter()
        .map(|row| row.get::<Uuid, _>(column))
        .collect()
}

/// The SQLSTATE of a database error, and whether it was one.
pub fn sqlstate(result: Result<impl std::fmt::Debug, sqlx::Error>) -> String {
    match result {
        Err(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()).unwrap_or_default(),
        other => panic!("expected a database error, got {other:?}"),
    }
}

pub async fn insert_org(conn: &mut PgConnection, id: Uuid, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO orgs (id, key, name, created_at, updated_at, version) \
         VALUES ($1, $2, $2, now(), now(), 1)",
    )
    .bind(id)
    .bind(key)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_tenant(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tenants (id, org_id, key, name, plan, region, metadata, status, \
             status_changed_at, status_changed_by_kind, status_changed_by_id, spec_digest, \
             created_at, updated_at, version) \
         VALUES ($1, $2, $3, $3, 'free', 'eu', '{\"tier\": \"gold\"}', 'active', \
             now(), 'platform_admin', 'admin', decode(repeat('ab', 32), 'hex'), now(), now(), 1)",
    )
    .bind(id)
    .bind(org)
    .bind(key)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_namespace(
    conn: &mut PgConnection,
    org: Uuid,
    tenant: Uuid,
    id: Uuid,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO namespaces (tenant_id, id, org_id, key, name, mode, created_at, \
             updated_at, version) \
         VALUES ($1, $2, $3, $4, $4, 'live', now(), now(), 1)",
    )
    .bind(tenant)
    .bind(id)
    .bind(org)
    .bind(key)
    .execute(conn)
    .await
    .map(drop)
}

/// A namespace key whose hash is derived from its id (unique per id).
pub async fn insert_key(
    conn: &mut PgConnection,
    org: Uuid,
    tenant: Uuid,
    namespace: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    insert_key_with_hash(conn, org, tenant, namespace, id, &hash_of(id)).await
}

pub async fn insert_key_with_hash(
    conn: &mut PgConnection,
    org: Uuid,
    tenant: Uuid,
    namespace: Uuid,
    id: Uuid,
    hash: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (tenant_id, id, org_id, namespace_id, hash, display, name, mode, \
             role, scopes, created_at, created_by_kind, created_by_id, version) \
         VALUES ($1, $2, $3, $4, $5, 'tny_live_abc', 'first', 'live', 'admin', 8191, now(), \
             'platform_admin', 'admin', 1)",
    )
    .bind(tenant)
    .bind(id)
    .bind(org)
    .bind(namespace)
    .bind(hash)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_org_key(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_api_keys (org_id, id, hash, display, name, mode, scopes, created_at, \
             created_by_kind, created_by_id, version) \
         VALUES ($1, $2, $3, 'tny_org_abcd', 'ops', 'org', 0, now(), 'platform_admin', 'admin', 1)",
    )
    .bind(org)
    .bind(id)
    .bind(hash_of(id))
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_audit(
    conn: &mut PgConnection,
    id: Uuid,
    org: Uuid,
    tenant: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (id, org_id, tenant_id, at, actor_kind, actor_id, action, \
             target_type, target_id, changes) \
         VALUES ($1, $2, $3, now(), 'platform_admin', 'admin', 'tenant.provisioned', 'tenant', \
             coalesce($3, $2), '[]')",
    )
    .bind(id)
    .bind(org)
    .bind(tenant)
    .execute(conn)
    .await
    .map(drop)
}

/// 32 bytes that differ for every id.
pub fn hash_of(id: Uuid) -> Vec<u8> {
    let mut hash = id.as_bytes().to_vec();
    hash.extend_from_slice(id.as_bytes());
    hash
}

/// A listing of `org` at version 1.0.0, granted to every namespace of `org`.
pub async fn insert_listing(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO library_listings (org_id, id, key, title, description, type, scope, \
             latest, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $3, '', 'blueprint', 'org', '1.0.0', now(), now(), 1)",
    )
    .bind(org)
    .bind(id)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO library_listing_versions (listing_org_id, listing_id, version, content, \
             digest, published_at, published_by_kind, published_by_id) \
         VALUES ($1, $2, '1.0.0', '{}', decode(repeat('cd', 32), 'hex'), now(), \
             'platform_admin', 'admin')",
    )
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO library_grants (listing_org_id, listing_id, grantee_org_id, namespace_keys) \
         VALUES ($1, $2, $1, NULL)",
    )
    .bind(org)
    .bind(id)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_resource(
    conn: &mut PgConnection,
    org: Uuid,
    tenant: Uuid,
    namespace: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resources (tenant_id, id, org_id, namespace_id, key, type, version, latest, \
             content, digest, created_at, created_by_kind, created_by_id) \
         VALUES ($1, $2, $3, $4, 'plan', 'blueprint', '1.0.0', true, '{\"secret\": 1}', \
             decode(repeat('ef', 32), 'hex'), now(), 'platform_admin', 'admin')",
    )
    .bind(tenant)
    .bind(id)
    .bind(org)
    .bind(namespace)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_install(
    conn: &mut PgConnection,
    org: Uuid,
    tenant: &SeededTenant,
    listing: Uuid,
    listing_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO library_installs (tenant_id, id, org_id, namespace_id, listing_org_id, \
             listing_id, listing_key, pinned, installed_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $3, $5, $6, '1.0.0', now(), now(), 1)",
    )
    .bind(tenant.id)
    .bind(tenant.install)
    .bind(org)
    .bind(tenant.namespace)
    .bind(listing)
    .bind(listing_key)
    .execute(conn)
    .await
    .map(drop)
}
