//! The README's quickstart, run the way a newcomer runs it: every `sh` block of
//! its "Quickstart" section, subsections included, in order, through `bash`
//! and `curl`, against the real binary, on the in-memory store and on
//! PostgreSQL. Only the
//! address changes (the README's `127.0.0.1:8080` becomes this server's), and
//! the block that starts the server is this test's own start. A change to the
//! API, or to the README, that breaks a step someone would copy fails here.

use std::process::Command;

use adapters_postgres::testing::TestDatabase;

use crate::Server;

/// The README's address, which every quickstart command names.
const README_ADDRESS: &str = "127.0.0.1:8080";

/// The webhook receiver's address in the README; each run gets a free port.
const README_RECEIVER: &str = "127.0.0.1:9000";

/// The tests' keyring with the checkpoint key `tenancy kms init` adds.
const KEYRING_WITH_CHECKPOINT_KEY: &str = r#"{"format":"tenancy-keyring","format_version":1,
"kek_id":"local:7e57000000000000","current":1,
"keys":[{"version":1,"key":"dGVzdHMtb25seS10ZXN0cy1vbmx5LXRlc3RzLW9ubHk="}],
"checkpoint_seed":"dGVzdHMtb25seS1jaGVja3BvaW50LXNlZWQtMzJieXQ="}"#;

/// Separates the blocks' outputs.
const MARK: &str = "<<<end of block>>>";

/// The `sh` blocks of the section titled `## {title}`, up to the next `## `.
fn sh_blocks(readme: &str, title: &str) -> Vec<String> {
    let section = readme
        .split(&format!("\n## {title}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("the README has no `## {title}` section"));
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "an `sh` block of `{title}` is never closed"
    );
    blocks
}

#[test]
fn the_readme_quickstart_runs_verbatim_in_order() {
    let server = Server::start(
        &[
            (
                "TENANCY_ADMIN_TOKEN",
                "dev-admin-token-not-for-production-use",
            ),
            ("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true"),
        ],
        &[],
    );
    run_quickstart(&server);
}

/// Issue 4, acceptance 6: `DATABASE_URL=... tenancy serve` runs it unchanged.
#[tokio::test]
async fn the_readme_quickstart_runs_verbatim_on_postgres() {
    let db = TestDatabase::new().await;
    let server = Server::start(
        &[
            (
                "TENANCY_ADMIN_TOKEN",
                "dev-admin-token-not-for-production-use",
            ),
            ("DATABASE_URL", db.runtime_url()),
            ("TENANCY_WEBHOOK_ALLOW_PRIVATE", "true"),
            // As `tenancy kms init` makes it: with a checkpoint signing key.
            ("TENANCY_KEYRING_JSON", KEYRING_WITH_CHECKPOINT_KEY),
        ],
        &[],
    );
    server.stderr.wait_for("using the PostgreSQL store");
    run_quickstart(&server);
}

/// Runs the quickstart's steps against `server` (started with the README's
/// admin token) and checks every answer.
fn run_quickstart(server: &Server) {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README is readable");
    let (start, steps): (Vec<String>, Vec<String>) = sh_blocks(&readme, "Quickstart")
        .into_iter()
        .partition(|block| block.contains("cargo run --bin tenancy"));
    assert_eq!(
        start,
        [
            "TENANCY_ADMIN_TOKEN=dev-admin-token-not-for-production-use \
             TENANCY_WEBHOOK_ALLOW_PRIVATE=true cargo run --bin tenancy"
        ],
        "the quickstart starts the server once, with the admin token this test uses"
    );
    assert!(steps.len() >= 8, "only {} steps found", steps.len());

    let address = server.address().to_string();
    let receiver = free_loopback_address();
    let script: String = steps
        .iter()
        .map(|step| {
            format!(
                "{}\necho; echo '{MARK}'\n",
                step.replace(README_ADDRESS, &address)
                    .replace(README_RECEIVER, &receiver)
            )
        })
        .collect();
    // Files a step writes (the webhook log) land in a directory of their own.
    let workdir =
        std::env::temp_dir().join(format!("tenancy-readme-{}", address.replace(':', "-")));
    std::fs::create_dir_all(&workdir).expect("a working directory");
    let run = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(&workdir)
        // The server is on loopback: a proxy configured for the machine must
        // not carry curl's requests elsewhere.
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .output()
        .unwrap_or_else(|e| panic!("bash could not run ({e}); the quickstart needs bash and curl"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the quickstart failed: {stderr}\n{stdout}"
    );
    let outputs: Vec<&str> = stdout.split(MARK).collect();
    assert_eq!(outputs.len(), steps.len() + 1, "{stdout}");

    for (step, output) in steps.iter().zip(&outputs) {
        // Every step answers with JSON (or headers, then JSON), and none is a
        // problem document: the quickstart shows what works.
        assert!(output.contains('{'), "no answer to:\n{step}\n{output}");
        assert!(
            !output.contains("urn:tenancy:problem:"),
            "a step was refused:\n{step}\n{output}"
        );
    }
    let answered = |needle: &str| {
        assert!(
            stdout.contains(needle),
            "no {needle} in the quickstart's answers:\n{stdout}"
        );
    };
    answered("\"secret\":\"tny_live_");
    answered("HTTP/1.1 201 Created");
    answered("\"valid\":true,\"code\":\"valid\"");
    answered("\"status\":\"suspended\"");
    answered("\"provenance\":{");
    // The namespace's override over the tenant's branding.
    answered("\"effective\":{");
    answered("\"senderName\":\"Acme Live Desk\"");
    answered("\"userId\":\"user_42\"");
    // The custom domain and the records to create for it.
    answered("\"domain\":\"login.acme.example\",\"status\":\"pending\"");
    answered(
        "\"txtRecord\":{\"name\":\"_tenancy-challenge.login.acme.example\",\"value\":\"tenancy-verify=",
    );
    // The webhook receiver printed the reactivation (the pull feed step asks
    // for suspensions only), and the audit chain verifies.
    answered("\"type\":\"tenant.reactivated\"");
    answered("\"intact\":true");
    let _ = std::fs::remove_dir_all(&workdir);
}

/// A loopback address with a port free right now, for the README's receiver.
fn free_loopback_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").to_string()
}
