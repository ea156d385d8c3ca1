//! `WebhookStore`: the org's endpoints, their secrets sealed as the domain
//! hands them over.

use async_trait::async_trait;
use domain::ports::{DataScope, StoreError, WebhookStore};
use domain::{
    AuditRecord, Description, EndpointSecrets, EventFilter, EventType, OrgId, RetiringSecret,
    SealedSecret, WebhookEndpoint, WebhookId, WebhookUrl,
};
use sqlx::postgres::PgRow;

use super::rows::{self, corrupt, get, stored_version};
use super::{PgStore, commit, in_scope, sql_limit};
use crate::error::{translate, translate_write};

pub(super) const ENDPOINT_COLUMNS: &str = "id, org_id, url, description, event_types, enabled, \
     failing_since, secret, \
     previous_secret, previous_secret_until, created_at, updated_at, version";

fn event_types(endpoint: &WebhookEndpoint) -> Vec<&'static str> {
    endpoint
        .event_types
        .types()
        .iter()
        .map(|t| t.as_str())
        .collect()
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(scope.sees_org_level(endpoint.org_id), scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let previous = endpoint.secrets.previous.as_ref();
        self.db
            .query(
                "INSERT INTO webhook_endpoints (id, org_id, url, description, event_types, \
                 enabled, secret, previous_secret, previous_secret_until, created_at, \
                 updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(endpoint.id.as_uuid())
            .bind(endpoint.org_id.as_uuid())
            .bind(endpoint.url.as_str())
            .bind(endpoint.description.as_ref().map(Description::as_str))
            .bind(event_types(endpoint))
            .bind(endpoint.enabled)
            .bind(&endpoint.secrets.current.0)
            .bind(previous.map(|p| &p.sealed.0))
            .bind(previous.map(|p| p.until))
            .bind(endpoint.created_at)
            .bind(endpoint.updated_at)
            .bind(stored_version(endpoint.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn get_endpoint(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND org_id = $2"
        );
        let query = self.db.query(&sql).bind(id.as_uuid()).bind(org.as_uuid());
        self.read_one(scope, query, endpoint).await
    }

    async fn list_endpoints(
        &self,
        scope: &DataScope,
        org: OrgId,
        after: Option<WebhookId>,
        limit: usize,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        let query = self
            .db
            .query(&sql)
            .bind(org.as_uuid())
            .bind(after.map(|a| a.as_uuid()))
            .bind(sql_limit(limit));
        self.read_all(scope, query, endpoint).await
    }

    async fn update_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(true, scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let previous = endpoint.secrets.previous.as_ref();
        let updated = self
            .db
            .query(
                "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, \
                 enabled = $6, secret = $7, previous_secret = $8, previous_secret_until = $9, \
                 updated_at = $10, version = $11 \
                 WHERE id = $1 AND org_id = $2 AND version = $11 - 1",
            )
            .bind(endpoint.id.as_uuid())
            .bind(endpoint.org_id.as_uuid())
            .bind(endpoint.url.as_str())
            .bind(endpoint.description.as_ref().map(Description::as_str))
            .bind(event_types(endpoint))
            .bind(endpoint.enabled)
            .bind(&endpoint.secrets.current.0)
            .bind(previous.map(|p| &p.sealed.0))
            .bind(previous.map(|p| p.until))
            .bind(endpoint.updated_at)
            .bind(stored_version(endpoint.version))
            .execute(&mut *tx)
            .await
            .map_err(translate_write)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn delete_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        in_scope(true, scope, audit)?;
        let mut tx = self.begin(scope).await?;
        let deleted = self
            .db
            .query("DELETE FROM webhook_endpoints WHERE id = $1 AND org_id = $2 AND version = $3")
            .bind(endpoint.id.as_uuid())
            .bind(endpoint.org_id.as_uuid())
            .bind(stored_version(endpoint.version))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        if deleted.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.append(&mut tx, audit).await?;
        commit(tx).await
    }
}

/// A stored endpoint.
pub(super) fn endpoint(row: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    let types: Vec<String> = get(row, "event_types")?;
    let types = types
        .iter()
        .map(|t| EventType::parse(t).ok_or_else(|| corrupt("event_types")))
        .collect::<Result<Vec<_>, _>>()?;
    let description: Option<String> = get(row, "description")?;
    let previous: Option<Vec<u8>> = get(row, "previous_secret")?;
    let until = get(row, "previous_secret_until")?;
    let previous = match (previous, until) {
        (Some(sealed), Some(until)) => Some(RetiringSecret {
            sealed: SealedSecret(sealed),
            until,
        }),
        (None, None) => None,
        _ => return Err(corrupt("previous_secret")),
    };
    Ok(WebhookEndpoint {
        id: WebhookId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        url: WebhookUrl::from_stored(get(row, "url")?),
        description: description
            .map(|d| Description::parse(&d).map_err(|_| corrupt("description")))
            .transpose()?,
        event_types: EventFilter::of(types),
        enabled: get(row, "enabled")?,
        failing_since: get(row, "failing_since")?,
        secrets: EndpointSecrets {
            current: SealedSecret(get(row, "secret")?),
            previous,
        },
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: rows::version(row)?,
    })
}
