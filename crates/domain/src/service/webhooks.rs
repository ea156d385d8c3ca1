//! Webhook endpoints: create, list, get, update, delete and rotate the
//! signing secret, for the platform admin and the org's own keys. Secrets are
//! minted here from the `SecretSource` port, shown once, and stored sealed
//! with the org's data key; audit records name the endpoint and the fields
//! changed, never a secret (nor a URL, which may carry a receiver's token).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Tenancy;
use super::errors::unexpected;
use super::retry::{Step, retry_on_stale, written};
use crate::audit::{AuditAction, AuditDetails, AuditRecord, Change, Context, TargetKind};
use crate::ids::{AuditId, OrgRef};
use crate::kms::{DataKey, Sealed, open, seal};
use crate::org::Org;
use crate::page::{Cursor, Limit, Page, PageError, fetch_page_by_id};
use crate::ports::{DataScope, StoreError, WebhookSender};
use crate::service::IdempotencyError;
use crate::values::InvalidValue;
use crate::webhook::{
    EndpointSecrets, GracePeriod, NewWebhook, RetiringSecret, SealedSecret, SigningSecret,
    WebhookEndpoint, WebhookId, WebhookPatch, WebhookUrl, secret_aad, secret_from_plain,
};
use crate::webhook_delivery::Target;

/// Managing webhook endpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("org not found")]
    OrgNotFound,
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("delivery not found")]
    DeliveryNotFound,
    /// A field of the request is not acceptable: the field and why.
    #[error("invalid {0}: {1}")]
    Invalid(&'static str, InvalidValue),
    #[error(transparent)]
    Page(#[from] PageError),
    /// Every attempt lost a race with another writer of the endpoint.
    #[error("the endpoint kept changing; try again")]
    Conflict,
    /// The KMS could not give the org's data key. Logs only.
    #[error("KMS unavailable: {0}")]
    KmsUnavailable(String),
    /// A stored secret does not open with its org's data key. Never a
    /// caller's mistake.
    #[error("a stored webhook secret cannot be decrypted")]
    Undecryptable,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for WebhookError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(unexpected(e))
    }
}

impl From<IdempotencyError> for WebhookError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::KmsUnavailable(text) => Self::KmsUnavailable(text),
            IdempotencyError::OrgNotFound => Self::OrgNotFound,
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// An endpoint with the secret shown once: on creation and on rotation.
#[derive(Debug, Clone)]
pub struct WebhookWithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: SigningSecret,
}

