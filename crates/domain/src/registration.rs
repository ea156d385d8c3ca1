//! Self-service registration (SPEC §5, seed 004): someone asks an org that
//! opted in for a tenant of their own, receives a one-time link by email, and
//! following it provisions the tenant with them as its owner.
//!
//! What lives here: the request ([`RegistrationRequest`]), what is stored
//! while it waits ([`Registration`], holding the SHA-256 of the link's token,
//! never the token), the token ([`RegistrationToken`]: 32 random bytes,
//! base64url) and the two emails ([`confirmation_mail`], [`key_taken_mail`]),
//! branded with the org's sender. The rules that tie them together (who may
//! register, exactly-once confirmation) are `Tenancy::request_registration`
//! and `Tenancy::confirm_registration`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ids::{OrgId, RegistrationId};
use crate::mail::{InvalidMail, Mailbox, OutgoingMail};
use crate::ports::SecretSource;
use crate::region::RegionCode;
use crate::settings::BrandingSettings;
use crate::slug::TenantKey;
use crate::values::{Email, InvalidValue, Name, Plan};

/// What someone asks for at `POST /v1/public/orgs/{org}/registrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// The tenant's name.
    pub name: Name,
    /// The tenant's key (and subdomain).
    pub key: TenantKey,
    /// Who receives the link and becomes the tenant's owner.
    pub admin_email: Email,
    /// `None`: the org's `defaultRegion`, else the deployment's default.
    pub region: Option<RegionCode>,
}

/// A registration waiting for its link to be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: RegistrationId,
    pub org_id: OrgId,
    pub name: Name,
    pub key: TenantKey,
    pub admin_email: Email,
    /// Resolved when the request was accepted (the request's, the org's
    /// default or the deployment's), as the plan.
    pub region: RegionCode,
    pub plan: Plan,
    /// The SHA-256 of the link's token.
    pub token_hash: TokenHash,
    pub created_at: DateTime<Utc>,
    /// `created_at` plus [`Registration::VALID_FOR`].
    pub expires_at: DateTime<Utc>,
    /// When the link was followed (claimed), once.
    pub used_at: Option<DateTime<Utc>>,
}

impl Registration {
    /// How long a link works.
    pub const VALID_FOR: Duration = Duration::hours(24);
}

/// What claiming a token found (`RegistrationStore::claim_registration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationClaim {
    /// The token was unused and unexpired; it is now used, by this claim only.
    Claimed(Box<Registration>),
    /// The token was used already.
    Used,
    /// The token's registration expired unused.
    Expired,
    /// No registration has this token (or it was purged).
    Unknown,
}

/// The SHA-256 of a [`RegistrationToken`]: what is stored and looked up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    // Not the token, but it finds the registration: kept out of logs too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// The one-time token of a confirmation link: 32 random bytes in base64url
/// without padding (43 characters). Never stored, never in a `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationToken(Zeroizing<String>);

impl RegistrationToken {
    /// Length of a token's text.
    pub const LEN: usize = 43;

    /// A fresh token from `entropy`.
    pub fn generate(entropy: &dyn SecretSource) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        entropy.fill(bytes.as_mut());
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// A token as a caller presents it: 43 base64url characters that decode
    /// to 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let decodes = URL_SAFE_NO_PAD
            .decode(raw)
            .is_ok_and(|bytes| bytes.len() == 32);
        if raw.len() != Self::LEN || !decodes {
            return Err(InvalidValue::new(
                "must be the 43-character token of a confirmation link",
            ));
        }
        Ok(Self(Zeroizing::new(raw.to_owned())))
    }

    /// What the store keeps and finds the registration by.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The token's text, for the link it goes into.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RegistrationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistrationToken(<redacted>)")
    }
}

/// The deployment's part of registration: where links point and who sends
/// the emails of an org whose branding names no sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// The confirmation page (`{TENANCY_PUBLIC_URL}/confirm`); a link is
    /// this URL with `token` added to its query.
    pub confirm_url: url::Url,
    /// The sender when the org's branding has no `senderEmail`
    /// (`TENANCY_MAIL_FROM`); `None`: such an org cannot send, and its
    /// registrations are refused as unavailable.
    pub mail_from: Option<Mailbox>,
}

impl RegistrationConfig {
    /// The link that confirms the registration of `token`.
    pub fn link(&self, token: &RegistrationToken) -> url::Url {
        let mut link = self.confirm_url.clone();
        link.query_pairs_mut().append_pair("token", token.expose());
        link
    }

    /// Who an org's registration emails come from: its branding's sender
    /// (`senderName <senderEmail>`), else this deployment's fallback; a
    /// sender name too long for a header is left out, not refused.
    pub fn sender(&self, branding: &BrandingSettings) -> Option<Mailbox> {
        match &branding.sender_email {
            Some(address) => {
                let named = branding
                    .sender_name
                    .as_ref()
                    .and_then(|name| Mailbox::new(Some(name.as_str()), address.clone()).ok());
                Some(named.unwrap_or_else(|| Mailbox::address_only(address.clone())))
            }
            None => self.mail_from.clone(),
        }
    }
}

