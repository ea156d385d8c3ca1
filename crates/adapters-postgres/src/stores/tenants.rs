//! `TenantStore`, with the tenant inventory's translation to SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, Provisioning, StoreError, TenantStore};
use domain::{AuditRecord, Tenant, TenantQuery, TenantRef, TenantSort, TenantStatus};
use serde_json::Value;
use uuid::Uuid;

use super::rows::{self, TENANT_COLUMNS, metadata_json, stored_version};
use super::{PgStore, Tx, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};
use crate::invalidation::Invalidation;

#[async_trait]
impl TenantStore for PgStore {
    async fn provision(&self, scope: &DataScope, p: &Provisioning) -> Result<(), StoreError> {
        let owned = p.namespaces.iter().all(|ns| ns.tenant_id == p.tenant.id)
            && p.keys.iter().all(|k| k.tenant_id() == Some(p.tenant.id));
        in_scope(
            owned && scope.sees_tenant(p.tenant.org_id, p.tenant.id),
            scope,
            &p.audit,
        )?;
        let mut tx = self.begin(scope).await?;
        self.insert_tenant(&mut tx, &p.tenant).await?;
        for ns in &p.namespaces {
            self.insert_namespace(&mut tx, ns).await?;
        }
        for key in &p.keys {
            self.insert_key(&mut tx, key).await?;
        }
        self.append(&mut tx, &p.audit).await?;
        commit(tx).await
    }

    async fn get_tenant(
        &self,
        scope: &DataScope,
        tenant: &TenantRef,
    ) -> Result<Option<Tenant>, StoreError> {
        let by_id = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        let by_key = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE key = $1");
        let query = match tenant {
            TenantRef::Id(id) => self.db.query(&by_id).bind(id.as_uuid()),
            TenantRef::Key(key) => self.db.query(&by_key).bind(key.as_str()),
        };
        self.read_one(scope, query, rows::tenant).await
    }

    async fn list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Vec<Tenant>, StoreError> {
        let (sql, args) = inventory_sql(query);
        let mut tx = self
            .db
            .scoped_transaction_with(scope, inventory_planner(query))
            .await?;
        let mut statement = self.db.query(&sql);
        for arg in args {
            statement = match arg {
                Arg::Uuid(v) => statement.bind(v),
                Arg::Text(v) => statement.bind(v),
                Arg::Json(v) => statement.bind(v),
                Arg::Int(v) => statement.bind(v),
            };
        }
        let found = statement.fetch_all(&mut *tx).await.map_err(translate)?;
        let tenants = rows::all(&found, rows::tenant)?;
        commit(tx).await?;
        Ok(tenants)
    }

