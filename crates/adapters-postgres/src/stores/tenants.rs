//! `TenantStore`, with the tenant inventory's translation to SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{DataScope, Provisioning, StoreError, TenantStore};
use domain::{AuditRecord, Tenant, TenantFilter, TenantQuery, TenantRef, TenantSort, TenantStatus};
use serde_json::Value;
use uuid::Uuid;

use super::rows::{self, TENANT_COLUMNS};
use super::{PgStore, commit, in_scope, sql_limit};
use crate::error::translate;
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
        self.insert_data_key(&mut tx, &p.tenant, &p.data_key)
            .await?;
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
            .scoped_transaction_with(scope, &self.inventory_settings(query))
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
        let found = statement
            .fetch_all(&mut *tx)
            .await
            .map_err(translate_inventory)?;
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
        self.write_tenant_row(&mut tx, tenant).await?;
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
                    // Its people: emails are personal data.
                    "DELETE FROM tenant_members WHERE tenant_id = $1",
                    "DELETE FROM settings_documents WHERE tenant_id = $1",
                    "DELETE FROM custom_domains WHERE tenant_id = $1",
                    // What idempotent replays would show of the tenant: its
                    // name, owner and first key's secret.
                    "DELETE FROM idempotency_records WHERE tenant_id = $1",
                    // Crypto-shredding: the secrets, then the key that opens them.
                    "DELETE FROM tenant_secrets WHERE tenant_id = $1",
                    "DELETE FROM tenant_data_keys WHERE tenant_id = $1",
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
            .scoped_transaction_with(scope, &self.inventory_settings(query))
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

