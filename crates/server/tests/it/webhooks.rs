//! Issue 14, acceptance 1: every event type that exists reaches a receiver on
//! loopback through the real binary, signed, and an independent Standard
//! Webhooks implementation (PyPI's `standardwebhooks`, in a Python receiver)
//! accepts every signature.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use adapters_dns::testing::{Nameserver, ZONE};

use crate::{Lines, Server, TempFile};

const TOKEN: &str = "dev-admin-token-not-for-production-use";

/// A receiver in Python: answers 410 on `/gone`, else verifies each request
/// with the secret in the file it was given (read per request: the secret
/// exists only once the endpoint does) and prints one JSON line per request.
const RECEIVER: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from standardwebhooks import Webhook

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.path == "/gone":
            self.send_response(410)
            self.end_headers()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            Webhook(open(sys.argv[1]).read().strip()).verify(body, headers)
            verified = True
        except Exception:
            verified = False
        print(json.dumps({"verified": verified, "event": json.loads(body)}), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1], flush=True)
server.serve_forever()
"#;

pub(crate) struct Receiver {
    child: Child,
    lines: Lines,
    pub(crate) port: u16,
}

impl Receiver {
    pub(crate) fn start(secret_file: &TempFile) -> Self {
        let mut child = Command::new("python3")
            .args(["-c", RECEIVER])
            .arg(secret_file.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (`cargo xtask setup` installs standardwebhooks)");
        let lines = Lines::follow(child.stdout.take().unwrap());
        let line = lines.wait_for("port ");
        let port = line
            .trim()
            .trim_start_matches("port ")
            .parse()
            .expect("a port");
        Self { child, lines, port }
    }

    /// Every request received so far: (verified, event).
    pub(crate) fn received(&self) -> Vec<(bool, Value)> {
        self.lines
            .all()
            .iter()
            .filter(|line| line.starts_with('{'))
            .map(|line| {
                let v: Value = serde_json::from_str(line).expect("a JSON line");
                (v["verified"].as_bool().unwrap(), v["event"].clone())
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(client: &reqwest::Client, method: &str, url: String, body: Option<Value>) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, &url).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn every_event_type_reaches_a_local_receiver_signed_and_an_independent_verifier_accepts_it() {
    let secret_file = TempFile::new("webhook-secret", "");
    let receiver = Receiver::start(&secret_file);
    // The custom domain's TXT record is published here.
    let nameserver = Nameserver::start().await;
    let nameserver_address = nameserver.addr.to_string();
    let server = Server::start(
        &[
            ("TENANCY_ADMIN_TOKEN", TOKEN),
            ("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("TENANCY_DNS_NAMESERVERS", &nameserver_address),
        ],
        &[],
    );
    let client = reqwest::Client::new();
    let v1 = |path: &str| server.url(&format!("/v1{path}"));

    call(
        &client,
        "POST",
        v1("/orgs"),
        Some(json!({"key": "signstack", "name": "SignStack"})),
    )
    .await;
    let endpoint = call(
        &client,
        "POST",
        v1("/orgs/signstack/webhooks"),
        Some(json!({"url": format!("http://127.0.0.1:{}/hooks", receiver.port)})),
    )
    .await;
    let secret = endpoint["secret"].as_str().expect("the secret, shown once");
    assert!(secret.starts_with("whsec_"), "{endpoint}");
    std::fs::File::create(secret_file.path())
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .unwrap();

    // A second endpoint that answers 410: the worker disables it, and that is
    // an event too.
    call(
        &client,
        "POST",
        v1("/orgs/signstack/webhooks"),
        Some(json!({"url": format!("http://127.0.0.1:{}/gone", receiver.port)})),
    )
    .await;

    let tenant = "/orgs/signstack/tenants/acme";
    let provisioned = call(
        &client,
        "POST",
        v1("/orgs/signstack/tenants"),
        Some(json!({"key": "acme", "name": "Acme Corp"})),
    )
    .await;
    let ns_key = provisioned["secret"].as_str().unwrap().to_owned();
    call(
        &client,
        "PATCH",
        v1(tenant),
        Some(json!({"name": "Acme Inc"})),
    )
    .await;
    call(
        &client,
        "POST",
        v1(&format!("{tenant}/namespaces")),
        Some(json!({"key": "acme-staging", "name": "Staging"})),
    )
    .await;
    let minted: Value = client
        .post(v1("/namespace/api-keys"))
        .bearer_auth(&ns_key)
        .json(&json!({"name": "reporting", "scopes": ["tenant:read"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_id = minted["apiKey"]["id"]
        .as_str()
        .or(minted["id"].as_str())
        .expect("a key id")
        .to_owned();
    let rotated: Value = client
        .post(v1(&format!("/namespace/api-keys/{key_id}/rotate")))
        .bearer_auth(&ns_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_id = rotated["apiKey"]["id"]
        .as_str()
        .or(rotated["id"].as_str())
        .expect("the new key")
        .to_owned();
    let revoked = client
        .delete(v1(&format!("/namespace/api-keys/{new_id}")))
        .bearer_auth(&ns_key)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    call(
        &client,
        "POST",
        v1("/orgs/signstack/library/listings"),
        Some(
            json!({"key": "standard_nda", "title": "Standard NDA", "resourceType": "blueprint",
                    "version": "1.0.0", "content": {"clauses": []}, "accessGrants": []}),
        ),
    )
    .await;
    let members = format!("{tenant}/members");
    call(
        &client,
        "POST",
        v1(&members),
        Some(json!({"userId": "ada", "email": "ada@acme.example", "role": "member"})),
    )
    .await;
    call(
        &client,
        "PATCH",
        v1(&format!("{members}/ada")),
        Some(json!({"role": "admin"})),
    )
    .await;
    call(&client, "DELETE", v1(&format!("{members}/ada")), None).await;
    // A custom domain added, verified once its record is published (the
    // re-verification makes it pending first), and removed. `domain.failed`
    // takes 7 days: the HTTP tests see it, with their clock moved.
    let domain = format!("{tenant}/domain");
    let host = format!("login.{ZONE}");
    let added = call(&client, "PUT", v1(&domain), Some(json!({ "domain": host }))).await;
    nameserver
        .add_txt(
            added["txtRecord"]["name"]
                .as_str()
                .expect("the record's name"),
            &[added["txtRecord"]["value"].as_str().expect("its value")],
        )
        .await;
    let verified = call(
        &client,
        "POST",
        v1(&format!("{domain}/verify")),
        Some(json!({})),
    )
    .await;
    assert_eq!(verified["status"], "verified", "{verified}");
    call(&client, "DELETE", v1(&domain), None).await;
    call(
        &client,
        "PATCH",
        v1(&format!("{tenant}/settings/branding")),
        Some(json!({"companyName": "Acme Inc"})),
    )
    .await;
    for action in [
        "suspend",
        "reactivate",
        "deactivate",
        "restore",
        "deactivate",
    ] {
        let reason = json!({"reason": "testing the webhooks"});
        call(
            &client,
            "POST",
            v1(&format!("{tenant}/{action}")),
            Some(reason),
        )
        .await;
    }
    call(
        &client,
        "DELETE",
        v1(&format!("{tenant}?confirm=acme")),
        None,
    )
    .await;

    let expected = [
        "tenant.provisioned",
        "tenant.updated",
        "namespace.created",
        "api_key.created",
        "api_key.rotated",
        "api_key.revoked",
        "library.version_published",
        "member.added",
        "member.updated",
        "member.removed",
        "settings.updated",
        "domain.added",
        "domain.pending",
        "domain.verified",
        "domain.removed",
        "tenant.suspended",
        "tenant.reactivated",
        "tenant.deactivated",
        "tenant.restored",
        "tenant.deleted",
        "webhook.endpoint_disabled",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let received = receiver.received();
        let types: Vec<&str> = received
            .iter()
            .filter_map(|(_, e)| e["type"].as_str())
            .collect();
        let missing: Vec<&&str> = expected.iter().filter(|t| !types.contains(t)).collect();
        if missing.is_empty() {
            for (verified, event) in &received {
                assert!(verified, "the independent verifier refused {event}");
                assert!(
                    event["id"].is_string() && event["timestamp"].is_string(),
                    "{event}"
                );
            }
            // Thin events: nothing of the tenant's name reaches a receiver.
            let all = serde_json::to_string(&received.iter().map(|(_, e)| e).collect::<Vec<_>>())
                .unwrap();
            assert!(!all.contains("Acme"), "a name in an event: {all}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never arrived: {missing:?}; got {types:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Issue 14, acceptance 6: without the allowance, endpoints on loopback,
/// private and link-local addresses are refused when saved, and so is a
/// name that resolves to one (this machine's own name, when it does, as it
/// does in containers: the domain's rules cannot know it, the resolver can).
#[tokio::test]
async fn endpoints_on_private_addresses_and_names_that_resolve_to_them_are_refused() {
    let server = Server::start(&[("TENANCY_ADMIN_TOKEN", TOKEN)], &[]);
    let client = reqwest::Client::new();
    call(
        &client,
        "POST",
        server.url("/v1/orgs"),
        Some(json!({"key": "signstack", "name": "SignStack"})),
    )
    .await;
    let mut targets: Vec<String> = [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "[::1]",
        "localhost",
    ]
    .iter()
    .map(|host| format!("https://{host}/hooks"))
    .collect();
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let host = host.trim();
    let resolved: Vec<std::net::IpAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, 443))
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default();
    if !resolved.is_empty()
        && resolved
            .iter()
            .all(|ip| domain::address::forbidden_range(*ip).is_some())
    {
        targets.push(format!("https://{host}/hooks"));
    } else {
        eprintln!("`{host}` resolves to {resolved:?}: not a private name here");
    }
    for url in &targets {
        let response = client
            .post(server.url("/v1/orgs/signstack/webhooks"))
            .bearer_auth(TOKEN)
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_client_error(), "{url}: {status} {body}");
        assert_eq!(
            body["status"],
            status.as_u16(),
            "{url}: a problem document: {body}"
        );
    }
    let listed = call(
        &client,
        "GET",
        server.url("/v1/orgs/signstack/webhooks"),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "nothing was saved");
}
