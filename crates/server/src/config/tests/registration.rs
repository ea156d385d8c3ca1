//! Registration and mail: off and logged by default; the public URL, the
//! fallback sender, the SMTP server and the rate read from the environment;
//! bad values refused naming their variable, never repeating a password.

use std::time::Duration;

use super::*;

#[test]
fn registration_is_off_and_mail_goes_to_the_log_by_default() {
    let config = from_env(&[]).unwrap();
    assert!(config.mail.registration.is_none());
    assert!(config.mail.smtp.is_none());
    assert_eq!(config.mail.rate.requests.get(), 10);
    assert_eq!(config.mail.rate.per, Duration::from_secs(3600));
}

#[test]
fn registration_and_smtp_are_read_from_the_environment() {
    let config = from_env(&[
        ("TENANCY_PUBLIC_URL", "https://app.example.com/signup/"),
        ("TENANCY_MAIL_FROM", "Acme Team <no-reply@acme.io>"),
        (
            "TENANCY_SMTP_URL",
            "smtp+starttls://mailer:p%40ss@mail.acme.io",
        ),
        ("TENANCY_REGISTRATION_RATE", "3/minute"),
    ])
    .unwrap();
    let registration = config.mail.registration.unwrap();
    assert_eq!(
        registration.confirm_url.as_str(),
        "https://app.example.com/signup/confirm"
    );
    assert_eq!(
        registration.mail_from.unwrap().to_string(),
        "Acme Team <no-reply@acme.io>"
    );
    let smtp = config.mail.smtp.unwrap();
    assert_eq!(smtp.host, "mail.acme.io");
    assert_eq!(smtp.port, 587);
    assert_eq!(smtp.security, adapters_mail::Security::StartTls);
    assert_eq!(smtp.credentials.as_ref().unwrap().user, "mailer");
    assert_eq!(smtp.hello_name.as_deref(), Some("app.example.com"));
    assert!(!format!("{smtp:?}").contains("p@ss"), "{smtp:?}");
    assert_eq!(config.mail.rate.requests.get(), 3);
    assert_eq!(config.mail.rate.per, Duration::from_secs(60));

    let plain = from_env(&[("TENANCY_SMTP_URL", "smtp://127.0.0.1:2525")]).unwrap();
    let plain = plain.mail.smtp.unwrap();
    assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
    assert_eq!(plain.security, adapters_mail::Security::None);
}

#[test]
fn bad_registration_settings_are_refused_naming_their_variable() {
    for (variable, value) in [
        ("TENANCY_PUBLIC_URL", "ftp://app.example.com"),
        ("TENANCY_PUBLIC_URL", "https://app.example.com/?next=1"),
        ("TENANCY_MAIL_FROM", "Acme <not-an-address>"),
        ("TENANCY_SMTP_URL", "http://mail.acme.io"),
        ("TENANCY_REGISTRATION_RATE", "0/hour"),
        ("TENANCY_REGISTRATION_RATE", "10 per hour"),
    ] {
        let message = error(from_env(&[(variable, value)]));
        assert!(message.contains(variable), "{variable}={value}: {message}");
    }
    let message = error(from_env(&[(
        "TENANCY_SMTP_URL",
        "smtp://mailer:hunter2@mail.acme.io",
    )]));
    assert!(message.contains("TENANCY_SMTP_URL"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
