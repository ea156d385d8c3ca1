//! `tenancy export --org O --tenant T --out FILE`: writes a tenant's export
//! (`GET /v1/orgs/{org}/tenants/{tenant}/export`) from a running server to a
//! file, streamed, never held in memory.
//!
//! The bearer token (the admin token or an org key) comes from
//! `TENANCY_TOKEN` or from `--token-file`, never from the command line, where
//! every user of the machine could read it. The export goes to `FILE.partial`
//! (mode 0600: it holds the tenant's personal data), which becomes `FILE` only
//! once its last line is the `end` record: a cut transfer never leaves a
//! file that looks complete. An existing `FILE` is never overwritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use url::Url;

use crate::EXIT_CONFIG;

/// The variable the token is read from when no `--token-file` is given.
const TOKEN_VARIABLE: &str = "TENANCY_TOKEN";

/// Most bytes of an error answer shown.
const PROBLEM_EXCERPT: usize = 4096;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The org, by key or id
    #[arg(long, value_name = "ORG")]
    org: String,
    /// The tenant, by key or id
    #[arg(long, value_name = "TENANT")]
    tenant: String,
    /// The file to write (NDJSON); it must not exist
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The server's base URL
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A file holding the bearer token (the admin token or an org key of the
    /// org); without it, the token is read from TENANCY_TOKEN
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
}

/// Why an export was not written.
enum Failed {
    /// The command line or the environment: exit 2.
    Usage(String),
    /// The server, the network or the file: exit 1.
    Run(String),
}

/// Runs `tenancy export`; its exit code is the process's.
pub fn run(args: ExportArgs) -> ExitCode {
    let result = prepare(&args).and_then(|(url, token, partial)| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failed::Run(format!("could not start the runtime: {e}")))?;
        let written = runtime.block_on(download(&url, &token, &partial));
        finish(written, &partial, &args.out)
    });
    match result {
        Ok(summary) => {
            println!("wrote {}: {summary}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(Failed::Usage(message)) => {
            eprintln!("tenancy export: {message}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failed::Run(message)) => {
            eprintln!("tenancy export: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Checks everything that needs no server: the URL, the token, the files.
fn prepare(args: &ExportArgs) -> Result<(Url, String, PathBuf), Failed> {
    let url = export_url(&args.url, &args.org, &args.tenant).map_err(Failed::Usage)?;
    let token = token(
        args.token_file.as_deref(),
        std::env::var(TOKEN_VARIABLE).ok(),
    )
    .map_err(Failed::Usage)?;
    if args.out.exists() {
        return Err(Failed::Usage(format!(
            "{} exists; an export never overwrites a file: remove it, or choose another path",
            args.out.display()
        )));
    }
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    Ok((url, token, PathBuf::from(partial)))
}

/// `{base}/v1/orgs/{org}/tenants/{tenant}/export`, each segment escaped.
fn export_url(base: &str, org: &str, tenant: &str) -> Result<Url, String> {
    let mut url = Url::parse(base).map_err(|e| format!("--url {base:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!("--url {base:?} must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("--url must not hold credentials: use TENANCY_TOKEN or --token-file".into());
    }
    for (name, value) in [("--org", org), ("--tenant", tenant)] {
        if value.is_empty() {
            return Err(format!("{name} must not be empty"));
        }
    }
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| format!("--url {base:?} cannot take a path"))?
        .pop_if_empty()
        .extend(["v1", "orgs", org, "tenants", tenant, "export"]);
    Ok(url)
}

/// The bearer token: from `file` if given, else from the environment.
fn token(file: Option<&Path>, from_env: Option<String>) -> Result<String, String> {
    let from_env = from_env.filter(|t| !t.is_empty());
    let token = match (file, from_env) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "both --token-file and {TOKEN_VARIABLE} are set: use only one of them"
            ));
        }
        (Some(path), None) => std::fs::read_to_string(path)
            .map_err(|e| format!("could not read the token file {}: {e}", path.display()))?
            .trim()
            .to_owned(),
        (None, Some(token)) => token.trim().to_owned(),
        (None, None) => {
            return Err(format!(
                "no token: set {TOKEN_VARIABLE} or give --token-file (the admin token or an \
                 org key of the org)"
            ));
        }
    };
    if token.is_empty() {
        return Err("the token is empty".into());
    }
    Ok(token)
}

/// Streams the export into `partial`; returns its last line.
async fn download(url: &Url, token: &str, partial: &Path) -> Result<Vec<u8>, Failed> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Between two reads, not for the whole export, which may be long.
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Failed::Run(format!("could not build the HTTP client: {e}")))?;
    let mut response = client
        .get(url.clone())
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/x-ndjson")
        .send()
        .await
        .map_err(|e| Failed::Run(format!("could not reach {}: {e}", shown(url))))?;
    if response.status() != reqwest::StatusCode::OK {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let excerpt: String = body.chars().take(PROBLEM_EXCERPT).collect();
        return Err(Failed::Run(format!(
            "the server answered {status}: {excerpt}"
        )));
    }
    let mut file = create_private(partial)
        .map_err(|e| Failed::Run(format!("could not create {}: {e}", partial.display())))?;
    // The current line and the last complete one, nothing more.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Err(Failed::Run(format!("the export was cut: {e}"))),
        };
        file.write_all(&chunk)
            .map_err(|e| Failed::Run(format!("could not write {}: {e}", partial.display())))?;
        tail.extend_from_slice(&chunk);
        if tail.len() > 1
            && let Some(cut) = tail[..tail.len() - 1].iter().rposition(|b| *b == b'\n')
        {
            tail.drain(..=cut);
        }
    }
    file.sync_all()
        .map_err(|e| Failed::Run(format!("could not write {}: {e}", partial.display())))?;
    Ok(tail)
}

