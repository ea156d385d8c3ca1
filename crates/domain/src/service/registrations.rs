//! Self-service registration (SPEC §5) through the ports: a public request
//! accepted for an org that opted in (a pending registration stored and a
//! link composed, or, when the key is taken, an email that says so, answered
//! alike), and the link's confirmation, which provisions the tenant exactly
//! once with the requester as its owner.
//!
//! Sending is the caller's step ([`Tenancy::send_mail`]): the HTTP adapter
//! sends off the request path, so that a taken key and a free one take the
//! same time to answer.

use super::errors::ProvisionError;
use super::settings::Versioned;
use super::{Provisioned, Subject, Tenancy};
use crate::audit::{AuditAction, Context, TargetKind};
use crate::auth::Principal;
use crate::ids::{OrgRef, RegistrationId, TenantRef};
use crate::mail::{InvalidMail, MailError, OutgoingMail};
use crate::org::Org;
use crate::ports::{DataScope, SettingsOwner, StoreError};
use crate::region::RegionCode;
use crate::registration::{
    Registration, RegistrationClaim, RegistrationConfig, RegistrationRequest, RegistrationToken,
    confirmation_mail, key_taken_mail,
};
use crate::settings::{BrandingSettings, RegistrationSettings};
use crate::tenant::ProvisionTenant;
use crate::values::{Metadata, Owner, Plan, UserId};

/// Who the registration paths act as in the audit trail: nobody signed in.
const REGISTRATION: &str = "registration";

/// What a registration request asks the caller to send. Either way the
/// public answer is the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationAccepted {
    /// The link (key free) or the "key taken" notice, to the admin email.
    pub mail: OutgoingMail,
}

/// Requesting and confirming a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// No such org, the org has not enabled registration, or the deployment
    /// has no registration configured: one answer for all three.
    #[error("registration is not open for this org")]
    NotOpen,
    /// The admin email's domain is not one the org allows.
    #[error("the admin email's domain is not allowed")]
    EmailDomainNotAllowed,
    /// The region asked for (or the org's default) is not one the
    /// deployment has, available.
    #[error("region {0} is not available")]
    RegionUnavailable(RegionCode),
    /// The token names no registration (or has the wrong shape).
    #[error("no registration has this token")]
    UnknownToken,
    #[error("the registration link was used already")]
    TokenUsed,
    #[error("the registration link expired")]
    TokenExpired,
    /// The key was taken between the request and its confirmation; the link
    /// is used up (register again with another key).
    #[error("the tenant key was taken meanwhile")]
    KeyTaken,
    /// The org's emails have no sender (its branding has no `senderEmail`
    /// and the deployment no fallback), or the email could not be written.
    #[error("registration email cannot be sent: {0}")]
    MailUnavailable(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for RegistrationError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(super::errors::unexpected(e))
    }
}

