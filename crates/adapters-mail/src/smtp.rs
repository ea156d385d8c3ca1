//! [`SmtpMailer`]: the [`Mailer`] port over SMTP, one session per message.
//!
//! Registration emails are rare, so no connection is pooled: each `send`
//! connects, greets, secures the session as configured, authenticates when
//! given credentials, hands over the one message and closes. The whole
//! exchange runs under the configured timeout (and lettre applies it to each
//! step too), so a relay that hangs costs the caller that long at most.
//!
//! What a failure means (SMTP, RFC 5321 §4.2.1): a `5xx` answer at any step
//! (a recipient refused, a message refused, credentials refused) is
//! permanent, [`MailError::Rejected`]; a `4xx` answer, a refused or dropped
//! connection, a TLS failure or the timeout are [`MailError::Unavailable`],
//! which a later attempt may get past. A timeout after the server took the
//! message is reported as unavailable too: a caller that retries may then
//! send it twice, which for a confirmation link is the lesser harm.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use domain::ports::Mailer;
use domain::{MailError, OutgoingMail};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use zeroize::Zeroizing;

use crate::message;

/// How the session with the server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text throughout: only for a relay on the same host or a trusted
    /// network (and the loopback test server). Credentials are refused with it.
    None,
    /// Plain connection upgraded with `STARTTLS` before anything else is
    /// said; a server that does not offer it fails the send (never a silent
    /// fallback to plain text). Submission port 587.
    StartTls,
    /// TLS from the first byte ("implicit TLS", RFC 8314). Port 465.
    Tls,
}

impl Security {
    /// The port this kind of session conventionally uses: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// An SMTP password: kept out of every `Debug` and log, and wiped from this
/// value's memory when dropped (lettre keeps its own copy for the mailer's
/// life, which Tenancy cannot wipe).
#[derive(Clone)]
pub struct SmtpPassword(Zeroizing<String>);

impl SmtpPassword {
    /// Wraps `password`, as read from the configuration.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password itself, for the one place that hands it to lettre.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpPassword(<redacted>)")
    }
}

/// The account the mailer authenticates as (`AUTH PLAIN` or `LOGIN`,
/// whichever the server offers).
#[derive(Debug, Clone)]
pub struct SmtpCredentials {
    /// The account's name, which may appear in logs.
    pub user: String,
    pub password: SmtpPassword,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The server's host name (checked against its certificate when TLS is
    /// on) or IP address.
    pub host: String,
    /// The server's port (see [`Security::default_port`]).
    pub port: u16,
    pub security: Security,
    /// Authenticate when given; requires `StartTls` or `Tls`.
    pub credentials: Option<SmtpCredentials>,
    /// The most one send may take, connection included.
    pub timeout: Duration,
    /// The name this host gives in `EHLO`. Without it, lettre's default
    /// (`[127.0.0.1]`), which some relays refuse: set the host's public name
    /// in production.
    pub hello_name: Option<String>,
    /// PEM certificates trusted besides the system's roots when TLS is on:
    /// the CA of a private relay (and the tests' self-signed server).
    pub extra_roots_pem: Option<String>,
}

impl SmtpConfig {
    /// A configuration for `host` with `security` on its conventional port,
    /// no credentials, a 30-second timeout and lettre's `EHLO` name.
    pub fn new(host: impl Into<String>, security: Security) -> Self {
        Self {
            host: host.into(),
            port: security.default_port(),
            security,
            credentials: None,
            timeout: Duration::from_secs(30),
            hello_name: None,
            extra_roots_pem: None,
        }
    }
}

/// Why an [`SmtpConfig`] cannot make a mailer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Credentials without TLS would send the password in clear.
    #[error(
        "SMTP credentials need security `starttls` or `tls`: a password never crosses the network in clear"
    )]
    CredentialsInClear,
    #[error("the SMTP host must not be empty")]
    NoHost,
    #[error("the SMTP timeout must be more than zero")]
    NoTimeout,
    /// The TLS client could not be set up for this host.
    #[error("TLS for the SMTP host cannot be set up: {0}")]
    Tls(String),
}