    async fn update_tenant(
        &self,
        scope: &DataScope,
        tenant: &Tenant,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin(scope).await?;
        let owner = tenant.owner.as_ref();
        let updated = self
            .db
            .query(
                "UPDATE tenants SET name = $4, plan = $5, region = $6, owner_user_id = $7, \
                 owner_email = $8, metadata = $9, status = $10, status_changed_at = $11, \
                 status_changed_by_kind = $12, status_changed_by_id = $13, status_reason = $14, \
                 retention_ends_at = $15, spec_digest = $16, created_at = $17, updated_at = $18, \
                 version = $19 \
                 WHERE id = $1 AND org_id = $2 AND key = $3 AND version = $19 - 1",
            )
            .bind(tenant.id.as_uuid())
            .bind(tenant.org_id.as_uuid())
            .bind(tenant.key.as_str())
            .bind(tenant.name.as_str())
            .bind(tenant.plan.as_str())
            .bind(tenant.region.as_str())
            .bind(owner.map(|o| o.user_id.as_str()))
            .bind(owner.map(|o| o.email.as_str()))
            .bind(metadata_json(&tenant.metadata))
            .bind(tenant.lifecycle.status.as_str())
            .bind(tenant.lifecycle.changed_at)
            .bind(tenant.lifecycle.changed_by.kind.as_str())
            .bind(&tenant.lifecycle.changed_by.id)
            .bind(tenant.lifecycle.reason.as_ref().map(|r| r.as_str()))
            .bind(tenant.lifecycle.retention_ends_at)
            .bind(tenant.spec_digest.as_bytes().as_slice())
            .bind(tenant.created_at)
            .bind(tenant.updated_at)
            .bind(stored_version(tenant.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        in_scope(true, scope, audit)?;
        match tenant.lifecycle.status {
            TenantStatus::Deactivated => {
                // Revoked for good: restoring the tenant later leaves them revoked.
                self.db
                    .query(
                        "UPDATE api_keys SET revoked_at = $2, version = version + 1 \
                         WHERE tenant_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(tenant.id.as_uuid())
                    .bind(tenant.lifecycle.changed_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(translate)?;
            }
            TenantStatus::Deleted => {
                // The keys go with their namespaces (ON DELETE CASCADE); deleting
                // them first as well keeps the purge explicit.
                for sql in [
                    "DELETE FROM library_installs WHERE tenant_id = $1",
                    "DELETE FROM resources WHERE tenant_id = $1",
                    "DELETE FROM api_keys WHERE tenant_id = $1",
                    "DELETE FROM namespaces WHERE tenant_id = $1",
                ] {
                    self.db
                        .query(sql)
                        .bind(tenant.id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(translate)?;
                }
            }
            TenantStatus::Active | TenantStatus::Suspended => {}
        }
        self.notify(&mut tx, Invalidation::Tenant(tenant.id))
            .await?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn retention_expired(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Tenant>, StoreError> {
        let mut tx = self.begin(&DataScope::Platform).await?;
        let sql = format!(
            "SELECT {TENANT_COLUMNS} FROM tenants \
             WHERE status = 'deactivated' AND retention_ends_at <= $1 \
             ORDER BY retention_ends_at, id LIMIT $2"
        );
        let found = self
            .db
            .query(&sql)
            .bind(now)
            .bind(sql_limit(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(translate)?;
        let tenants = rows::all(&found, rows::tenant)?;
        commit(tx).await?;
        Ok(tenants)
    }
}

impl PgStore {
    /// The plan `list_tenants` runs `query` with in `scope`: `EXPLAIN (FORMAT
    /// JSON)` of the same statement, with the same binds and planner settings,
    /// in the same kind of scoped transaction. For tests that pin the plans.
    #[cfg(feature = "testing")]
    pub async fn explain_list_tenants(
        &self,
        scope: &DataScope,
        query: &TenantQuery,
    ) -> Result<Value, StoreError> {
        let (sql, args) = inventory_sql(query);
        let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
        let mut tx = self
            .db
            .scoped_transaction_with(scope, inventory_planner(query))
            .await?;
        let mut statement = sqlx::query_scalar::<_, Value>(&explain);
        for arg in args {
            statement = match arg {
                Arg::Uuid(v) => statement.bind(v),
                Arg::Text(v) => statement.bind(v),
                Arg::Json(v) => statement.bind(v),
                Arg::Int(v) => statement.bind(v),
            };
        }
        let plan = statement.fetch_one(&mut *tx).await.map_err(translate)?;
        commit(tx).await?;
        Ok(plan)
    }

    async fn insert_tenant(&self, tx: &mut Tx, tenant: &Tenant) -> Result<(), StoreError> {
        let owner = tenant.owner.as_ref();
        self.db
            .query(
                "INSERT INTO tenants (id, org_id, key, name, plan, region, owner_user_id, \
                 owner_email, metadata, status, status_changed_at, status_changed_by_kind, \
                 status_changed_by_id, status_reason, retention_ends_at, spec_digest, \
                 created_at, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18, $19)",
            )
            .bind(tenant.id.as_uuid())
            .bind(tenant.org_id.as_uuid())
            .bind(tenant.key.as_str())
            .bind(tenant.name.as_str())
            .bind(tenant.plan.as_str())
            .bind(tenant.region.as_str())
            .bind(owner.map(|o| o.user_id.as_str()))
            .bind(owner.map(|o| o.email.as_str()))
            .bind(metadata_json(&tenant.metadata))
            .bind(tenant.lifecycle.status.as_str())
            .bind(tenant.lifecycle.changed_at)
            .bind(tenant.lifecycle.changed_by.kind.as_str())
            .bind(&tenant.lifecycle.changed_by.id)
            .bind(tenant.lifecycle.reason.as_ref().map(|r| r.as_str()))
            .bind(tenant.lifecycle.retention_ends_at)
            .bind(tenant.spec_digest.as_bytes().as_slice())
            .bind(tenant.created_at)
            .bind(tenant.updated_at)
            .bind(stored_version(tenant.version))
            .execute(&mut **tx)
            .await
            .map_err(translate_write)?;
        Ok(())
    }
}

/// A bind parameter of the inventory query.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Uuid(Uuid),
    Text(String),
    Json(Value),
    Int(i64),
}

/// `'%' || q || '%'` with LIKE's metacharacters in `q` escaped (`\` is the
/// default escape character).
fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// How the inventory's statement is planned (`docs/benchmarks.md` has the
/// measurements behind each choice).
///
/// - Always a custom plan for the values at hand: a prepared statement's generic
///   plan knows neither the page size (it assumes a bound `LIMIT` takes a tenth
///   of the rows, and sorts everything) nor how selective the filter values are.
/// - A search by name substring, sorted by name, reads and sorts the matches,
///   never walks the name index. The planner would walk, expecting matches
///   spread evenly over the names, but matches cluster (a term that starts names
///   sits in one stretch of the index) and the walk then reads every name before
///   that stretch: seconds over 1,000,000 tenants, where reading the matches
///   costs a bounded few hundred milliseconds. (The trigram index cannot serve
///   here: under row-level security the planner only pushes leakproof operators
///   into an index scan, and `LIKE` is not one.) A term without three letters or
///   digits in a row matches most names, so the walk stays allowed there.
fn inventory_planner(query: &TenantQuery) -> &'static [(&'static str, &'static str)] {
    const CUSTOM: &[(&str, &str)] = &[("plan_cache_mode", "force_custom_plan")];
    const CUSTOM_MATCHES_THEN_SORT: &[(&str, &str)] = &[
        ("plan_cache_mode", "force_custom_plan"),
        ("enable_indexscan", "off"),
    ];
    let by_name = matches!(query.sort, TenantSort::NameAsc | TenantSort::NameDesc);
    let trigram_search = query
        .filter
        .text
        .as_deref()
        .is_some_and(|text| Uuid::try_parse(text).is_err() && has_trigram(text));
    if by_name && trigram_search {
        CUSTOM_MATCHES_THEN_SORT
    } else {
        CUSTOM
    }
}

/// Whether `text` holds three letters or digits in a row, as a search term
/// specific enough to match a minority of names.
fn has_trigram(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_alphanumeric() { run + 1 } else { 0 };
        if run == 3 {
            return true;
        }
    }
    false
}

/// The inventory query: the filter, the keyset condition after the cursor, and
/// the order of the index that serves it (`tenants_pkey` for creation order,
/// `tenants_name_id` / `tenants_org_id_name_id` for names, in byte order as
/// `TenantSort` compares them), limited to `fetch_limit()`.
fn inventory_sql(query: &TenantQuery) -> (String, Vec<Arg>) {
    let mut sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE TRUE");
    let mut args = Vec::new();
    fn param(args: &mut Vec<Arg>, arg: Arg) -> String {
        args.push(arg);
        format!("${}", args.len())
    }
    let f = &query.filter;
    if let Some(org) = f.org {
        let p = param(&mut args, Arg::Uuid(org.as_uuid()));
        sql.push_str(&format!(" AND org_id = {p}"));
    }
    match f.status {
        Some(status) => {
            let p = param(&mut args, Arg::Text(status.as_str().to_owned()));
            sql.push_str(&format!(" AND status = {p}"));
        }
        None => sql.push_str(" AND status <> 'deleted'"),
    }
    if let Some(region) = &f.region {
        let p = param(&mut args, Arg::Text(region.as_str().to_owned()));
        sql.push_str(&format!(" AND region = {p}"));
    }
    if let Some(plan) = &f.plan {
        let p = param(&mut args, Arg::Text(plan.as_str().to_owned()));
        sql.push_str(&format!(" AND plan = {p}"));
    }
    if !f.metadata.is_empty() {
        let pairs: serde_json::Map<String, Value> = f
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let p = param(&mut args, Arg::Json(Value::Object(pairs)));
        sql.push_str(&format!(" AND metadata @> {p}::jsonb"));
    }
    if let Some(text) = &f.text {
        match Uuid::try_parse(text) {
            Ok(id) => {
                let p = param(&mut args, Arg::Uuid(id));
                sql.push_str(&format!(" AND id = {p}"));
            }
            Err(_) => {
                let p = param(&mut args, Arg::Text(contains_pattern(&text.to_lowercase())));
                sql.push_str(&format!(" AND (lower(name) LIKE {p} OR key LIKE {p})"));
            }
        }
    }
    if let Some(after) = &query.after {
        let id = param(&mut args, Arg::Uuid(after.id));
        let keyset = match query.sort {
            TenantSort::CreatedAsc => format!(" AND id > {id}"),
            TenantSort::CreatedDesc => format!(" AND id < {id}"),
            TenantSort::NameAsc | TenantSort::NameDesc => {
                let name = param(&mut args, Arg::Text(after.text.clone().unwrap_or_default()));
                let op = if query.sort.is_descending() { "<" } else { ">" };
                format!(" AND (name COLLATE \"C\", id) {op} ({name}::text COLLATE \"C\", {id})")
            }
        };
        sql.push_str(&keyset);
    }
    sql.push_str(match query.sort {
        TenantSort::CreatedAsc => " ORDER BY id",
        TenantSort::CreatedDesc => " ORDER BY id DESC",
        TenantSort::NameAsc => " ORDER BY name COLLATE \"C\", id",
        TenantSort::NameDesc => " ORDER BY name COLLATE \"C\" DESC, id DESC",
    });
    let limit = param(&mut args, Arg::Int(sql_limit(query.fetch_limit())));
    sql.push_str(&format!(" LIMIT {limit}"));
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_term_with_a_trigram_skips_the_index_walk() {
        assert!(has_trigram("acme"));
        assert!(has_trigram("a-bc1"));
        assert!(!has_trigram("ab"));
        assert!(!has_trigram("a b c"));
        assert!(!has_trigram("%_%"));
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }
}