impl Tenancy {
    /// Creates an endpoint of `org` with a new signing secret.
    pub async fn create_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        new: NewWebhook,
    ) -> Result<WebhookWithSecret, WebhookError> {
        let url = self.webhook_url(&new.url).await?;
        let org = self.webhook_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        let id = WebhookId::from_uuid(self.new_id());
        let key = self.org_data_key(&scope, org.id).await?;
        let secret = SigningSecret::generate(self.ports.entropy.as_ref());
        let now = self.now();
        let endpoint = WebhookEndpoint {
            id,
            org_id: org.id,
            url,
            description: new.description,
            event_types: new.event_types,
            enabled: new.enabled,
            failing_since: None,
            secrets: EndpointSecrets {
                current: self.seal_secret(&key, &org, id, &secret),
                previous: None,
            },
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.webhook_audit(ctx, &endpoint, AuditAction::WebhookEndpointCreated, vec![]);
        self.ports
            .webhooks
            .create_endpoint(&scope, &endpoint, &audit)
            .await
            .map_err(|e| match e {
                StoreError::Stale => WebhookError::OrgNotFound,
                e => e.into(),
            })?;
        Ok(WebhookWithSecret { endpoint, secret })
    }

    /// The org's endpoints in creation order.
    pub async fn list_webhooks(
        &self,
        ctx: &Context,
        org: &OrgRef,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Page<WebhookEndpoint>, WebhookError> {
        let fetch = |after: Option<uuid::Uuid>, n| async move {
            let org = self.webhook_org(ctx, org).await?;
            let scope = ctx.principal.scope_in(org.id);
            Ok(self
                .ports
                .webhooks
                .list_endpoints(&scope, org.id, after.map(WebhookId::from_uuid), n)
                .await?)
        };
        fetch_page_by_id(cursor, limit, fetch, |e: &WebhookEndpoint| e.id.as_uuid()).await
    }

    /// One endpoint of the org.
    pub async fn get_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        id: WebhookId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let org = self.webhook_org(ctx, org).await?;
        self.stored_webhook(&ctx.principal.scope_in(org.id), &org, id)
            .await
    }

    /// Changes an endpoint's URL, description, event types or whether it is
    /// enabled. A patch that changes nothing writes nothing.
    pub async fn update_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let url = match patch.url.as_deref() {
            Some(u) => Some(self.webhook_url(u).await?),
            None => None,
        };
        let org = self.webhook_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        retry_on_stale(
            || WebhookError::Conflict,
            || async {
                let stored = self.stored_webhook(&scope, &org, id).await?;
                let mut next = stored.clone();
                let mut changes = Vec::new();
                if let Some(url) = &url
                    && *url != stored.url
                {
                    next.url = url.clone();
                    // Which field, not its values: a URL may hold a token.
                    changes.push(Change {
                        field: "url",
                        from: None,
                        to: None,
                    });
                }
                if let Some(description) = &patch.description {
                    next.description = description.clone();
                    changes.extend(Change::of(
                        "description",
                        &stored.description,
                        description,
                        |d| d.as_ref().map(|d| d.as_str().to_owned()),
                    ));
                }
                if let Some(types) = &patch.event_types {
                    next.event_types = types.clone();
                    changes.extend(Change::of("eventTypes", &stored.event_types, types, |t| {
                        Some(
                            t.types()
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        )
                    }));
                }
                if let Some(enabled) = patch.enabled {
                    next.enabled = enabled;
                    changes.extend(Change::of("enabled", &stored.enabled, &enabled, |e| {
                        Some(e.to_string())
                    }));
                }
                if changes.is_empty() {
                    return Ok(Step::Done(stored));
                }
                next.updated_at = self.now();
                next.version = stored.version + 1;
                let audit =
                    self.webhook_audit(ctx, &next, AuditAction::WebhookEndpointUpdated, changes);
                let result = self
                    .ports
                    .webhooks
                    .update_endpoint(&scope, &next, &audit)
                    .await;
                Ok(written(result, next)?)
            },
        )
        .await
    }

    /// Deletes an endpoint; its undelivered messages go with it.
    pub async fn delete_webhook(
        &self,
        ctx: &Context,
        org: &OrgRef,
        id: WebhookId,
    ) -> Result<(), WebhookError> {
        let org = self.webhook_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        retry_on_stale(
            || WebhookError::Conflict,
            || async {
                let stored = self.stored_webhook(&scope, &org, id).await?;
                let audit =
                    self.webhook_audit(ctx, &stored, AuditAction::WebhookEndpointDeleted, vec![]);
                let result = self
                    .ports
                    .webhooks
                    .delete_endpoint(&scope, &stored, &audit)
                    .await;
                Ok(written(result, ())?)
            },
        )
        .await
    }

    /// Replaces the endpoint's signing secret with a new one, shown once. The
    /// replaced secret keeps signing for `grace` (both signatures are sent);
    /// a secret still in its grace from an earlier rotation stops at once.
    pub async fn rotate_webhook_secret(
        &self,
        ctx: &Context,
        org: &OrgRef,
        id: WebhookId,
        grace: GracePeriod,
    ) -> Result<WebhookWithSecret, WebhookError> {
        let org = self.webhook_org(ctx, org).await?;
        let scope = ctx.principal.scope_in(org.id);
        let key = self.org_data_key(&scope, org.id).await?;
        retry_on_stale(
            || WebhookError::Conflict,
            || async {
                let stored = self.stored_webhook(&scope, &org, id).await?;
                let secret = SigningSecret::generate(self.ports.entropy.as_ref());
                let now = self.now();
                let next = WebhookEndpoint {
                    secrets: EndpointSecrets {
                        current: self.seal_secret(&key, &org, id, &secret),
                        previous: Some(RetiringSecret {
                            sealed: stored.secrets.current.clone(),
                            until: now + grace.duration(),
                        }),
                    },
                    updated_at: now,
                    version: stored.version + 1,
                    ..stored
                };
                let audit =
                    self.webhook_audit(ctx, &next, AuditAction::WebhookSecretRotated, vec![]);
                let result = self
                    .ports
                    .webhooks
                    .update_endpoint(&scope, &next, &audit)
                    .await;
                Ok(written(
                    result,
                    WebhookWithSecret {
                        endpoint: next,
                        secret,
                    },
                )?)
            },
        )
        .await
    }

    /// The secrets a delivery to `endpoint` at `now` is signed with, in
    /// clear: the current one, then the replaced one while its grace lasts.
    /// For the delivery worker (it runs in the platform scope).
    pub async fn webhook_signing_secrets(
        &self,
        endpoint: &WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> Result<Vec<SigningSecret>, WebhookError> {
        let scope = DataScope::Org(endpoint.org_id);
        let key = self.org_data_key(&scope, endpoint.org_id).await?;
        let aad = secret_aad(endpoint.org_id, endpoint.id);
        endpoint
            .secrets
            .signing_at(now)
            .into_iter()
            .map(|sealed| {
                let sealed =
                    Sealed::from_bytes(&sealed.0).map_err(|_| WebhookError::Undecryptable)?;
                let plain = open(&key, &sealed, &aad).map_err(|_| WebhookError::Undecryptable)?;
                secret_from_plain(&plain).ok_or(WebhookError::Undecryptable)
            })
            .collect()
    }

    /// The URL as given, checked in form (`WebhookUrl::parse`) and, with a
    /// sender configured and private addresses not allowed, by resolving its
    /// host: a name that leads to a private, loopback or link-local address
    /// is refused as its literal would be. A name that does not resolve (yet:
    /// DNS is often set up after the endpoint) is accepted: it is no SSRF,
    /// its deliveries fail and are retried, and each is checked again.
    async fn webhook_url(&self, raw: &str) -> Result<WebhookUrl, WebhookError> {
        let url = WebhookUrl::parse(raw, self.settings.webhook_allow_private)
            .map_err(|e| WebhookError::Invalid("url", e))?;
        if let Some(targets) = &self.webhook_targets
            && !self.settings.webhook_allow_private
        {
            match targets.check_target(url.as_str()).await {
                Target::Allowed | Target::Unresolved(_) => {}
                Target::Forbidden(reason) => {
                    return Err(WebhookError::Invalid("url", InvalidValue::new(reason)));
                }
            }
        }
        Ok(url)
    }

    /// Endpoints' hosts are resolved by `sender` when they are saved (see
    /// [`WebhookSender::check_target`]); the server passes the sender that
    /// delivers.
    pub fn with_webhook_sender(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhook_targets = Some(sender);
        self
    }

    async fn webhook_org(&self, ctx: &Context, org: &OrgRef) -> Result<Org, WebhookError> {
        self.find_org(ctx, org)
            .await?
            .ok_or(WebhookError::OrgNotFound)
    }

    async fn stored_webhook(
        &self,
        scope: &DataScope,
        org: &Org,
        id: WebhookId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        self.ports
            .webhooks
            .get_endpoint(scope, org.id, id)
            .await?
            .filter(|e| e.org_id == org.id)
            .ok_or(WebhookError::NotFound)
    }

    fn seal_secret(
        &self,
        key: &Arc<DataKey>,
        org: &Org,
        id: WebhookId,
        secret: &SigningSecret,
    ) -> SealedSecret {
        let sealed = seal(
            key,
            secret.expose().as_bytes(),
            &secret_aad(org.id, id),
            self.ports.entropy.as_ref(),
        );
        SealedSecret(sealed.to_bytes())
    }

    fn webhook_audit(
        &self,
        ctx: &Context,
        endpoint: &WebhookEndpoint,
        action: AuditAction,
        changes: Vec<Change>,
    ) -> AuditRecord {
        AuditRecord {
            id: AuditId::from_uuid(self.new_id()),
            // Every write but deletion stamps the endpoint with its time.
            at: match action {
                AuditAction::WebhookEndpointDeleted => self.now(),
                _ => endpoint.updated_at,
            },
            actor: ctx.actor(),
            action,
            target_kind: TargetKind::WebhookEndpoint,
            target_id: endpoint.id.as_uuid(),
            org_id: endpoint.org_id,
            tenant_id: None,
            request_id: ctx.request_id.clone(),
            details: AuditDetails::changes_only(changes),
        }
    }
}
