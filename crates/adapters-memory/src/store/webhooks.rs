//! `WebhookStore`: the org's endpoints, each write with its audit record under
//! the one lock.

use async_trait::async_trait;
use domain::ports::{DataScope, StoreError, WebhookStore};
use domain::{AuditRecord, OrgId, WebhookEndpoint, WebhookId};

use super::{MemoryStore, after, in_scope};

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        in_scope(scope.sees_org_level(endpoint.org_id), scope, audit)?;
        if !s.orgs.contains_key(&endpoint.org_id) {
            return Err(StoreError::Stale);
        }
        if s.webhooks.contains_key(&endpoint.id) {
            return Err(StoreError::Unavailable("webhook id collision".into()));
        }
        s.webhooks.insert(endpoint.id, endpoint.clone());
        s.append(audit);
        Ok(())
    }

    async fn get_endpoint(
        &self,
        scope: &DataScope,
        org: OrgId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let s = self.read();
        Ok(s.webhooks
            .get(&id)
            .filter(|e| e.org_id == org && scope.sees_org_level(e.org_id))
            .cloned())
    }

    async fn list_endpoints(
        &self,
        scope: &DataScope,
        org: OrgId,
        after_id: Option<WebhookId>,
        limit: usize,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let s = self.read();
        Ok(s.webhooks
            .range(after(after_id))
            .map(|(_, e)| e)
            .filter(|e| e.org_id == org && scope.sees_org_level(e.org_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.webhooks.get(&endpoint.id) {
            Some(stored)
                if stored.version + 1 == endpoint.version
                    && stored.org_id == endpoint.org_id
                    && scope.sees_org_level(stored.org_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        // `failing_since` is the delivery worker's to write.
        let failing_since = s.webhooks.get(&endpoint.id).and_then(|e| e.failing_since);
        s.webhooks.insert(
            endpoint.id,
            WebhookEndpoint {
                failing_since,
                ..endpoint.clone()
            },
        );
        s.append(audit);
        Ok(())
    }

    async fn delete_endpoint(
        &self,
        scope: &DataScope,
        endpoint: &WebhookEndpoint,
        audit: &AuditRecord,
    ) -> Result<(), StoreError> {
        let mut s = self.write();
        match s.webhooks.get(&endpoint.id) {
            Some(stored)
                if stored.version == endpoint.version
                    && stored.org_id == endpoint.org_id
                    && scope.sees_org_level(stored.org_id) => {}
            _ => return Err(StoreError::Stale),
        }
        in_scope(true, scope, audit)?;
        s.webhooks.remove(&endpoint.id);
        s.deliveries.forget_endpoint(endpoint.id);
        s.append(audit);
        Ok(())
    }
}