/// Renames `partial` to `out` when the export is complete; removes it
/// otherwise. Returns what the export held.
fn finish(written: Result<Vec<u8>, Failed>, partial: &Path, out: &Path) -> Result<String, Failed> {
    let summary = written.and_then(|last| {
        complete(&last).ok_or_else(|| {
            Failed::Run(
                "the export ended without its `end` line: it was cut, and is incomplete".into(),
            )
        })
    });
    let summary = match summary {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(partial);
            return Err(e);
        }
    };
    // Checked again: the file may have appeared while the export ran.
    if out.exists() {
        let _ = std::fs::remove_file(partial);
        return Err(Failed::Run(format!(
            "{} appeared while exporting; it was not overwritten",
            out.display()
        )));
    }
    std::fs::rename(partial, out).map_err(|e| {
        Failed::Run(format!(
            "could not move the export to {}: {e}",
            out.display()
        ))
    })?;
    Ok(summary)
}

/// The counts of an export whose last line is its `end` record.
fn complete(last: &[u8]) -> Option<String> {
    let end: serde_json::Value = serde_json::from_slice(last).ok()?;
    if end["type"] != "end" {
        return None;
    }
    let counts = end["counts"].as_object()?;
    let total: u64 = counts.values().filter_map(serde_json::Value::as_u64).sum();
    let each: Vec<String> = counts
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    Some(format!("{total} records ({})", each.join(", ")))
}

/// A new file only its owner can read.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The URL without its path: where the server is, for messages.
fn shown(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_url_escapes_its_segments_and_keeps_a_base_path() {
        let url = export_url("http://127.0.0.1:8080", "signstack", "acme").unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/v1/orgs/signstack/tenants/acme/export"
        );
        let url = export_url("https://api.example/tenancy/?x=1#f", "a/b", "c d").unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.example/tenancy/v1/orgs/a%2Fb/tenants/c%20d/export"
        );
        for bad in ["ftp://host", "not a url", "mailto:x@example.com"] {
            assert!(export_url(bad, "o", "t").is_err(), "{bad}");
        }
        assert!(export_url("http://user:pw@host", "o", "t").is_err());
        assert!(export_url("http://host", "", "t").is_err());
    }

    #[test]
    fn the_token_comes_from_exactly_one_place() {
        assert_eq!(token(None, Some("abc\n".into())), Ok("abc".into()));
        assert!(token(None, None).is_err());
        assert!(token(None, Some(String::new())).is_err());
        let path =
            std::env::temp_dir().join(format!("tenancy-export-token-{}", std::process::id()));
        std::fs::write(&path, "from-file\n").unwrap();
        assert_eq!(token(Some(&path), None), Ok("from-file".into()));
        assert!(token(Some(&path), Some("abc".into())).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(token(Some(&path), None).is_err(), "a missing file");
    }

    #[test]
    fn only_an_end_line_makes_an_export_complete() {
        let end = br#"{"type":"end","counts":{"tenant":1,"audit_event":2}}"#;
        assert_eq!(
            complete(end),
            Some("3 records (audit_event 2, tenant 1)".into())
        );
        for cut in [
            &br#"{"type":"audit_event","id":"x"}"#[..],
            br#"{"type":"end","cou"#,
            b"",
        ] {
            assert_eq!(complete(cut), None);
        }
    }
}