impl PgStore {
    /// The settings of the inventory's transaction. Its statement is always
    /// planned for the values at hand: a prepared statement's generic plan
    /// knows neither the page size (it assumes a bound `LIMIT` takes a tenth
    /// of the rows, and sorts everything) nor how selective the filter values
    /// are (`docs/benchmarks.md`). And it runs under the inventory's shorter
    /// statement timeout: a caller chooses what the query reads, so one that
    /// reads too much is stopped before it holds a connection for long.
    fn inventory_settings(&self, _query: &TenantQuery) -> [(&'static str, &str); 2] {
        [
            ("plan_cache_mode", "force_custom_plan"),
            ("statement_timeout", self.db.inventory_timeout()),
        ]
    }
}

/// As [`translate`], except that a cancelled statement (SQLSTATE 57014) means
/// the query examined too much: the inventory's statement timeout is what
/// cancels it. (An operator's `pg_cancel_backend` has the same SQLSTATE, and
/// the reason is told apart only in the server's message, whose language is a
/// server setting; a shutdown has another SQLSTATE.)
fn translate_inventory(error: sqlx::Error) -> StoreError {
    let timed_out = match &error {
        sqlx::Error::Database(db) => db.code().as_deref() == Some("57014"),
        _ => false,
    };
    if timed_out {
        StoreError::QueryTooBroad
    } else {
        translate(error)
    }
}

/// The longest metadata value `tenant_metadata` holds (migration 0014).
const INDEXED_METADATA_VALUE: usize = 512;

/// Which table a page is walked from.
///
/// Under row-level security only leakproof operators go into an index scan,
/// and `LIKE` and jsonb `@>` are not leakproof, so neither the trigram nor the
/// jsonb index of `tenants` serves the runtime role. A search walks
/// `tenant_name_trigrams` (0013) instead, by equality on one trigram of its
/// term, and a metadata filter walks `tenant_metadata` (0014) by equality on
/// one pair; both hold the name and the org, so either walk follows the page's
/// order (an index per order, platform-wide and per org) and stops when the
/// page is full. The full condition is re-checked on `tenants`. Tombstones
/// (no side rows), id searches and terms under three characters, and metadata
/// values too long for the side table walk `tenants` as before.
#[derive(Debug, Clone, PartialEq)]
enum Driver {
    /// `tenants` itself, on the index of the page's order or of a filter.
    Tenants,
    /// `tenant_name_trigrams` rows of this trigram of the search term.
    Trigram(String),
    /// `tenant_metadata` rows of this pair.
    Metadata(String, String),
}

impl Driver {
    fn of(filter: &TenantFilter) -> Self {
        // Tombstones have no rows in the side tables.
        if filter.status == Some(TenantStatus::Deleted) {
            return Self::Tenants;
        }
        if let Some(text) = &filter.text {
            if Uuid::try_parse(text).is_ok() {
                return Self::Tenants;
            }
            if let Some(trigram) = rarest_trigram(&text.to_lowercase()) {
                return Self::Trigram(trigram);
            }
        }
        filter
            .metadata
            .iter()
            .find(|(_, v)| v.len() <= INDEXED_METADATA_VALUE)
            .map_or(Self::Tenants, |(k, v)| Self::Metadata(k.clone(), v.clone()))
    }
}

/// How common a character is in names and keys, roughly: English letter
/// frequencies per mille; digits and separators (space, hyphen) as letters of
/// middling frequency, since a trigram holding one pins a position (keys share
/// prefixes such as `tenant-`, whose letters are everywhere); anything else as
/// rare. A fixed heuristic, measured only on the benchmark's names.
fn commonness(c: char) -> u32 {
    const LETTERS: [u32; 26] = [
        82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19, 1, 60, 63, 91, 28, 10, 24,
        2, 20, 1,
    ];
    match c {
        'a'..='z' => LETTERS[(c as u8 - b'a') as usize],
        '0'..='9' => 30,
        ' ' | '-' => 50,
        _ => 5,
    }
}

/// The trigram (three characters in a row, as migration 0013 takes them) of a
/// lowercased search term whose characters are the least common, as the one
/// likely to have the fewest rows; `None` for a term under three characters,
/// which searches `tenants` as before.
fn rarest_trigram(lowered: &str) -> Option<String> {
    let chars: Vec<char> = lowered.chars().collect();
    chars
        .windows(3)
        .min_by_key(|w| w.iter().map(|&c| commonness(c)).sum::<u32>())
        .map(|w| w.iter().collect())
}

/// The inventory query: the filter, the keyset condition after the cursor, and
/// the order of the index that serves it, limited to `fetch_limit()`. On
/// `tenants` alone that is `tenants_pkey` for creation order and
/// `tenants_name_id` / `tenants_org_id_name_id` for names (byte order, as
/// `TenantSort` compares them); through a side table (see [`Driver`]) its
/// indexes of the same orders, joined to `tenants` by id.
fn inventory_sql(query: &TenantQuery) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    fn param(args: &mut Vec<Arg>, arg: Arg) -> String {
        args.push(arg);
        format!("${}", args.len())
    }
    let f = &query.filter;
    let driver = Driver::of(f);
    // What the walked table must match (a side table's trigram or pair, and
    // the org), and the columns the page is ordered by on it.
    let (mut walked, name_col, id_col) = match &driver {
        Driver::Tenants => (String::new(), "t.name COLLATE \"C\"", "t.id"),
        Driver::Trigram(trigram) => {
            let p = param(&mut args, Arg::Text(trigram.clone()));
            (format!(" AND s.trigram = {p}"), "s.name", "s.tenant_id")
        }
        Driver::Metadata(key, value) => {
            let k = param(&mut args, Arg::Text(key.clone()));
            let v = param(&mut args, Arg::Text(value.clone()));
            (
                format!(" AND s.key = {k} AND s.value = {v}"),
                "s.name",
                "s.tenant_id",
            )
        }
    };
    // What the tenant must match; `recheck` is what the walked side table
    // (nearly) implies, see below.
    let mut tenant = String::new();
    let mut recheck = Vec::new();
    if let Some(org) = f.org {
        let p = param(&mut args, Arg::Uuid(org.as_uuid()));
        tenant.push_str(&format!(" AND t.org_id = {p}"));
        if driver != Driver::Tenants {
            walked.push_str(&format!(" AND s.org_id = {p}"));
        }
    }
    match f.status {
        Some(status) => {
            let p = param(&mut args, Arg::Text(status.as_str().to_owned()));
            tenant.push_str(&format!(" AND t.status = {p}"));
        }
        None => tenant.push_str(" AND t.status <> 'deleted'"),
    }
    if let Some(region) = &f.region {
        let p = param(&mut args, Arg::Text(region.as_str().to_owned()));
        tenant.push_str(&format!(" AND t.region = {p}"));
    }
    if let Some(plan) = &f.plan {
        let p = param(&mut args, Arg::Text(plan.as_str().to_owned()));
        tenant.push_str(&format!(" AND t.plan = {p}"));
    }
    if !f.metadata.is_empty() {
        let pairs: serde_json::Map<String, Value> = f
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let p = param(&mut args, Arg::Json(Value::Object(pairs)));
        recheck.push(format!("t.metadata @> {p}::jsonb"));
    }
    if let Some(text) = &f.text {
        match Uuid::try_parse(text) {
            Ok(id) => {
                let p = param(&mut args, Arg::Uuid(id));
                tenant.push_str(&format!(" AND t.id = {p}"));
            }
            Err(_) => {
                let p = param(&mut args, Arg::Text(contains_pattern(&text.to_lowercase())));
                recheck.push(format!("(lower(t.name) LIKE {p} OR t.key LIKE {p})"));
            }
        }
    }
    if !recheck.is_empty() {
        let all = recheck.join(" AND ");
        if driver == Driver::Tenants {
            tenant.push_str(&format!(" AND {all}"));
        } else {
            // The search's `LIKE` is nearly implied by its trigram, and the
            // metadata `@>` by its pair, but the planner estimates them apart
            // (a `LIKE '%term%'` at under 1%) and multiplies: it then expects
            // almost every probe to fail, a walk in page order to read all
            // the side rows anyway, and prefers collecting and sorting them.
            // As a CASE the re-check gets the default estimate of one half.
            tenant.push_str(&format!(" AND CASE WHEN {all} THEN true ELSE false END"));
        }
    }
    if let Some(after) = &query.after {
        let id = param(&mut args, Arg::Uuid(after.id));
        let keyset = match query.sort {
            TenantSort::CreatedAsc => format!(" AND {id_col} > {id}"),
            TenantSort::CreatedDesc => format!(" AND {id_col} < {id}"),
            TenantSort::NameAsc | TenantSort::NameDesc => {
                let name = param(&mut args, Arg::Text(after.text.clone().unwrap_or_default()));
                let op = if query.sort.is_descending() { "<" } else { ">" };
                format!(" AND ({name_col}, {id_col}) {op} ({name}::text COLLATE \"C\", {id})")
            }
        };
        walked.push_str(&keyset);
    }
    let order = match query.sort {
        TenantSort::CreatedAsc => format!(" ORDER BY {id_col}"),
        TenantSort::CreatedDesc => format!(" ORDER BY {id_col} DESC"),
        TenantSort::NameAsc => format!(" ORDER BY {name_col}, {id_col}"),
        TenantSort::NameDesc => format!(" ORDER BY {name_col} DESC, {id_col} DESC"),
    };
    let limit = param(&mut args, Arg::Int(sql_limit(query.fetch_limit())));
    let sql = match &driver {
        Driver::Tenants => format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t WHERE TRUE{tenant}{walked}{order} LIMIT {limit}"
        ),
        // The tenant as a LATERAL subquery with a LIMIT, which the planner
        // cannot flatten into a join: it stays a probe by id per side row, in
        // the side index's order. As a plain join the planner multiplies the
        // trigram's and the re-check's selectivities (they are one condition,
        // nearly), expects a handful of rows, and reads and sorts all matches.
        Driver::Trigram(_) | Driver::Metadata(..) => {
            let side = if matches!(driver, Driver::Trigram(_)) {
                "tenant_name_trigrams"
            } else {
                "tenant_metadata"
            };
            let columns: Vec<String> = TENANT_COLUMNS
                .split(',')
                .map(|c| format!("t.{}", c.trim()))
                .collect();
            format!(
                "SELECT {} FROM {side} s CROSS JOIN LATERAL (\
                 SELECT {TENANT_COLUMNS} FROM tenants t WHERE t.id = s.tenant_id{tenant} LIMIT 1\
                 ) t WHERE TRUE{walked}{order} LIMIT {limit}",
                columns.join(", ")
            )
        }
    };
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_walks_its_rarest_trigram_and_a_short_one_walks_tenants() {
        let search = |text: &str| TenantFilter {
            text: Some(text.to_owned()),
            ..TenantFilter::default()
        };
        assert_eq!(rarest_trigram("acme"), Some("acm".to_owned()));
        assert_eq!(rarest_trigram("tenant-5"), Some("t-5".to_owned()));
        assert_eq!(rarest_trigram("a%_"), Some("a%_".to_owned()));
        assert_eq!(rarest_trigram("ab"), None);
        assert_eq!(
            Driver::of(&search("Wonka")),
            Driver::Trigram("onk".to_owned())
        );
        assert_eq!(Driver::of(&search("ab")), Driver::Tenants);
        let id = Uuid::from_u128(7).to_string();
        assert_eq!(Driver::of(&search(&id)), Driver::Tenants);
        let tombstones = TenantFilter {
            status: Some(TenantStatus::Deleted),
            ..search("acme")
        };
        assert_eq!(Driver::of(&tombstones), Driver::Tenants);
        let gold = TenantFilter {
            metadata: vec![("tier".to_owned(), "gold".to_owned())],
            ..TenantFilter::default()
        };
        assert_eq!(
            Driver::of(&gold),
            Driver::Metadata("tier".to_owned(), "gold".to_owned())
        );
        let long = TenantFilter {
            metadata: vec![("k".to_owned(), "v".repeat(INDEXED_METADATA_VALUE + 1))],
            ..TenantFilter::default()
        };
        assert_eq!(Driver::of(&long), Driver::Tenants);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }
}