/// The email with the confirmation link, in the org's name (`company`: its
/// branding's `companyName`, else the org's name). Replies go to the
/// branding's `contactEmail` when it has one.
pub fn confirmation_mail(
    from: Mailbox,
    branding: &BrandingSettings,
    company: &str,
    registration: &Registration,
    link: &url::Url,
) -> Result<OutgoingMail, InvalidMail> {
    let subject = format!("Confirm your new {company} workspace");
    let hours = Registration::VALID_FOR.num_hours();
    let text = format!(
        "Hello,\n\n\
         someone, hopefully you, asked {company} for a workspace named \"{name}\" \
         ({key}) for this address.\n\n\
         To create it, open this link within {hours} hours:\n\n{link}\n\n\
         The link works once. If you did not ask for this, ignore this email: \
         nothing is created.\n\n\
         {company}\n",
        name = registration.name.as_str(),
        key = registration.key.as_str(),
    );
    let html = format!(
        "<p>Hello,</p>\
         <p>someone, hopefully you, asked {company} for a workspace named \
         &ldquo;{name}&rdquo; ({key}) for this address.</p>\
         <p>To create it, open this link within {hours} hours:</p>\
         <p><a href=\"{href}\">Confirm the workspace</a></p>\
         <p>The link works once. If you did not ask for this, ignore this email: \
         nothing is created.</p><p>{company}</p>",
        company = html_escape(company),
        name = html_escape(registration.name.as_str()),
        key = registration.key.as_str(),
        href = html_escape(link.as_str()),
    );
    with_reply_to(
        OutgoingMail::new(from, to(registration), &subject, &text)?.with_html(&html)?,
        branding,
    )
}

/// The email sent instead of a link when the requested key is taken: the
/// requester learns it in their own mailbox, the public endpoint answers as
/// for a free key (no enumeration).
pub fn key_taken_mail(
    from: Mailbox,
    branding: &BrandingSettings,
    company: &str,
    request: &RegistrationRequest,
) -> Result<OutgoingMail, InvalidMail> {
    let subject = format!("Your {company} workspace could not be created");
    let text = format!(
        "Hello,\n\n\
         someone, hopefully you, asked {company} for a workspace with the key \
         \"{key}\" for this address. That key is taken: please register again \
         with another one.\n\n\
         If you did not ask for this, ignore this email.\n\n{company}\n",
        key = request.key.as_str(),
    );
    let mail = OutgoingMail::new(
        from,
        Mailbox::address_only(request.admin_email.clone()),
        &subject,
        &text,
    )?;
    with_reply_to(mail, branding)
}

fn to(registration: &Registration) -> Mailbox {
    Mailbox::address_only(registration.admin_email.clone())
}

fn with_reply_to(
    mail: OutgoingMail,
    branding: &BrandingSettings,
) -> Result<OutgoingMail, InvalidMail> {
    Ok(match &branding.contact_email {
        Some(contact) => mail.with_reply_to(Mailbox::address_only(contact.clone())),
        None => mail,
    })
}

fn html_escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);

    impl SecretSource for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn a_token_is_43_base64url_characters_and_only_its_hash_is_kept() {
        let token = RegistrationToken::generate(&Fixed(0xfb));
        assert_eq!(token.expose().len(), RegistrationToken::LEN);
        assert!(!token.expose().contains(['+', '/', '=']));
        let parsed = RegistrationToken::parse(token.expose()).unwrap();
        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(RegistrationToken::generate(&Fixed(1)).hash(), token.hash());
        assert!(!format!("{token:?}{:?}", token.hash()).contains(token.expose()));
        for bad in [
            "",
            "short",
            &"A".repeat(44),
            &format!("{}=", &token.expose()[..42]),
        ] {
            assert!(RegistrationToken::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_sender_is_the_branding_s_else_the_deployment_s() {
        let config = RegistrationConfig {
            confirm_url: url::Url::parse("https://tenancy.example/confirm").unwrap(),
            mail_from: None,
        };
        assert_eq!(config.sender(&BrandingSettings::default()), None);
        let branding = BrandingSettings {
            sender_name: Some(Name::parse("Acme Support").unwrap()),
            sender_email: Some(Email::parse("support@acme.io").unwrap()),
            ..BrandingSettings::default()
        };
        let sender = config.sender(&branding).unwrap();
        assert_eq!(sender.to_string(), "Acme Support <support@acme.io>");
        let fallback = Mailbox::address_only(Email::parse("no-reply@tenancy.example").unwrap());
        let config = RegistrationConfig {
            mail_from: Some(fallback.clone()),
            ..config
        };
        assert_eq!(config.sender(&BrandingSettings::default()), Some(fallback));
        let token = RegistrationToken::generate(&Fixed(7));
        let link = config.link(&token);
        assert_eq!(
            link.as_str(),
            format!("https://tenancy.example/confirm?token={}", token.expose())
        );
    }
}