impl From<super::settings::SettingsUseError> for RegistrationError {
    fn from(e: super::settings::SettingsUseError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<InvalidMail> for RegistrationError {
    fn from(e: InvalidMail) -> Self {
        Self::MailUnavailable(e.to_string())
    }
}

impl Tenancy {
    /// Accepts a registration request for `org`: refused when registration
    /// is not open there ([`RegistrationError::NotOpen`]), the admin email's
    /// domain is not allowed, or the region is not available. Otherwise,
    /// when the key is free, stores a pending registration (audited,
    /// `registration.requested`) and answers the email with its link; when
    /// the key is taken, stores nothing and answers an email that says so.
    pub async fn request_registration(
        &self,
        request_id: Option<String>,
        org: &OrgRef,
        request: RegistrationRequest,
    ) -> Result<RegistrationAccepted, RegistrationError> {
        let (org, settings, config) = self.open_registration(org).await?;
        if !settings.allows(&request.admin_email) {
            return Err(RegistrationError::EmailDomainNotAllowed);
        }
        let region = request
            .region
            .clone()
            .or_else(|| settings.default_region.clone())
            .unwrap_or_else(|| self.settings.regions.default_region().code.clone());
        if !self
            .settings
            .regions
            .get(&region)
            .is_some_and(|r| r.available)
        {
            return Err(RegistrationError::RegionUnavailable(region));
        }
        let scope = DataScope::Org(org.id);
        let branding: Versioned<BrandingSettings> = self
            .read_settings(&scope, SettingsOwner::Org(org.id))
            .await?;
        let branding = branding.document;
        let from = config.sender(&branding).ok_or_else(|| {
            RegistrationError::MailUnavailable("the org's branding has no senderEmail".into())
        })?;
        let company = branding
            .company_name
            .as_ref()
            .map_or(org.name.as_str(), |name| name.as_str())
            .to_owned();

        // Any tenant with the key, of any org, deleted ones included: a key
        // is never reused.
        let taken = self
            .ports
            .tenants
            .get_tenant(&DataScope::Platform, &TenantRef::Key(request.key.clone()))
            .await?
            .is_some();
        if taken {
            let mail = key_taken_mail(from, &branding, &company, &request)?;
            return Ok(RegistrationAccepted { mail });
        }

        let now = self.now();
        let token = RegistrationToken::generate(self.ports.entropy.as_ref());
        let registration = Registration {
            id: RegistrationId::from_uuid(self.new_id()),
            org_id: org.id,
            name: request.name,
            key: request.key,
            admin_email: request.admin_email,
            region,
            plan: settings.default_plan.clone().unwrap_or_else(Plan::free),
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + Registration::VALID_FOR,
            used_at: None,
        };
        let mail = confirmation_mail(
            from,
            &branding,
            &company,
            &registration,
            &config.link(&token),
        )?;
        let ctx = registration_context(request_id);
        let audit = self.audit(
            &ctx,
            now,
            Subject {
                action: AuditAction::RegistrationRequested,
                target_kind: TargetKind::Org,
                target_id: org.id.as_uuid(),
                org_id: org.id,
                tenant_id: None,
                changes: Vec::new(),
            },
        );
        self.ports
            .registrations
            .create_registration(&scope, &registration, &audit)
            .await?;
        Ok(RegistrationAccepted { mail })
    }

    /// Follows a registration link: claims its token (once: a second
    /// confirmation, concurrent or later, is [`RegistrationError::TokenUsed`])
    /// and provisions the tenant it asked for, its requester the owner, with
    /// the first API key. A token that expired is `TokenExpired`, an unknown
    /// one `UnknownToken`. A key taken since the request is `KeyTaken` and
    /// uses the link up; a failure that may pass (storage, KMS) gives the
    /// claim back, so the same link may be tried again.
    pub async fn confirm_registration(
        &self,
        request_id: Option<String>,
        token: &str,
    ) -> Result<Provisioned, RegistrationError> {
        let token = RegistrationToken::parse(token).map_err(|_| RegistrationError::UnknownToken)?;
        let now = self.now();
        let claim = self
            .ports
            .registrations
            .claim_registration(&DataScope::Platform, &token.hash(), now)
            .await?;
        let registration = match claim {
            RegistrationClaim::Claimed(registration) => *registration,
            RegistrationClaim::Used => return Err(RegistrationError::TokenUsed),
            RegistrationClaim::Expired => return Err(RegistrationError::TokenExpired),
            RegistrationClaim::Unknown => return Err(RegistrationError::UnknownToken),
        };
        let ctx = registration_context(request_id);
        let owner = Owner {
            // Tenancy is not an identity provider: the admin's email is the
            // user reference until the SaaS builder's system names another.
            user_id: UserId::parse(registration.admin_email.as_str())
                .map_err(|e| RegistrationError::Unavailable(e.to_string()))?,
            email: registration.admin_email.clone(),
        };
        let request = ProvisionTenant {
            key: registration.key.clone(),
            name: registration.name.clone(),
            plan: Some(registration.plan.clone()),
            region: Some(registration.region.clone()),
            owner: Some(owner),
            metadata: Metadata::default(),
            namespaces: Vec::new(),
        };
        let result = self
            .provision(&ctx, &OrgRef::Id(registration.org_id), request)
            .await;
        match result {
            Ok(provisioned) if provisioned.created => Ok(provisioned),
            // The key's tenant exists already (a replay of an identical
            // request is someone else's tenant too, as far as this link goes).
            Ok(_) | Err(ProvisionError::KeyTaken(_) | ProvisionError::SpecConflict { .. }) => {
                Err(RegistrationError::KeyTaken)
            }
            Err(e) => {
                // Nothing was provisioned: the link may be followed again.
                self.ports
                    .registrations
                    .release_registration(&DataScope::Platform, registration.id, now)
                    .await?;
                Err(match e {
                    ProvisionError::OrgNotFound => RegistrationError::NotOpen,
                    ProvisionError::UnknownRegion(region)
                    | ProvisionError::RegionUnavailable(region) => {
                        RegistrationError::RegionUnavailable(region)
                    }
                    other => RegistrationError::Unavailable(other.to_string()),
                })
            }
        }
    }

    /// Sends `mail` through the mailer port (once: the caller decides on
    /// retries).
    pub async fn send_mail(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        self.ports.mailer.send(mail).await
    }

    /// Deletes up to `batch` registrations that expired (used or not), for
    /// the retention job; answers how many.
    pub async fn purge_expired_registrations(
        &self,
        batch: usize,
    ) -> Result<usize, RegistrationError> {
        let purged = self
            .ports
            .registrations
            .purge_registrations(self.now(), batch)
            .await?;
        Ok(usize::try_from(purged).unwrap_or(usize::MAX))
    }

    /// The org, its registration settings and the deployment's registration
    /// configuration, when registration is open for it.
    async fn open_registration(
        &self,
        org: &OrgRef,
    ) -> Result<(Org, RegistrationSettings, &RegistrationConfig), RegistrationError> {
        let config = self
            .settings
            .registration
            .as_ref()
            .ok_or(RegistrationError::NotOpen)?;
        // Nobody signed in: the system looks the org up.
        let org = self
            .ports
            .orgs
            .get_org(&DataScope::Platform, org)
            .await?
            .ok_or(RegistrationError::NotOpen)?;
        let settings: Versioned<RegistrationSettings> = self
            .read_settings(&DataScope::Org(org.id), SettingsOwner::Org(org.id))
            .await?;
        if !settings.document.is_enabled() {
            return Err(RegistrationError::NotOpen);
        }
        Ok((org, settings.document, config))
    }
}

fn registration_context(request_id: Option<String>) -> Context {
    Context {
        principal: Principal::System(REGISTRATION),
        request_id,
    }
}
