//! `tenancy export`: the real binary writes a running server's tenant export
//! to a file, and leaves no file at all when it cannot write a complete one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::Server;

const TOKEN: &str = "test-admin-token-0123456789abcdef";
const SECRET_VALUE: &str = "smtp-password-Qx42-cli-export";

/// Runs `tenancy export` with `token` in TENANCY_TOKEN (when given).
fn export(token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenancy"));
    command.env_remove("TENANCY_TOKEN").arg("export").args(args);
    if let Some(token) = token {
        command.env("TENANCY_TOKEN", token);
    }
    command.output().expect("the tenancy binary runs")
}

/// A path in the temporary directory that does not exist yet.
fn fresh_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn partial_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", path.display()))
}

async fn post(client: &reqwest::Client, url: String, body: Value) {
    let reply = client
        .post(url)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "{}",
        reply.text().await.unwrap()
    );
}

#[tokio::test]
async fn tenancy_export_writes_a_complete_export_to_a_new_file_and_nothing_else() {
    let server = Server::start(&[("TENANCY_ADMIN_TOKEN", TOKEN)], &[]);
    let base = server.url("");
    let client = reqwest::Client::new();
    post(
        &client,
        format!("{base}/v1/orgs"),
        json!({"key": "signstack", "name": "SignStack"}),
    )
    .await;
    post(
        &client,
        format!("{base}/v1/orgs/signstack/tenants"),
        json!({"key": "acme", "name": "Acme"}),
    )
    .await;
    let reply = client
        .put(format!(
            "{base}/v1/orgs/signstack/tenants/acme/secrets/smtp"
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"value": SECRET_VALUE}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);

    let out = fresh_path("acme-export.ndjson");
    let out_arg = out.to_str().unwrap();
    let args = [
        "--url",
        &base,
        "--org",
        "signstack",
        "--tenant",
        "acme",
        "--out",
        out_arg,
    ];
    let done = export(Some(TOKEN), &args);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        stdout.contains("wrote") && stdout.contains("secret 1"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "the token is never shown"
    );

    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "tenant");
    assert_eq!(lines[0]["key"], "acme");
    assert_eq!(lines.last().unwrap()["type"], "end");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "secret" && l["name"] == "smtp")
    );
    assert!(!text.contains(SECRET_VALUE));
    assert!(!partial_of(&out).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads an export");
    }

    // An existing file is never overwritten.
    let again = export(Some(TOKEN), &args);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    std::fs::remove_file(&out).unwrap();

    // Refused by the server: nothing is written.
    let missing = [
        "--url",
        &base,
        "--org",
        "signstack",
        "--tenant",
        "nobody",
        "--out",
        out_arg,
    ];
    let refused = export(Some(TOKEN), &missing);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("404"));
    let wrong_token = export(Some("tny_live_not-a-real-key"), &args);
    assert_eq!(wrong_token.status.code(), Some(1));
    assert!(!out.exists() && !partial_of(&out).exists());

    // No token, or a token on two channels: a usage error before any request.
    assert_eq!(export(None, &args).status.code(), Some(2));
    let token_file = fresh_path("export-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let both = [&args[..], &["--token-file", token_file.to_str().unwrap()]].concat();
    assert_eq!(export(Some(TOKEN), &both).status.code(), Some(2));
    let from_file = export(None, &both);
    assert!(
        from_file.status.success(),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    assert!(out.exists());
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(&token_file).unwrap();
}