/// Sends mail through one SMTP server.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    /// `host:port`, for `Debug` and error messages.
    server: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `config`. Nothing is connected yet: a wrong host or port
    /// shows at the first send, as [`MailError::Unavailable`].
    pub fn new(config: SmtpConfig) -> Result<Self, ConfigError> {
        if config.host.trim().is_empty() {
            return Err(ConfigError::NoHost);
        }
        if config.timeout.is_zero() {
            return Err(ConfigError::NoTimeout);
        }
        let tls = match config.security {
            Security::None if config.credentials.is_some() => {
                return Err(ConfigError::CredentialsInClear);
            }
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters(&config)?),
            Security::Tls => Tls::Wrapper(tls_parameters(&config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(credentials) = &config.credentials {
            builder = builder.credentials(Credentials::new(
                credentials.user.clone(),
                credentials.password.expose().to_owned(),
            ));
        }
        if let Some(name) = config.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        Ok(Self {
            transport: builder.build(),
            timeout: config.timeout,
            server: format!("{}:{}", config.host, config.port),
        })
    }
}

/// The server's certificate must name `host` and chain to the system's
/// roots or to one of the extra ones.
fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, ConfigError> {
    let tls = |e: lettre::transport::smtp::Error| ConfigError::Tls(e.to_string());
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.extra_roots_pem {
        builder = builder.add_root_certificate(Certificate::from_pem(pem.as_bytes()).map_err(tls)?);
    }
    builder.build_rustls().map_err(tls)
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = message::build(mail)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(translate(&self.server, &error)),
            Err(_) => Err(MailError::Unavailable(format!(
                "{}: no answer within {:?}",
                self.server, self.timeout
            ))),
        }
    }
}

/// A permanent SMTP answer (5xx) is a rejection; anything else may pass.
fn translate(server: &str, error: &lettre::transport::smtp::Error) -> MailError {
    let message = format!("{server}: {error}");
    if error.is_permanent() {
        MailError::Rejected(message)
    } else {
        MailError::Unavailable(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> SmtpCredentials {
        SmtpCredentials {
            user: "mailer".into(),
            password: SmtpPassword::new("hunter2-very-secret"),
        }
    }

    #[test]
    fn credentials_are_refused_without_tls() {
        let mut config = SmtpConfig::new("smtp.example.com", Security::None);
        config.credentials = Some(credentials());
        assert_eq!(
            SmtpMailer::new(config.clone()).unwrap_err(),
            ConfigError::CredentialsInClear
        );
        config.security = Security::StartTls;
        assert!(SmtpMailer::new(config.clone()).is_ok());
        config.security = Security::Tls;
        assert!(SmtpMailer::new(config).is_ok());
    }

    #[test]
    fn an_empty_host_or_a_zero_timeout_is_refused() {
        let mut config = SmtpConfig::new(" ", Security::None);
        assert_eq!(
            SmtpMailer::new(config.clone()).unwrap_err(),
            ConfigError::NoHost
        );
        config.host = "localhost".into();
        config.timeout = Duration::ZERO;
        assert_eq!(SmtpMailer::new(config).unwrap_err(), ConfigError::NoTimeout);
    }

    #[test]
    fn extra_roots_that_are_not_pem_are_refused() {
        let mut config = SmtpConfig::new("smtp.example.com", Security::Tls);
        config.extra_roots_pem =
            Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into());
        assert!(matches!(
            SmtpMailer::new(config.clone()),
            Err(ConfigError::Tls(_))
        ));
        // Without TLS they are not used, so not read.
        config.security = Security::None;
        assert!(SmtpMailer::new(config).is_ok());
    }

    #[test]
    fn each_security_has_its_conventional_port() {
        assert_eq!(SmtpConfig::new("h", Security::None).port, 25);
        assert_eq!(SmtpConfig::new("h", Security::StartTls).port, 587);
        assert_eq!(SmtpConfig::new("h", Security::Tls).port, 465);
    }

    #[test]
    fn the_password_shows_in_no_debug() {
        let mut config = SmtpConfig::new("smtp.example.com", Security::StartTls);
        config.credentials = Some(credentials());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("mailer"), "{shown}");
        let mailer = SmtpMailer::new(config).unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtp.example.com:587"), "{shown}");
    }
}
