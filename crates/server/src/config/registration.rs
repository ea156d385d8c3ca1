//! Self-service registration's settings: where confirmation links point
//! (`TENANCY_PUBLIC_URL`; registration is off without it), the fallback sender
//! (`TENANCY_MAIL_FROM`), the SMTP server (`TENANCY_SMTP_URL`; the log mailer
//! without it) and the rate limit per client address
//! (`TENANCY_REGISTRATION_RATE`).

use std::num::NonZeroU32;
use std::time::Duration;

use adapters_http::RegistrationRate;
use adapters_mail::{Security, SmtpConfig, SmtpCredentials, SmtpPassword};
use domain::{Email, Mailbox, RegistrationConfig};
use serde::Deserialize;

/// `TENANCY_PUBLIC_URL`: an `http` or `https` URL without a query; links are
/// `{url}/confirm?token=...`.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct PublicUrl(url::Url);

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not an http(s) URL such as https://app.example.com");
        let url = url::Url::parse(&raw).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        Ok(Self(url))
    }
}

impl PublicUrl {
    /// The confirmation page under this URL.
    fn confirm_url(&self) -> url::Url {
        let mut url = self.0.clone();
        let path = format!("{}/confirm", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }
}

/// `TENANCY_MAIL_FROM`: `Name <address>` or a bare address.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct MailFrom(Mailbox);

impl TryFrom<String> for MailFrom {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        let bad = |e: domain::InvalidValue| {
            format!("{raw:?} is not a sender such as \"Acme <no-reply@acme.io>\": {e}")
        };
        let trimmed = raw.trim();
        let mailbox = match trimmed.strip_suffix('>').and_then(|r| r.rsplit_once('<')) {
            Some((name, address)) => {
                let address = Email::parse(address.trim()).map_err(bad)?;
                let name = name.trim().trim_matches('"');
                if name.is_empty() {
                    Mailbox::address_only(address)
                } else {
                    Mailbox::new(Some(name), address).map_err(bad)?
                }
            }
            None => Mailbox::address_only(Email::parse(trimmed).map_err(bad)?),
        };
        Ok(Self(mailbox))
    }
}

/// `TENANCY_SMTP_URL`: `smtp://host[:port]` (plain: a relay on this host or
/// a trusted network), `smtp+starttls://[user:password@]host[:port]` or
/// `smtps://[user:password@]host[:port]` (TLS from the first byte). The
/// password never shows in a `Debug`.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct SmtpUrl(SmtpConfig);

impl TryFrom<String> for SmtpUrl {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        // The message never repeats the value: it may hold a password.
        let bad = |why: &str| {
            format!(
                "is not an SMTP URL such as smtp+starttls://user:password@mail.example.com ({why})"
            )
        };
        let url = url::Url::parse(&raw).map_err(|_| bad("unreadable"))?;
        let security = match url.scheme() {
            "smtp" => Security::None,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Tls,
            _ => return Err(bad("the scheme is smtp, smtp+starttls or smtps")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut config = SmtpConfig::new(host, security);
        config.port = url.port().unwrap_or(security.default_port());
        if !url.username().is_empty() {
            if security == Security::None {
                return Err(bad("credentials need smtp+starttls or smtps"));
            }
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| bad("the user or password is not valid UTF-8"))
            };
            config.credentials = Some(SmtpCredentials {
                user: decode(url.username())?,
                password: SmtpPassword::new(decode(url.password().unwrap_or(""))?),
            });
        }
        Ok(Self(config))
    }
}

/// `TENANCY_REGISTRATION_RATE`: `N/second`, `N/minute`, `N/hour` or
/// `N/day`, `N` at least 1.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Rate(pub(super) RegistrationRate);

impl TryFrom<String> for Rate {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not a rate such as 10/hour (second, minute, hour, day)");
        let (count, unit) = raw.trim().split_once('/').ok_or_else(bad)?;
        let requests: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "second" => Duration::from_secs(1),
            "minute" => Duration::from_secs(60),
            "hour" => Duration::from_secs(3600),
            "day" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        Ok(Self(RegistrationRate { requests, per }))
    }
}

/// Registration and mail, validated.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: `TENANCY_PUBLIC_URL` is unset and no org takes registrations.
    pub registration: Option<RegistrationConfig>,
    /// `None`: the log mailer.
    pub smtp: Option<SmtpConfig>,
    pub rate: RegistrationRate,
}

impl MailSettings {
    pub(super) fn new(
        public_url: Option<PublicUrl>,
        mail_from: Option<MailFrom>,
        smtp: Option<SmtpUrl>,
        rate: Rate,
    ) -> Self {
        let hello = public_url
            .as_ref()
            .and_then(|url| url.0.host_str().map(str::to_owned));
        Self {
            registration: public_url.map(|url| RegistrationConfig {
                confirm_url: url.confirm_url(),
                mail_from: mail_from.map(|from| from.0),
            }),
            smtp: smtp.map(|SmtpUrl(mut config)| {
                // Relays want a name in EHLO: the deployment's public host.
                config.hello_name = hello;
                config
            }),
            rate: rate.0,
        }
    }
}
