//! A tenant's custom domain ([`crate::custom_domain`]): adding, reading,
//! removing and re-verifying it, for the platform admin and the tenant's org
//! keys; checking it through the [`DnsResolver`](crate::ports::DnsResolver)
//! port, now or when the background job finds it due.
//!
//! Every status change is audited and emits its event (`domain.added`,
//! `domain.verified`, `domain.failed`, `domain.pending` on re-verification,
//! `domain.removed`); a check that changes only the reason or the next check
//! time is stored without either.

use chrono::{DateTime, Utc};

use super::retry::{Step, retry_on_stale, written};
use super::{Subject, Tenancy};
use crate::audit::{AuditAction, AuditRecord, Change, Context, TargetKind};
use crate::auth::Principal;
use crate::custom_domain::{CustomDomain, DomainName, DomainStatus, VerificationToken};
use crate::ids::{OrgRef, TenantRef};
use crate::ports::{DnsFailure, StoreError, StoredDomain};
use crate::tenant::Tenant;

/// The background check's name in audit records.
const CHECKER: &str = "domain-checker";

/// A tenant's custom domain with what its operator must publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDomain {
    pub domain: CustomDomain,
    /// Where the TXT record holding [`CustomDomain::token`] must be.
    pub txt_name: DomainName,
    /// What the domain's CNAME record should point at: the tenant's
    /// subdomain under the base domain; `None` without a base domain.
    pub cname_target: Option<DomainName>,
    /// When a pending domain fails if not verified by then; `None` once
    /// verified or failed.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Managing a tenant's custom domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("org not found")]
    OrgNotFound,
    #[error("tenant not found")]
    TenantNotFound,
    /// A deleted tenant is a tombstone: it has no domain.
    #[error("tenant is deleted")]
    TenantDeleted,
    /// The tenant has no custom domain.
    #[error("the tenant has no custom domain")]
    NotFound,
    /// The tenant has another custom domain: it is removed first.
    #[error("the tenant already has a custom domain ({0}); remove it first")]
    Exists(DomainName),
    /// Another tenant holds the name.
    #[error("the domain is another tenant's")]
    Taken,
    /// The name cannot be a custom domain here (under the base domain, or too
    /// long for its challenge name); the message says why.
    #[error("{0}")]
    Unusable(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

super::errors::tenant_scoped_error!(DomainError);

fn too_many_writers() -> DomainError {
    DomainError::Unavailable("too many concurrent changes of the domain".into())
}

impl Tenancy {
    /// The tenant's custom domain.
    pub async fn get_custom_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<TenantDomain, DomainError> {
        let (found, stored) = self.stored_domain(ctx, org, tenant).await?;
        self.domain_view(&found, stored.domain)
    }

    /// Adds `name` as the tenant's custom domain: pending, with a fresh token
    /// and its first check due at once. The same name again answers the
    /// domain as it is (`false`: nothing was created); another name while the
    /// tenant has one is [`DomainError::Exists`].
    pub async fn add_custom_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
        name: DomainName,
    ) -> Result<(TenantDomain, bool), DomainError> {
        self.usable(&name)?;
        let name = &name;
        retry_on_stale(too_many_writers, || async move {
            let found = self.domain_tenant(ctx, org, tenant).await?;
            let scope = ctx.principal.scope_in(found.org_id);
            if let Some(current) = self
                .ports
                .custom_domains
                .custom_domain(&scope, found.id)
                .await?
            {
                if current.domain.domain != *name {
                    return Err(DomainError::Exists(current.domain.domain));
                }
                return Ok(Step::Done((
                    self.domain_view(&found, current.domain)?,
                    false,
                )));
            }
            let mut bytes = [0_u8; 16];
            self.ports.entropy.fill(&mut bytes);
            let now = self.now();
            let stored = StoredDomain {
                org_id: found.org_id,
                tenant_id: found.id,
                domain: CustomDomain::new(name.clone(), VerificationToken::from_bytes(&bytes), now),
                version: 1,
                updated_at: now,
            };
            let audit = self
                .domain_audit(ctx, &stored, AuditAction::DomainAdded, None)
                .await?;
            let result = self
                .ports
                .custom_domains
                .put_custom_domain(&scope, &stored, Some(audit))
                .await;
            if result == Err(StoreError::Taken(crate::ports::Unique::Domain)) {
                return Err(DomainError::Taken);
            }
            match written(result, stored)? {
                Step::Done(stored) => {
                    Ok(Step::Done((self.domain_view(&found, stored.domain)?, true)))
                }
                Step::Retry => Ok(Step::Retry),
            }
        })
        .await
    }

    /// Removes the tenant's custom domain: Tenancy stops answering for it at
    /// once.
    pub async fn remove_custom_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<(), DomainError> {
        retry_on_stale(too_many_writers, || async move {
            let (found, current) = self.stored_domain(ctx, org, tenant).await?;
            let audit = self
                .domain_audit(ctx, &current, AuditAction::DomainRemoved, None)
                .await?;
            let scope = ctx.principal.scope_in(found.org_id);
            let result = self
                .ports
                .custom_domains
                .remove_custom_domain(&scope, &current, &audit)
                .await;
            Ok(written(result, ())?)
        })
        .await
    }

    /// Re-verification: the domain is pending again with a fresh 7-day window
    /// (whatever its status), and checked at once; the token stays.
    pub async fn reverify_custom_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<TenantDomain, DomainError> {
        retry_on_stale(too_many_writers, || async move {
            let (found, current) = self.stored_domain(ctx, org, tenant).await?;
            let now = self.now();
            let next = StoredDomain {
                domain: current.domain.restarted(now),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            let audit = self
                .domain_audit(
                    ctx,
                    &next,
                    AuditAction::DomainPending,
                    Some(current.domain.status),
                )
                .await?;
            let scope = ctx.principal.scope_in(found.org_id);
            let result = self
                .ports
                .custom_domains
                .put_custom_domain(&scope, &next, Some(audit))
                .await;
            Ok(written(result, ())?)
        })
        .await?;
        self.check_custom_domain(ctx, org, tenant).await
    }

    /// Looks the domain's TXT record up now and records what the answer
    /// makes of it ([`CustomDomain::after_check`]).
    pub async fn check_custom_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<TenantDomain, DomainError> {
        retry_on_stale(too_many_writers, || async move {
            let (found, current) = self.stored_domain(ctx, org, tenant).await?;
            match self.check_once(ctx, &current).await? {
                Step::Done(next) => Ok(Step::Done(self.domain_view(&found, next.domain)?)),
                Step::Retry => Ok(Step::Retry),
            }
        })
        .await
    }

    /// The background check's batch: up to `limit` pending domains whose
    /// next check is due, earliest first. The caller checks each with
    /// [`Tenancy::check_due_domain`], bounding how many run at once.
    pub async fn due_custom_domains(&self, limit: usize) -> Result<Vec<StoredDomain>, DomainError> {
        Ok(self
            .ports
            .custom_domains
            .due_custom_domains(self.now(), limit)
            .await?)
    }

    /// Checks one domain [`Tenancy::due_custom_domains`] listed, as the
    /// system; a domain changed since it was listed is read again and checked
    /// only if it is still due. Its status after the check.
    pub async fn check_due_domain(
        &self,
        listed: &StoredDomain,
    ) -> Result<Option<DomainStatus>, DomainError> {
        let ctx = &Context::new(Principal::System(CHECKER));
        let scope = &ctx.principal.scope_in(listed.org_id);
        let mut first = Some(listed.clone());
        let first = &mut first;
        retry_on_stale(too_many_writers, || {
            let listed_now = first.take();
            async move {
                let current = match listed_now {
                    Some(current) => current,
                    None => {
                        let reread = self
                            .ports
                            .custom_domains
                            .custom_domain(scope, listed.tenant_id)
                            .await?;
                        match reread {
                            Some(current) => current,
                            None => return Ok(Step::Done(None)),
                        }
                    }
                };
                if !current.domain.is_due(self.now()) {
                    return Ok(Step::Done(Some(current.domain.status)));
                }
                Ok(match self.check_once(ctx, &current).await? {
                    Step::Done(next) => Step::Done(Some(next.domain.status)),
                    Step::Retry => Step::Retry,
                })
            }
        })
        .await
    }

    /// One check of `current`: the lookup, its outcome written as the next
    /// version (audited when the status changed); `Retry` when another write
    /// came first.
    async fn check_once(
        &self,
        ctx: &Context,
        current: &StoredDomain,
    ) -> Result<Step<StoredDomain>, DomainError> {
        let answer = match current
            .domain
            .challenge_name(&self.settings.challenge_prefix)
        {
            Ok(name) => self.ports.dns.txt(&name).await,
            // Only when the deployment's prefix changed since the domain was
            // added: a name longer than DNS allows cannot exist.
            Err(_) => Err(DnsFailure::NxDomain),
        };
        let now = self.now();
        let (domain, changed) = current.domain.after_check(&answer, now);
        let next = StoredDomain {
            domain,
            version: current.version + 1,
            updated_at: now,
            ..current.clone()
        };
        let audit = match changed {
            Some(status) => {
                let action = match status {
                    DomainStatus::Verified => AuditAction::DomainVerified,
                    DomainStatus::Failed => AuditAction::DomainFailed,
                    DomainStatus::Pending => AuditAction::DomainPending,
                };
                Some(
                    self.domain_audit(ctx, &next, action, Some(current.domain.status))
                        .await?,
                )
            }
            None => None,
        };
        let scope = ctx.principal.scope_in(current.org_id);
        let result = self
            .ports
            .custom_domains
            .put_custom_domain(&scope, &next, audit)
            .await;
        Ok(written(result, next)?)
    }

    /// Refuses names Tenancy answers for already (the base domain and
    /// everything under it, tenants' subdomains included) and names too long
    /// to hold the challenge label in front.
    fn usable(&self, name: &DomainName) -> Result<(), DomainError> {
        if let Some(base) = &self.settings.base_domain {
            let under = name
                .as_str()
                .strip_suffix(base.as_str())
                .is_some_and(|head| head.is_empty() || head.ends_with('.'));
            if under {
                return Err(DomainError::Unusable(format!(
                    "must not be {base} or a name under it: tenants' subdomains are there already"
                )));
            }
        }
        self.txt_name(name).map(|_| ())
    }

    /// Where `name`'s TXT record must be: under the deployment's prefix.
    fn txt_name(&self, name: &DomainName) -> Result<DomainName, DomainError> {
        name.challenge_name(&self.settings.challenge_prefix)
            .map_err(|e| DomainError::Unusable(format!("is too long for its TXT record: {e}")))
    }

    /// The tenant (live, the caller's) and its custom domain.
    async fn stored_domain(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<(Tenant, StoredDomain), DomainError> {
        let found = self.domain_tenant(ctx, org, tenant).await?;
        let stored = self
            .ports
            .custom_domains
            .custom_domain(&ctx.principal.scope_in(found.org_id), found.id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok((found, stored))
    }

    async fn domain_tenant(
        &self,
        ctx: &Context,
        org: &OrgRef,
        tenant: &TenantRef,
    ) -> Result<Tenant, DomainError> {
        Ok(self.live_tenant(ctx, org, tenant).await?)
    }

    /// The domain with the records to publish for it.
    fn domain_view(
        &self,
        tenant: &Tenant,
        domain: CustomDomain,
    ) -> Result<TenantDomain, DomainError> {
        let txt_name = self.txt_name(&domain.domain)?;
        let cname_target = self
            .settings
            .base_domain
            .as_ref()
            .and_then(|base| base.subdomain(&tenant.key).ok());
        let expires_at = (domain.status == DomainStatus::Pending).then(|| domain.deadline());
        Ok(TenantDomain {
            domain,
            txt_name,
            cname_target,
            expires_at,
        })
    }

    /// The audit record of a change of `stored`: the name and, for a status
    /// change, the status from `from` (sealed with its tenant's key, as the
    /// name says whose the tenant is).
    async fn domain_audit(
        &self,
        ctx: &Context,
        stored: &StoredDomain,
        action: AuditAction,
        from: Option<DomainStatus>,
    ) -> Result<AuditRecord, DomainError> {
        let name = Some(stored.domain.domain.to_string());
        let mut changes = Vec::new();
        match action {
            AuditAction::DomainAdded => changes.push(Change {
                field: "domain",
                from: None,
                to: name,
            }),
            AuditAction::DomainRemoved => changes.push(Change {
                field: "domain",
                from: name,
                to: None,
            }),
            _ => changes.push(Change {
                field: "status",
                from: from.map(|s| s.as_str().to_owned()),
                to: Some(stored.domain.status.as_str().to_owned()),
            }),
        }
        let mut audit = self.audit(
            ctx,
            stored.updated_at,
            Subject {
                action,
                target_kind: TargetKind::CustomDomain,
                target_id: stored.tenant_id.as_uuid(),
                org_id: stored.org_id,
                tenant_id: Some(stored.tenant_id),
                changes,
            },
        );
        self.seal_audit(&ctx.principal.scope_in(stored.org_id), &mut audit)
            .await?;
        Ok(audit)
    }
}
