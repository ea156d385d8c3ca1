//! `LibraryStore`: resources, listings (with grants and versions) and installs.
//!
//! Content is stored as `json` (the exact canonical text) and read back as
//! text. Semver precedence is the domain's: rows carry versions as text, and
//! histories are ordered in Rust. Which version of a resource is the greatest
//! is the `latest` flag, moved by the one write that adds a greater version.
//!
//! Row decoding and the column lists live in `library/decode.rs`.

use async_trait::async_trait;
use domain::ports::{DataScope, LibraryStore, StoreError};
use domain::{
    Actor, AuditRecord, ContentDigest, Description, Document, Grant, Install, InstallId, Listing,
    ListingId, ListingRef, ListingScope, ListingVersion, Name, NamespaceId, NamespaceKey,
    NamespaceSelector, OrgId, Provenance, Resource, ResourceId, ResourceKey, ResourceType, Semver,
    TenantId, VersionInfo,
};
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::rows::{self, actor_kind, corrupt, get, parsed, stored_version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

mod decode;

use decode::*;

impl PgStore {
    /// Whether `namespace` is `tenant`'s and the tenant is active, locking the
    /// tenant row against a concurrent suspension until the end of `tx`.
    async fn lock_writable_namespace(
        &self,
        tx: &mut Tx,
        org: OrgId,
        tenant: TenantId,
        namespace: NamespaceId,
    ) -> Result<bool, StoreError> {
        if !self.lock_active_tenant(tx, org, tenant).await? {
            return Ok(false);
        }
        let found: Option<Uuid> = self
            .db
            .query_scalar("SELECT id FROM namespaces WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(namespace.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(translate)?;
        Ok(found.is_some())
    }

    async fn replace_grants(&self, tx: &mut Tx, listing: &Listing) -> Result<(), StoreError> {
        self.db
            .query("DELETE FROM library_grants WHERE listing_id = $1")
            .bind(listing.id.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        for grant in &listing.grants {
            let keys: Option<Vec<String>> = match &grant.namespaces {
                NamespaceSelector::All => None,
                NamespaceSelector::Keys(keys) => {
                    Some(keys.iter().map(|k| k.as_str().to_owned()).collect())
                }
            };
            self.db
                .query(
                    "INSERT INTO library_grants (listing_org_id, listing_id, grantee_org_id, \
                     namespace_keys) VALUES ($1, $2, $3, $4)",
                )
                .bind(listing.org_id.as_uuid())
                .bind(listing.id.as_uuid())
                .bind(grant.org_id.as_uuid())
                .bind(keys)
                .execute(&mut **tx)
                .await
                .map_err(translate_write)?;
        }
        Ok(())
    }
}

#[async_trait]
impl LibraryStore for PgStore {
    async fn resource_history(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let query = self
            .db
            .query(
                "SELECT version, digest, created_at AS at FROM resources \
                 WHERE namespace_id = $1 AND key = $2",
            )
            .bind(namespace.as_uuid())
            .bind(key.as_str());
        self.read_all(scope, query, version_info).await.map(sorted)
    }

    async fn create_resource(
        &self,
        scope: &DataScope,
        resource: &Resource,
        after: Option<Semver>,
        max_resources: u64,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(
            scope.sees_tenant(resource.org_id, resource.tenant_id),
            scope,
            audit,
        )?;
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_writable_namespace(
                &mut tx,
                resource.org_id,
                resource.tenant_id,
                resource.namespace_id,
            )
            .await?
        {
            return Err(StoreError::Stale);
        }
        self.db
            .query("SELECT pg_advisory_xact_lock($1)")
            .bind(resources_lock_key(resource.tenant_id))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        let latest: Option<String> = self
            .db
            .query_scalar(
                "SELECT version FROM resources \
                 WHERE tenant_id = $1 AND namespace_id = $2 AND key = $3 AND latest",
            )
            .bind(resource.tenant_id.as_uuid())
            .bind(resource.namespace_id.as_uuid())
            .bind(resource.key.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(translate)?;
        let latest = latest
            .map(|v| Semver::parse(&v).map_err(|_| corrupt("version")))
            .transpose()?;
        if latest != after {
            return Err(StoreError::Stale);
        }
        if latest.is_none() {
            let used: i64 = self
                .db
                .query_scalar("SELECT count(*) FROM resources WHERE tenant_id = $1 AND latest")
                .bind(resource.tenant_id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(translate)?;
            let used = u64::try_from(used).unwrap_or(0);
            if used >= max_resources {
                return Err(StoreError::LimitReached { used });
            }
        } else {
            self.db
                .query(
                    "UPDATE resources SET latest = false \
                     WHERE tenant_id = $1 AND namespace_id = $2 AND key = $3 AND latest",
                )
                .bind(resource.tenant_id.as_uuid())
                .bind(resource.namespace_id.as_uuid())
                .bind(resource.key.as_str())
                .execute(&mut *tx)
                .await
                .map_err(translate_write)?;
        }
        let provenance = resource.provenance.as_ref();
        self.db
            .query(
                "INSERT INTO resources (tenant_id, id, org_id, namespace_id, key, type, version, \
                 latest, content, digest, provenance_org_id, provenance_listing_id, \
                 provenance_listing_key, provenance_version, created_at, created_by_kind, \
                 created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8::json, $9, $10, \
                 $11, $12, $13, $14, $15, $16)",
            )
            .bind(resource.tenant_id.as_uuid())
            .bind(resource.id.as_uuid())
            .bind(resource.org_id.as_uuid())
            .bind(resource.namespace_id.as_uuid())
            .bind(resource.key.as_str())
            .bind(resource.resource_type.as_str())
            .bind(resource.version.to_string())
            .bind(resource.content.as_str())
            .bind(&resource.content.digest().as_bytes()[..])
            .bind(provenance.map(|p| p.org_id.as_uuid()))
            .bind(provenance.map(|p| p.listing_id.as_uuid()))
            .bind(provenance.map(|p| p.listing_key.as_str()))
            .bind(provenance.map(|p| p.version.to_string()))
            .bind(resource.created_at)
            .bind(resource.created_by.kind.as_str())
            .bind(&resource.created_by.id)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_resource(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        key: &ResourceKey,
        version: Option<Semver>,
    ) -> Result<Option<Resource>, StoreError> {
        let at = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources \
             WHERE namespace_id = $1 AND key = $2 AND version = $3"
        );
        let latest = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources \
             WHERE namespace_id = $1 AND key = $2 AND latest"
        );
        let query = match version {
            Some(v) => self
                .db
                .query(&at)
                .bind(namespace.as_uuid())
                .bind(key.as_str())
                .bind(v.to_string()),
            None => self
                .db
                .query(&latest)
                .bind(namespace.as_uuid())
                .bind(key.as_str()),
        };
        self.read_one(scope, query, resource).await
    }

    async fn list_resources(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources \
             WHERE namespace_id = $1 AND latest AND ($2::text IS NULL OR key > $2) \
             ORDER BY key LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(namespace.as_uuid())
            .bind(after.as_ref().map(|k| k.as_str()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, resource).await
    }

    async fn publish_listing(
        &self,
        scope: &DataScope,
        l: &Listing,
        version: &ListingVersion,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(
            scope.sees_org_level(l.org_id) && version.listing_id == l.id,
            scope,
            audit,
        )?;
        let mut tx = self.begin(scope).await?;
        let written = if l.version == 1 {
            self.db
                .query(
                    "INSERT INTO library_listings (org_id, id, key, title, description, type, \
                     scope, latest, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(l.org_id.as_uuid())
                .bind(l.id.as_uuid())
                .bind(l.key.as_str())
                .bind(l.title.as_str())
                .bind(l.description.as_str())
                .bind(l.resource_type.as_str())
                .bind(l.scope.as_str())
                .bind(l.latest.to_string())
                .bind(l.created_at)
                .bind(l.updated_at)
                .bind(stored_version(l.version))
                .execute(&mut *tx)
                .await
                .map_err(translate_write)?
        } else {
            self.db
                .query(
                    "UPDATE library_listings SET title = $3, description = $4, scope = $5, \
                     latest = $6, updated_at = $7, version = $8 \
                     WHERE org_id = $1 AND id = $2 AND version = $9",
                )
                .bind(l.org_id.as_uuid())
                .bind(l.id.as_uuid())
                .bind(l.title.as_str())
                .bind(l.description.as_str())
                .bind(l.scope.as_str())
                .bind(l.latest.to_string())
                .bind(l.updated_at)
                .bind(stored_version(l.version))
                .bind(stored_version(l.version - 1))
                .execute(&mut *tx)
                .await
                .map_err(translate_write)?
        };
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.replace_grants(&mut tx, l).await?;
        self.db
            .query(
                "INSERT INTO library_listing_versions (listing_org_id, listing_id, version, \
                 content, digest, published_at, published_by_kind, published_by_id) \
                 VALUES ($1, $2, $3, $4::json, $5, $6, $7, $8)",
            )
            .bind(l.org_id.as_uuid())
            .bind(l.id.as_uuid())
            .bind(version.version.to_string())
            .bind(version.content.as_str())
            .bind(&version.content.digest().as_bytes()[..])
            .bind(version.published_at)
            .bind(version.published_by.kind.as_str())
            .bind(&version.published_by.id)
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn update_listing(
        &self,
        scope: &DataScope,
        l: &Listing,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_org_level(l.org_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let written = self
            .db
            .query(
                "UPDATE library_listings SET title = $3, description = $4, updated_at = $5, \
                 version = $6 WHERE org_id = $1 AND id = $2 AND version = $7",
            )
            .bind(l.org_id.as_uuid())
            .bind(l.id.as_uuid())
            .bind(l.title.as_str())
            .bind(l.description.as_str())
            .bind(l.updated_at)
            .bind(stored_version(l.version))
            .bind(stored_version(l.version - 1))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.replace_grants(&mut tx, l).await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_listing(
        &self,
        scope: &DataScope,
        org: OrgId,
        key: &ResourceKey,
    ) -> Result<Option<Listing>, StoreError> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM library_listings l WHERE l.org_id = $1 AND l.key = $2"
        );
        let query = self.db.query(&sql).bind(org.as_uuid()).bind(key.as_str());
        self.read_one(scope, query, listing).await
    }

    async fn get_listing_by_id(
        &self,
        scope: &DataScope,
        id: ListingId,
    ) -> Result<Option<Listing>, StoreError> {
        let sql = format!("SELECT {LISTING_COLUMNS} FROM library_listings l WHERE l.id = $1");
        let query = self.db.query(&sql).bind(id.as_uuid());
        self.read_one(scope, query, listing).await
    }

    async fn list_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<ResourceKey>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM library_listings l \
             WHERE l.org_id = $1 AND ($2::text IS NULL OR l.key > $2) ORDER BY l.key LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(after.as_ref().map(|k| k.as_str()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, listing).await
    }

    async fn granted_listings(
        &self,
        scope: &DataScope,
        org: OrgId,
        namespace: &NamespaceKey,
        key: Option<ResourceKey>,
        after: Option<ListingId>,
        limit: usize,
    ) -> Result<Vec<Listing>, StoreError> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM library_grants g \
             JOIN library_listings l ON l.id = g.listing_id \
             WHERE g.grantee_org_id = $1 \
               AND (g.namespace_keys IS NULL OR $2 = ANY (g.namespace_keys)) \
               AND ($3::text IS NULL OR l.key = $3) \
               AND ($4::uuid IS NULL OR l.id > $4) \
             ORDER BY l.id LIMIT $5"
        );
        let query = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(namespace.as_str())
            .bind(key.as_ref().map(|k| k.as_str()))
            .bind(after.map(|a| a.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, listing).await
    }

    async fn listing_history(
        &self,
        scope: &DataScope,
        listing: ListingId,
    ) -> Result<Vec<VersionInfo>, StoreError> {
        let query = self
            .db
            .query(
                "SELECT version, digest, published_at AS at FROM library_listing_versions \
                 WHERE listing_id = $1",
            )
            .bind(listing.as_uuid());
        self.read_all(scope, query, version_info).await.map(sorted)
    }

    async fn listing_version(
        &self,
        scope: &DataScope,
        listing: ListingId,
        version: &Semver,
    ) -> Result<Option<ListingVersion>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM library_listing_versions \
             WHERE listing_id = $1 AND version = $2"
        );
        let query = self
            .db
            .query(&sql)
            .bind(listing.as_uuid())
            .bind(version.to_string());
        self.read_one(scope, query, listing_version).await
    }

    async fn create_install(
        &self,
        scope: &DataScope,
        i: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(i.org_id, i.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_writable_namespace(&mut tx, i.org_id, i.tenant_id, i.namespace_id)
            .await?
        {
            return Err(StoreError::Stale);
        }
        self.db
            .query(
                "INSERT INTO library_installs (tenant_id, id, org_id, namespace_id, \
                 listing_org_id, listing_id, listing_key, pinned, installed_at, updated_at, \
                 version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(i.tenant_id.as_uuid())
            .bind(i.id.as_uuid())
            .bind(i.org_id.as_uuid())
            .bind(i.namespace_id.as_uuid())
            .bind(i.listing_org_id.as_uuid())
            .bind(i.listing_id.as_uuid())
            .bind(i.listing_key.as_str())
            .bind(i.pinned.to_string())
            .bind(i.installed_at)
            .bind(i.updated_at)
            .bind(stored_version(i.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_install(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        listing: &ListingRef,
    ) -> Result<Option<Install>, StoreError> {
        let by_id = format!(
            "SELECT {INSTALL_COLUMNS} FROM library_installs \
             WHERE namespace_id = $1 AND listing_id = $2"
        );
        let by_key = format!(
            "SELECT {INSTALL_COLUMNS} FROM library_installs \
             WHERE namespace_id = $1 AND listing_key = $2"
        );
        let query = match listing {
            ListingRef::Id(id) => self
                .db
                .query(&by_id)
                .bind(namespace.as_uuid())
                .bind(id.as_uuid()),
            ListingRef::Key(key) => self
                .db
                .query(&by_key)
                .bind(namespace.as_uuid())
                .bind(key.as_str()),
        };
        self.read_one(scope, query, install).await
    }

    async fn list_installs(
        &self,
        scope: &DataScope,
        namespace: NamespaceId,
        after: Option<InstallId>,
        limit: usize,
    ) -> Result<Vec<Install>, StoreError> {
        let sql = format!(
            "SELECT {INSTALL_COLUMNS} FROM library_installs \
             WHERE namespace_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(namespace.as_uuid())
            .bind(after.map(|a| a.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, install).await
    }

    async fn update_install(
        &self,
        scope: &DataScope,
        i: &Install,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_tenant(i.org_id, i.tenant_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        if !self
            .lock_writable_namespace(&mut tx, i.org_id, i.tenant_id, i.namespace_id)
            .await?
        {
            return Err(StoreError::Stale);
        }
        let written = self
            .db
            .query(
                "UPDATE library_installs SET pinned = $3, updated_at = $4, version = $5 \
                 WHERE tenant_id = $1 AND id = $2 AND version = $6",
            )
            .bind(i.tenant_id.as_uuid())
            .bind(i.id.as_uuid())
            .bind(i.pinned.to_string())
            .bind(i.updated_at)
            .bind(stored_version(i.version))
            .bind(stored_version(i.version - 1))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if written.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}
