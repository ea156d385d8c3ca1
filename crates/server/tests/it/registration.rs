//! Issue 15, acceptance 7 through the real binary: with `TENANCY_SMTP_URL`
//! pointing at a real SMTP server on loopback (`aiosmtpd`), a registration's
//! email arrives with the org's branding and a link; the link's token
//! provisions the tenant once and its first key works; the token is in no
//! log line.

use reqwest::Client;
use serde_json::{Value, json};
use test_support::smtp::{Mode, SmtpServer};

use crate::Server;

const TOKEN: &str = "test-admin-token-0123456789abcdef";

async fn call(client: &Client, method: reqwest::Method, url: &str, body: Value) -> (u16, Value) {
    let reply = client
        .request(method, url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_email_arrives_over_smtp_and_its_link_provisions_a_working_tenant() {
    let smtp = SmtpServer::start(Mode::Plain);
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("TENANCY_PUBLIC_URL", "https://signup.tenancy.example/"),
            ("TENANCY_MAIL_FROM", "Tenancy <no-reply@tenancy.example>"),
            ("TENANCY_SMTP_URL", &smtp_url),
        ],
        &[],
    );
    let client = Client::new();
    let post = reqwest::Method::POST;
    let patch = reqwest::Method::PATCH;
    let (status, _) = call(
        &client,
        post.clone(),
        &server.url("/v1/orgs"),
        json!({"key": "signstack", "name": "SignStack"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &client,
        patch.clone(),
        &server.url("/v1/orgs/signstack/settings/branding"),
        json!({"companyName": "SignStack", "senderName": "SignStack Team",
               "senderEmail": "hello@signstack.example"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &client,
        patch,
        &server.url("/v1/orgs/signstack/settings/registration"),
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(status, 200);

    let registered = client
        .post(server.url("/v1/public/orgs/signstack/registrations"))
        .json(&json!({"name": "Ada's workspace", "key": "ada", "adminEmail": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 202);

    let mail = tokio::task::spawn_blocking(move || {
        let mail = smtp.received();
        (mail, smtp)
    })
    .await
    .unwrap()
    .0;
    assert_eq!(
        mail["from"],
        json!({"name": "SignStack Team", "address": "hello@signstack.example"})
    );
    assert_eq!(mail["rcpt_tos"], json!(["ada@example.com"]));
    let text = mail["text"].as_str().unwrap();
    let prefix = "https://signup.tenancy.example/confirm?token=";
    let at = text.find(prefix).expect("the link") + prefix.len();
    let token = &text[at..at + 43];

    let confirm = |token: &str| {
        client
            .post(server.url("/v1/public/registrations/confirm"))
            .json(&json!({ "token": token }))
            .send()
    };
    let created = confirm(token).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().expect("the first key");
    let again = confirm(token).await.unwrap();
    assert_eq!(again.status().as_u16(), 410);

    let verified: Value = client
        .post(server.url("/v1/keys/verify"))
        .json(&json!({ "key": secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verified["code"], "valid", "{verified}");
    assert_eq!(verified["tenant"]["key"], "ada", "{verified}");

    let log = server.stderr.all();
    assert!(
        log.iter().any(|l| l.contains("emails go through SMTP")),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.contains(token)), "{log:?}");
}
